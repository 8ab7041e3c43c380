// safetensors read/write (https://github.com/huggingface/safetensors, format v0.x):
//   8 bytes   N, little-endian uint64: length of the JSON header
//   N bytes   JSON: {"<name>": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
//                    "__metadata__": {"<key>": "<string value>", ...}}   (padded with spaces to 8)
//   rest      raw little-endian tensor data; offsets are relative to the start of this section.
//
// This layer moves bytes and shapes only; it does NOT change layouts. docs/design.md wants PyTorch
// layouts in files (conv OIHW, linear [out,in], images NCHW) while memory is channels-last:
// use pytorch_layout()/channels_last() below (models/weights.h does it for whole networks).
//
// dtypes: write F32, F64, I32, U8, U16; read those plus I64 (converted to int32, range-checked:
// PyTorch labels are int64). Anything else, a truncated file, overlapping/out-of-range offsets,
// a size that does not match dtype×shape, or malformed JSON fails with a message naming the
// file, the tensor/field and the offending value.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace cytocon::io {

struct NamedTensor {
  std::string name;
  Tensor value;
};

using Metadata = std::map<std::string, std::string>;

struct SafeTensors {
  std::string origin;               // file path (or a label) used in error messages
  std::vector<NamedTensor> tensors; // in data-offset order; all on the CPU
  Metadata metadata;                // "__metadata__" (empty if absent)

  const Tensor* find(const std::string& name) const;  // null if absent
  // The tensor `name`; fails "<origin>: no tensor '<name>'" if absent.
  const Tensor& get(const std::string& name) const;
  bool has(const std::string& name) const { return find(name) != nullptr; }
};

// Serialise to bytes / parse from bytes. Tensors may live on any device (copied to host).
// Names must be unique and non-empty and must not be "__metadata__".
std::string serialize_safetensors(const std::vector<NamedTensor>& tensors, const Metadata& metadata = {});
SafeTensors parse_safetensors(const std::string& bytes, const std::string& origin);

// Files. write_safetensors is atomic (engine/io/atomic_file.h): readers see the old file or the
// complete new one, never a partial write.
void write_safetensors(const std::string& path, const std::vector<NamedTensor>& tensors,
                       const Metadata& metadata = {});
SafeTensors read_safetensors(const std::string& path);

// Layout conversion for files. 4-D channels-last [A,H,W,C] (conv weight OHWI, activations NHWC)
// ↔ PyTorch [A,C,H,W] (OIHW, NCHW). Tensors of other rank are returned unchanged (shared).
// CPU tensors only (copy with .to(Device::cpu) first).
Tensor pytorch_layout(const Tensor& channels_last_4d);
Tensor channels_last(const Tensor& pytorch_4d);

}  // namespace cytocon::io

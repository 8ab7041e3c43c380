// Training-state checkpoint: one safetensors file (engine/io/safetensors.h) holding
//   - the model: every parameter and buffer (BN running statistics) under its docs/design.md name,
//     in PyTorch layout (so PyTorch, cytocon-eval and `init = "<checkpoint>"` can read the
//     weights straight from a checkpoint);
//   - the optimiser state: velocity of parameter <name> as "optimizer.<name>" (PyTorch layout);
//   - "__metadata__": format "cytocon-checkpoint", version, step, epoch, seed, stage, optimizer,
//     mode ("deterministic"|"fast"), precision, the resolved config TOML text, extra key/values
//     (stored as "extra.<key>"), and "checksum".
// The checksum is FNV-1a-64 (hex) over the whole file with the checksum's own 16 hex digits
// replaced by '0'. Written atomically (temporary file, fsync, rename, fsync directory).
// Loading verifies the checksum: a truncated or corrupted file fails with
// "<path>: checkpoint ... " naming what is wrong (checksum mismatch, truncated at offset, ...).
//
// Tensor values here are in MEMORY layout (channels-last); conversion to/from the file's
// PyTorch layout happens inside save/load. The RNG needs no state beyond (seed, epoch, step):
// Philox is counter-based (engine/rng.h).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/io/safetensors.h"

namespace cytocon::io {

struct TrainingState {
  std::vector<NamedTensor> model;      // params + buffers, memory layout (models/weights.h: model_state)
  std::vector<NamedTensor> optimizer;  // Optimizer::state(): one velocity per param, param names
  std::string optimizer_name;          // "lars" | "sgd" | "" (none)
  int64_t step = 0;                    // optimiser updates done
  int64_t epoch = 0;                   // completed epochs
  uint64_t seed = 0;
  std::string stage;                   // "supcon" | "linear" | "ce"
  std::string mode = "deterministic";  // "deterministic" | "fast"
  std::string precision = "fp32";      // "fp32" | "tf32" | "bf16"
  std::string config_toml;             // resolved config
  Metadata extra;                      // anything else the trainer needs (stored as extra.<key>)
};

void save_checkpoint(const std::string& path, const TrainingState& state);
// Tensors come back on the CPU. Fails naming the file if it is not a cytocon checkpoint, is
// truncated, or its checksum does not match.
TrainingState load_checkpoint(const std::string& path);
// The same from the file's bytes; `path` names it in errors.
TrainingState parse_checkpoint(const std::string& bytes, const std::string& path);
// True if `path` is a safetensors file whose metadata says format "cytocon-checkpoint"
// (reads the header only; false for a plain weights file; fails if unreadable).
bool is_checkpoint(const std::string& path);

}  // namespace cytocon::io

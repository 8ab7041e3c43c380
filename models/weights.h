// Network ↔ named tensors and safetensors weight files, in PyTorch names and layouts
// (docs/design.md: conv OIHW, linear [out,in]), so a PyTorch user can load cytocon's encoder and
// cytocon can start from PyTorch weights.
#pragma once
#include <string>
#include <vector>

#include "engine/io/safetensors.h"
#include "models/network.h"

namespace cytocon::models {

// Every parameter and buffer, memory layout, sharing storage (for io::TrainingState::model).
std::vector<io::NamedTensor> model_state(const Network& net);

// Which tensors a load must find and copy.
enum class LoadScope {
  all,      // every parameter and buffer of the network must be present
  encoder,  // only encoder.* (linear probe / "distance" baseline init); heads untouched
};

// Copy tensors into the network. `tensors` are in MEMORY layout (as io::load_checkpoint
// returns them); names not belonging to the scope are ignored (e.g. optimizer.*, a projection
// head the network lacks). A missing name or a shape/dtype mismatch fails naming `origin`,
// the tensor, and expected vs found shape. f32/f64 are converted to the network's dtype.
void load_state(Network& net, const std::vector<io::NamedTensor>& tensors, const std::string& origin,
                LoadScope scope = LoadScope::all);

// Weights file: params + buffers in PyTorch layout, metadata {"format": "cytocon-weights",
// "preset": ...} plus `metadata`. Written atomically.
void save_weights(const Network& net, const std::string& path, const io::Metadata& metadata = {});
// Load from a weights file OR a training checkpoint (io::is_checkpoint), converting layouts.
// A weights file whose metadata names another preset fails saying so.
void load_weights(Network& net, const std::string& path, LoadScope scope = LoadScope::all);

}  // namespace cytocon::models

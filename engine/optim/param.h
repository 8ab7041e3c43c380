// A named trainable parameter and a named non-trainable buffer (BN running statistics).
// Names are PyTorch-style, exactly as docs/design.md ("Numbers, layout, names"), e.g.
// encoder.block1.conv1.weight, encoder.block1.bn1.running_mean, projection.fc2.bias.
// `value` is a handle: copies share storage, so an optimiser holding a Param updates the model's
// tensor in place and reads its gradient from value.grad().
#pragma once
#include <string>

#include "engine/tensor.h"

namespace cytocon {

struct Param {
  std::string name;
  Tensor value;            // in-memory layout: conv OHWI, linear [out,in]
  bool lars_adapt = true;  // false for BN γ/β and biases: no weight decay, no trust scaling (LARS)
};

struct Buffer {
  std::string name;
  Tensor value;
};

}  // namespace cytocon

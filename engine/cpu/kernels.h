// The CPU backend's kernels (engine/kernels.inc, the list shared with engine/cuda/kernels.h), one
// .cpp file per op, named as the op; each also holds the op's element loops, declared in
// engine/cpu/<op>.h where other code uses them (conv2d.h, topk.h). The forwarding table
// (backend.cpp) checks the arguments and calls these; they check the element types (dispatch.h).
#pragma once
#include <vector>

#include "engine/backend.h"
#include "engine/shards.h"
#include "engine/tensor.h"

namespace cytocon::cpu {

#include "engine/kernels.inc"

}  // namespace cytocon::cpu

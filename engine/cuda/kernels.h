// The CUDA backend's kernels (engine/kernels.inc, the list shared with engine/cpu/kernels.h), one
// .cu file per op, named as the op, and the backend's set-up. The forwarding table (backend.cu)
// checks the arguments and calls these; they check the element types (common.cuh) and the layouts
// they support.
#pragma once
#include <vector>

#include "engine/backend.h"
#include "engine/shards.h"
#include "engine/tensor.h"

namespace cytocon::cuda {

void install_memory();   // allocator.cu: registers the caching allocator and the copy
void clear_conv_plans();  // conv2d.cu: forget chosen algorithms (mode change)

#include "engine/kernels.inc"

}  // namespace cytocon::cuda

// OpenMP conventions of the CPU kernels. Threads only ever split independent outputs, so every
// result is bit-identical for any thread count; sums over samples use fixed-size blocks combined
// in a fixed order (never per-thread partials).
#pragma once
#include <cstdint>

namespace cytocon::cpu {

// Below this many elements an elementwise loop runs on one thread (fork/join costs more).
constexpr int64_t kParallelMin = 1 << 15;
// Rows per block of the blocked per-channel sums (BatchNorm): a block of NHWC rows is summed in
// row order, then blocks are combined in block order. Fixed, so results never depend on threads.
constexpr int64_t kRowBlock = 256;

}  // namespace cytocon::cpu

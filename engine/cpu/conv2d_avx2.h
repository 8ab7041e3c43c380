// AVX2/FMA float32 convolution kernels behind engine/cpu/conv2d.h (same contract, same NHWC/OHWI
// layouts). Compiled on every x86-64 GCC/Clang build with the AVX2/FMA target set per function, and
// taken when the CPU has AVX2 and FMA (always, under -march=native on such a CPU; checked at run
// time in a portable build, CYTOCON_NATIVE=OFF); elsewhere conv2d.cpp runs its portable loops. Each
// output element is one fused-multiply-add chain in a fixed order, and threads split only
// independent outputs, so results are bit-identical for any thread count, and the same in native
// and portable builds.
#pragma once
#include "engine/cpu/conv2d.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define CYTOCON_CONV_AVX2 1

namespace cytocon::cpu::avx2 {

// The CPU running this process has AVX2 and FMA.
bool available();

// Any stride; forward sum over (p, q, c) in that order.
void conv2d_forward(const ConvGeom& g, const float* x, const float* w, float* y);
// Stride 1 only: the forward kernel on dy zero-padded by k-1 with the flipped, transposed weights.
void conv2d_backward_data(const ConvGeom& g, const float* dy, const float* w, float* dx);
// Any stride: per shard, per output row a register sum over the row's pixels, rows added in
// (sample, row) order.
void conv2d_backward_weight(const ConvGeom& g, const float* x, const float* dy, int shards, float* dw_partials);

}  // namespace cytocon::cpu::avx2

#endif

// (CUDA header: included by .cu files only.)
// Direct convolution kernels for one input channel (the first layer: 1×1129×1129 → 16 channels,
// 5×5, stride 4). cuDNN's implicit GEMM wastes most of its tile on a 25-long reduction with one
// channel (the anchors' profile: 46% of a bf16 step in PyTorch); here one thread computes all
// output channels of one output pixel from 25 register-held inputs.
#pragma once
#include <cstdint>

#include "engine/shards.h"

namespace cytocon::cuda {

struct DirectGeom {
  int64_t n, h, w, cout, k, stride;
  __host__ __device__ int64_t oh() const { return (h - k) / stride + 1; }
  __host__ __device__ int64_t ow() const { return (w - k) / stride + 1; }
};
constexpr int kDirectMaxK = 7, kDirectMaxCout = 64, kDirectMaxWeights = 1024;
inline bool direct_supported(int64_t cin, int64_t cout, int64_t k) {
  return cin == 1 && k <= kDirectMaxK && cout <= kDirectMaxCout && cout * k * k <= kDirectMaxWeights;
}

// T: the storage of y, dy and dx (float, or bf16 activations; the sums are float).
// y [n,oh,ow,cout] = Σ_{p,q} x[n, s·i+p, s·j+q] · w[o,p,q]  (p, q in row-major order)
template <class T> void direct_forward(const DirectGeom& g, const float* x, const float* w, T* y);
// dx [n,h,w] = Σ dy[n,i,j,o]·w[o,p,q] over s·i+p = h, s·j+q = w (order p, q, o)
template <class T> void direct_backward_data(const DirectGeom& g, const T* dy, const float* w, T* dx);
// dw_partials [shards][cout·k·k]: one partial per micro-shard of n/shards samples. Within a shard
// the output pixels are cut into chunks of a fixed size; each weight's sum runs over a chunk's
// pixels in order, then over the chunks in order (no atomics; independent of the GPU).
template <class T>
void direct_backward_weight(const DirectGeom& g, const float* x, const T* dy, int shards, float* dw_partials);

}  // namespace cytocon::cuda

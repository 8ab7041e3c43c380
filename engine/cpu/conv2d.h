// CPU convolution kernels (valid, no bias, square kernel k, stride s), NHWC activations and
// OHWI weights:  y[n,i,j,o] = Σ_{p,q,c} x[n, s·i+p, s·j+q, c] · w[o,p,q,c].
// Deterministic and independent of the OpenMP thread count: threads split only independent
// outputs, and each output's sum runs in a fixed order.
#pragma once
#include <cstdint>

namespace cytocon::cpu {

struct ConvGeom {
  int64_t n, h, w, cin;   // input [n,h,w,cin]
  int64_t cout, k, stride;
  int64_t oh() const { return (h - k) / stride + 1; }
  int64_t ow() const { return (w - k) / stride + 1; }
};

template <class T> void conv2d_forward(const ConvGeom& g, const T* x, const T* w, T* y);
// dx[n,h,w,c] = Σ dy[n,i,j,o]·w[o,p,q,c] over s·i+p = h, s·j+q = w.
template <class T> void conv2d_backward_data(const ConvGeom& g, const T* dy, const T* w, T* dx);
// One partial weight gradient per micro-shard: shard t covers samples [t·n/shards, (t+1)·n/shards),
// summed in sample order; dw_partials is [shards][cout·k·k·cin]. The caller combines the partials
// with sum_shards (engine/shards.h).
template <class T> void conv2d_backward_weight(const ConvGeom& g, const T* x, const T* dy, int shards,
                                               T* dw_partials);

}  // namespace cytocon::cpu

// BatchNorm kernels over every dim but the last: x is viewed as rows [m, c] (m = numel/c), the
// local batch of n samples owning m/n consecutive rows each (NHWC [n,h,w,c] or [n,c]).
// Micro-shard t of `shards` covers samples [t·n/shards, (t+1)·n/shards). Within a shard, rows are
// cut into blocks of kRowBlock rows (engine/cpu/parallel.h); a block is summed in row order and
// blocks are combined in block order, so every partial is independent of the thread count.
// The derivations are in docs/math.md ("BatchNorm"; "BatchNorm + ReLU" for the fused variants:
// `relu` applies max(0, ·) to the output, a non-null `y` is the fused op's output and masks dy
// with [y > 0] on the fly, the same operations as relu_forward/relu_backward, so the same bits).
#pragma once
#include <cstdint>

#include "engine/shards.h"

namespace cytocon::cpu {

struct BnGeom {
  int64_t n;     // local samples
  int64_t rows;  // rows per sample (h·w, or 1)
  int64_t c;     // channels
};

// Per-shard, per-channel (count, mean, M2): moments is [shards][c]. Two passes per block (mean,
// then Σ(x−mean)²), blocks merged with Chan's formula in block order.
template <class T> void batch_norm_moments(const BnGeom& g, const T* x, int shards, Moments<T>* moments);
// y = (x − mean[ch])·a[ch] + beta[ch]: the training and the inference normalisation with
// a = γ·invstd (eq. BN-1). Subtracting the mean first keeps the precision of x̂ when |μ| ≫ σ.
// With `relu`: y = max(0, ·), a NaN passing through (engine/cpu/relu.cpp).
template <class T>
void batch_norm_apply(const BnGeom& g, const T* x, const T* mean, const T* a, const T* beta, bool relu, T* y);
// Per-shard partial sums for the backward: sums is [shards][2][c] with
// sums[t][0][ch] = Σ dy and sums[t][1][ch] = Σ dy·(x − mean[ch]) over shard t. With a non-null y
// (the fused BN+ReLU output), dy is replaced by dz = dy·[y > 0] (eq. BNR-1).
template <class T>
void batch_norm_backward_sums(const BnGeom& g, const T* dy, const T* y, const T* x, const T* mean, int shards,
                              T* sums);
// dx = a[ch]·dy + b[ch]·(x − mean[ch]) + k[ch] (the backward folded per channel, docs/math.md eq. BN-5);
// dz = dy·[y > 0] in place of dy when y is non-null.
template <class T>
void batch_norm_backward_data(const BnGeom& g, const T* dy, const T* y, const T* x, const T* mean, const T* a,
                              const T* b, const T* k, T* dx);

}  // namespace cytocon::cpu

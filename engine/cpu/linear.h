// Linear layer kernels: x [n,in], w [out,in] (PyTorch layout), b [out].
//   y[s,o] = Σ_i x[s,i]·w[o,i] (+ b[o])            (sum over i in index order, then the bias)
//   dx[s,i] = Σ_o dy[s,o]·w[o,i]                    (sum over o in index order)
//   dw[o,i] = Σ_s dy[s,o]·x[s,i], db[o] = Σ_s dy[s,o]  per micro-shard, samples in order
#pragma once
#include <cstdint>

namespace cytocon::cpu {

struct LinearGeom {
  int64_t n, in, out;
};

template <class T> void linear_forward(const LinearGeom& g, const T* x, const T* w, const T* b, T* y);  // b may be null
template <class T> void linear_backward_data(const LinearGeom& g, const T* dy, const T* w, T* dx);
// One partial per micro-shard, partials[t] = [dw (out·in) | db (out, only when with_bias)], so that a
// single sum_shards combines both: partials is [shards][out·in + (with_bias ? out : 0)].
template <class T>
void linear_backward_weight(const LinearGeom& g, const T* x, const T* dy, int shards, bool with_bias, T* partials);

}  // namespace cytocon::cpu

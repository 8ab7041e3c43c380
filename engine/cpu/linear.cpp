// Linear layer kernels: x [n,in], w [out,in] (PyTorch layout), b [out].
//   y[s,o] = Σ_i x[s,i]·w[o,i] (+ b[o])            (sum over i in index order, then the bias)
//   dx[s,i] = Σ_o dy[s,o]·w[o,i]                    (sum over o in index order)
//   dw[o,i] = Σ_s dy[s,o]·x[s,i], db[o] = Σ_s dy[s,o]  per micro-shard, samples in order
#include <algorithm>
#include <vector>

#include "engine/cpu/dispatch.h"
#include "engine/cpu/kernels.h"

namespace cytocon::cpu {

struct LinearGeom {
  int64_t n, in, out;
};

template <class T>
void linear_forward(const LinearGeom& g, const T* x, const T* w, const T* b, T* y) {
#pragma omp parallel for schedule(static) collapse(2) if (g.n * g.out * g.in >= (1 << 16))
  for (int64_t s = 0; s < g.n; ++s)
    for (int64_t o = 0; o < g.out; ++o) {
      const T* xs = x + s * g.in;
      const T* wo = w + o * g.in;
      T acc = T(0);
      for (int64_t i = 0; i < g.in; ++i) acc += xs[i] * wo[i];
      y[s * g.out + o] = b ? acc + b[o] : acc;
    }
}

template <class T>
void linear_backward_data(const LinearGeom& g, const T* dy, const T* w, T* dx) {
#pragma omp parallel for schedule(static) if (g.n * g.out * g.in >= (1 << 16))
  for (int64_t s = 0; s < g.n; ++s) {
    T* d = dx + s * g.in;
    std::fill(d, d + g.in, T(0));
    for (int64_t o = 0; o < g.out; ++o) {
      const T a = dy[s * g.out + o];
      const T* wo = w + o * g.in;
      for (int64_t i = 0; i < g.in; ++i) d[i] += a * wo[i];
    }
  }
}

// One partial per micro-shard, partials[t] = [dw (out·in) | db (out, only when with_bias)], so that a
// single sum_shards combines both: partials is [shards][out·in + (with_bias ? out : 0)].
template <class T>
void linear_backward_weight(const LinearGeom& g, const T* x, const T* dy, int shards, bool with_bias, T* partials) {
  const int64_t per = g.n / shards, len = g.out * g.in + (with_bias ? g.out : 0);
#pragma omp parallel for schedule(static) collapse(2) if (g.n * g.out * g.in >= (1 << 16))
  for (int64_t t = 0; t < shards; ++t)
    for (int64_t o = 0; o < g.out; ++o) {
      T* dw = partials + t * len + o * g.in;
      std::fill(dw, dw + g.in, T(0));
      T db = T(0);
      for (int64_t s = t * per; s < (t + 1) * per; ++s) {
        const T a = dy[s * g.out + o];
        const T* xs = x + s * g.in;
        for (int64_t i = 0; i < g.in; ++i) dw[i] += a * xs[i];
        db += a;
      }
      if (with_bias) partials[t * len + g.out * g.in + o] = db;
    }
}

Tensor linear_forward(const Tensor& x, const Tensor& w, const Tensor& b) {
  const LinearGeom g{x.dim(0), x.dim(1), w.dim(0)};
  Tensor y = Tensor::empty({g.n, g.out}, x.dtype());
  dispatch(x.dtype(), "linear", [&](auto t) {
    using T = decltype(t);
    linear_forward<T>(g, x.data<T>(), w.data<T>(), b.defined() ? b.data<T>() : nullptr, y.data<T>());
  });
  return y;
}

Tensor linear_backward_data(const Tensor& dy, const Tensor& w) {
  const LinearGeom g{dy.dim(0), w.dim(1), w.dim(0)};
  Tensor dx = Tensor::empty({g.n, g.in}, dy.dtype());
  dispatch(dy.dtype(), "linear backward", [&](auto t) {
    using T = decltype(t);
    linear_backward_data<T>(g, dy.data<T>(), w.data<T>(), dx.data<T>());
  });
  return dx;
}

void linear_backward_weight(const Tensor& x, const Tensor& dy, bool with_bias, const Shards& sh, Tensor& dw,
                            Tensor& db) {
  const LinearGeom g{x.dim(0), x.dim(1), dy.dim(1)};
  sh.shard_size(g.n);
  dw = Tensor::empty({g.out, g.in}, x.dtype());
  db = with_bias ? Tensor::empty({g.out}, x.dtype()) : Tensor();
  dispatch(x.dtype(), "linear weight gradient", [&](auto t) {
    using T = decltype(t);
    const int64_t len = g.out * g.in + (with_bias ? g.out : 0);
    std::vector<T> part(static_cast<size_t>(sh.count * len));
    linear_backward_weight<T>(g, x.data<T>(), dy.data<T>(), sh.count, with_bias, part.data());
    sum_shards(sh, part.data(), len);
    std::copy(part.begin(), part.begin() + g.out * g.in, dw.data<T>());
    if (with_bias) std::copy(part.begin() + g.out * g.in, part.begin() + len, db.data<T>());
  });
}

}  // namespace cytocon::cpu

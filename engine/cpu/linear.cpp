#include "engine/cpu/linear.h"

#include <algorithm>

namespace cytocon::cpu {

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

#define CYTOCON_INSTANTIATE(T)                                                                      \
  template void linear_forward<T>(const LinearGeom&, const T*, const T*, const T*, T*);             \
  template void linear_backward_data<T>(const LinearGeom&, const T*, const T*, T*);                 \
  template void linear_backward_weight<T>(const LinearGeom&, const T*, const T*, int, bool, T*);
CYTOCON_INSTANTIATE(float)
CYTOCON_INSTANTIATE(double)
#undef CYTOCON_INSTANTIATE

}  // namespace cytocon::cpu

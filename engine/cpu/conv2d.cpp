// CPU convolution (engine/cpu/conv2d.h): float32 goes to the AVX2/FMA kernels where the build
// targets them (engine/cpu/conv2d_avx2.h). float64 (gradient checks), builds without AVX2, and
// strided backward-data (the network never needs it: its strided conv reads the input image)
// run the portable loops below: one fixed summation order per output element, OpenMP over
// independent outputs only, so the bits never depend on the thread count.
#include "engine/cpu/conv2d.h"

#include <cstdint>
#include <type_traits>

#include "engine/cpu/conv2d_avx2.h"

namespace cytocon::cpu {
namespace portable {

// y[n,i,j,o] = Σ_{p,q,c} x[n, s·i+p, s·j+q, c] · w[o,p,q,c], summed in (p, q, c) order.
template <class T>
void conv2d_forward(const ConvGeom& g, const T* x, const T* w, T* y) {
  const int64_t oh = g.oh(), ow = g.ow(), K = g.k, C = g.cin, s = g.stride;
#pragma omp parallel for schedule(static) collapse(2)
  for (int64_t n = 0; n < g.n; ++n)
    for (int64_t i = 0; i < oh; ++i)
      for (int64_t j = 0; j < ow; ++j)
        for (int64_t o = 0; o < g.cout; ++o) {
          T acc = 0;
          for (int64_t p = 0; p < K; ++p) {
            const T* xr = x + ((n * g.h + s * i + p) * g.w + s * j) * C;
            const T* wr = w + (o * K + p) * K * C;
            for (int64_t qc = 0; qc < K * C; ++qc) acc += xr[qc] * wr[qc];
          }
          y[((n * oh + i) * ow + j) * g.cout + o] = acc;
        }
}

// dx[n,h,w,c] = Σ dy[n,i,j,o]·w[o,p,q,c] over s·i+p = h, s·j+q = w, summed in (p, q, o) order.
template <class T>
void conv2d_backward_data(const ConvGeom& g, const T* dy, const T* w, T* dx) {
  const int64_t oh = g.oh(), ow = g.ow(), K = g.k, C = g.cin, O = g.cout, s = g.stride;
#pragma omp parallel for schedule(static) collapse(2)
  for (int64_t n = 0; n < g.n; ++n)
    for (int64_t h = 0; h < g.h; ++h)
      for (int64_t x = 0; x < g.w; ++x)
        for (int64_t c = 0; c < C; ++c) {
          T acc = 0;
          for (int64_t p = 0; p < K; ++p) {
            const int64_t hi = h - p;
            if (hi < 0 || hi % s != 0 || hi / s >= oh) continue;
            for (int64_t q = 0; q < K; ++q) {
              const int64_t xj = x - q;
              if (xj < 0 || xj % s != 0 || xj / s >= ow) continue;
              const T* d = dy + ((n * oh + hi / s) * ow + xj / s) * O;
              for (int64_t o = 0; o < O; ++o) acc += d[o] * w[((o * K + p) * K + q) * C + c];
            }
          }
          dx[((n * g.h + h) * g.w + x) * C + c] = acc;
        }
}

// dw_t[o,p,q,c] = Σ_{n in shard t} Σ_{i,j} dy[n,i,j,o]·x[n, s·i+p, s·j+q, c], summed in (n, i, j)
// order; shard t covers samples [t·n/shards, (t+1)·n/shards).
template <class T>
void conv2d_backward_weight(const ConvGeom& g, const T* x, const T* dy, int shards, T* dw_partials) {
  const int64_t oh = g.oh(), ow = g.ow(), K = g.k, C = g.cin, O = g.cout, s = g.stride;
  const int64_t len = O * K * K * C;
#pragma omp parallel for schedule(static) collapse(2)
  for (int64_t t = 0; t < shards; ++t)
    for (int64_t e = 0; e < len; ++e) {
      const int64_t c = e % C, q = (e / C) % K, p = (e / (C * K)) % K, o = e / (C * K * K);
      T acc = 0;
      for (int64_t n = t * g.n / shards; n < (t + 1) * g.n / shards; ++n)
        for (int64_t i = 0; i < oh; ++i)
          for (int64_t j = 0; j < ow; ++j)
            acc += dy[((n * oh + i) * ow + j) * O + o] * x[((n * g.h + s * i + p) * g.w + s * j + q) * C + c];
      dw_partials[t * len + e] = acc;
    }
}

}  // namespace portable

template <class T>
void conv2d_forward(const ConvGeom& g, const T* x, const T* w, T* y) {
#ifdef CYTOCON_CONV_AVX2
  if constexpr (std::is_same<T, float>::value)
    return avx2::conv2d_forward(g, x, w, y);
#endif
  portable::conv2d_forward(g, x, w, y);
}

template <class T>
void conv2d_backward_data(const ConvGeom& g, const T* dy, const T* w, T* dx) {
#ifdef CYTOCON_CONV_AVX2
  if constexpr (std::is_same<T, float>::value)
    if (g.stride == 1) return avx2::conv2d_backward_data(g, dy, w, dx);
#endif
  portable::conv2d_backward_data(g, dy, w, dx);
}

template <class T>
void conv2d_backward_weight(const ConvGeom& g, const T* x, const T* dy, int shards, T* dw_partials) {
#ifdef CYTOCON_CONV_AVX2
  if constexpr (std::is_same<T, float>::value)
    return avx2::conv2d_backward_weight(g, x, dy, shards, dw_partials);
#endif
  portable::conv2d_backward_weight(g, x, dy, shards, dw_partials);
}

template void conv2d_forward<float>(const ConvGeom&, const float*, const float*, float*);
template void conv2d_forward<double>(const ConvGeom&, const double*, const double*, double*);
template void conv2d_backward_data<float>(const ConvGeom&, const float*, const float*, float*);
template void conv2d_backward_data<double>(const ConvGeom&, const double*, const double*, double*);
template void conv2d_backward_weight<float>(const ConvGeom&, const float*, const float*, int, float*);
template void conv2d_backward_weight<double>(const ConvGeom&, const double*, const double*, int, double*);

}  // namespace cytocon::cpu

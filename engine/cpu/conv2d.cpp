// CPU convolution (engine/cpu/conv2d.h): float32 goes to the AVX2/FMA kernels where the CPU has
// them (engine/cpu/conv2d_avx2.h). float64 (gradient checks), other CPUs and compilers, and
// strided backward-data (the network never needs it: its strided conv reads the input image)
// run the portable loops below: one fixed summation order per output element, OpenMP over
// independent outputs only, so the bits never depend on the thread count.
#include "engine/cpu/conv2d.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "engine/cpu/conv2d_avx2.h"
#include "engine/cpu/conv2d_portable.h"
#include "engine/cpu/dispatch.h"
#include "engine/cpu/kernels.h"
#include "engine/tensor.h"

namespace cytocon::cpu {
namespace portable {

// Inner loops run over channels, each its own sum (vectorisable without reassociating anything).

// y[n,i,j,o] = Σ_{p,q,c} x[n, s·i+p, s·j+q, c] · w[o,p,q,c], summed in (p, q, c) order.
template <class T>
void conv2d_forward(const ConvGeom& g, const T* x, const T* w, T* y) {
  const int64_t oh = g.oh(), ow = g.ow(), K = g.k, C = g.cin, O = g.cout, s = g.stride, kkc = K * K * C;
  std::vector<T> wt(static_cast<size_t>(kkc * O));  // wt[e][o] = w[o][e], e = (p·K + q)·C + c
  for (int64_t o = 0; o < O; ++o)
    for (int64_t e = 0; e < kkc; ++e) wt[e * O + o] = w[o * kkc + e];
#pragma omp parallel for schedule(static) collapse(2)
  for (int64_t n = 0; n < g.n; ++n)
    for (int64_t i = 0; i < oh; ++i)
      for (int64_t j = 0; j < ow; ++j) {
        T* yo = y + ((n * oh + i) * ow + j) * O;
        for (int64_t o = 0; o < O; ++o) yo[o] = 0;
        for (int64_t p = 0; p < K; ++p) {
          const T* xr = x + ((n * g.h + s * i + p) * g.w + s * j) * C;
          for (int64_t qc = 0; qc < K * C; ++qc) {
            const T xv = xr[qc];
            const T* wr = &wt[(p * K * C + qc) * O];
#pragma omp simd
            for (int64_t o = 0; o < O; ++o) yo[o] += xv * wr[o];
          }
        }
      }
}

// dx[n,h,w,c] = Σ dy[n,i,j,o]·w[o,p,q,c] over s·i+p = h, s·j+q = w, summed in (p, q, o) order.
template <class T>
void conv2d_backward_data(const ConvGeom& g, const T* dy, const T* w, T* dx) {
  const int64_t oh = g.oh(), ow = g.ow(), K = g.k, C = g.cin, O = g.cout, s = g.stride;
#pragma omp parallel for schedule(static) collapse(2)
  for (int64_t n = 0; n < g.n; ++n)
    for (int64_t h = 0; h < g.h; ++h)
      for (int64_t x = 0; x < g.w; ++x) {
        T* d = dx + ((n * g.h + h) * g.w + x) * C;
        for (int64_t c = 0; c < C; ++c) d[c] = 0;
        for (int64_t p = 0; p < K; ++p) {
          const int64_t hi = h - p;
          if (hi < 0 || hi % s != 0 || hi / s >= oh) continue;
          for (int64_t q = 0; q < K; ++q) {
            const int64_t xj = x - q;
            if (xj < 0 || xj % s != 0 || xj / s >= ow) continue;
            const T* dv = dy + ((n * oh + hi / s) * ow + xj / s) * O;
            for (int64_t o = 0; o < O; ++o) {
              const T dvo = dv[o];
              const T* wr = w + ((o * K + p) * K + q) * C;
#pragma omp simd
              for (int64_t c = 0; c < C; ++c) d[c] += dvo * wr[c];
            }
          }
        }
      }
}

// dw_t[o,p,q,c] = Σ_{n in shard t} Σ_{i,j} dy[n,i,j,o]·x[n, s·i+p, s·j+q, c], summed in (n, i, j)
// order; shard t covers samples [t·n/shards, (t+1)·n/shards). Threads split (shard, block of
// kBlock weight elements e = (p·K + q)·C + c).
template <class T>
void conv2d_backward_weight(const ConvGeom& g, const T* x, const T* dy, int shards, T* dw_partials) {
  constexpr int64_t kBlock = 32;
  const int64_t oh = g.oh(), ow = g.ow(), K = g.k, C = g.cin, O = g.cout, s = g.stride, kkc = K * K * C;
  const int64_t len = O * kkc, blocks = (kkc + kBlock - 1) / kBlock;
  std::vector<int64_t> off(static_cast<size_t>(kkc));  // x offset of e from the window's corner
  for (int64_t e = 0; e < kkc; ++e) off[e] = (e / (K * C) * g.w) * C + e % (K * C);
#pragma omp parallel for schedule(static) collapse(2)
  for (int64_t t = 0; t < shards; ++t)
    for (int64_t b = 0; b < blocks; ++b) {
      const int64_t e0 = b * kBlock, e1 = std::min(kkc, e0 + kBlock);
      std::vector<T> acc(static_cast<size_t>((e1 - e0) * O), T(0));  // acc[e - e0][o]
      for (int64_t n = t * g.n / shards; n < (t + 1) * g.n / shards; ++n)
        for (int64_t i = 0; i < oh; ++i)
          for (int64_t j = 0; j < ow; ++j) {
            const T* dv = dy + ((n * oh + i) * ow + j) * O;
            const T* xw = x + ((n * g.h + s * i) * g.w + s * j) * C;
            for (int64_t e = e0; e < e1; ++e) {
              const T xv = xw[off[e]];
              T* a = &acc[(e - e0) * O];
#pragma omp simd
              for (int64_t o = 0; o < O; ++o) a[o] += xv * dv[o];
            }
          }
      for (int64_t e = e0; e < e1; ++e)
        for (int64_t o = 0; o < O; ++o) dw_partials[t * len + o * kkc + e] = acc[(e - e0) * O + o];
    }
}

template void conv2d_forward<float>(const ConvGeom&, const float*, const float*, float*);
template void conv2d_forward<double>(const ConvGeom&, const double*, const double*, double*);
template void conv2d_backward_data<float>(const ConvGeom&, const float*, const float*, float*);
template void conv2d_backward_data<double>(const ConvGeom&, const double*, const double*, double*);
template void conv2d_backward_weight<float>(const ConvGeom&, const float*, const float*, int, float*);
template void conv2d_backward_weight<double>(const ConvGeom&, const double*, const double*, int, double*);

}  // namespace portable

namespace {
// The kernels' preconditions (the backend checks shapes with messages naming the op first).
void check_geom(const ConvGeom& g, const char* op) {
  if (!(g.n >= 0 && g.cin >= 1 && g.cout >= 1 && g.k >= 1 && g.stride >= 1 && g.h >= g.k && g.w >= g.k))
    fail(std::string(op) + ": invalid geometry n=" + std::to_string(g.n) + " h=" + std::to_string(g.h) +
         " w=" + std::to_string(g.w) + " cin=" + std::to_string(g.cin) + " cout=" + std::to_string(g.cout) +
         " k=" + std::to_string(g.k) + " stride=" + std::to_string(g.stride) +
         " (expected a k x k kernel inside the input, positive channels and stride)");
}
}  // namespace

template <class T>
void conv2d_forward(const ConvGeom& g, const T* x, const T* w, T* y) {
  check_geom(g, "conv2d_forward");
#ifdef CYTOCON_CONV_AVX2
  if constexpr (std::is_same<T, float>::value)
    if (avx2::available()) return avx2::conv2d_forward(g, x, w, y);
#endif
  portable::conv2d_forward(g, x, w, y);
}

template <class T>
void conv2d_backward_data(const ConvGeom& g, const T* dy, const T* w, T* dx) {
  check_geom(g, "conv2d_backward_data");
#ifdef CYTOCON_CONV_AVX2
  if constexpr (std::is_same<T, float>::value)
    if (g.stride == 1 && avx2::available()) return avx2::conv2d_backward_data(g, dy, w, dx);
#endif
  portable::conv2d_backward_data(g, dy, w, dx);
}

template <class T>
void conv2d_backward_weight(const ConvGeom& g, const T* x, const T* dy, int shards, T* dw_partials) {
  check_geom(g, "conv2d_backward_weight");
  if (shards < 1) fail("conv2d_backward_weight: " + std::to_string(shards) + " shards, expected at least 1");
#ifdef CYTOCON_CONV_AVX2
  if constexpr (std::is_same<T, float>::value)
    if (avx2::available()) return avx2::conv2d_backward_weight(g, x, dy, shards, dw_partials);
#endif
  portable::conv2d_backward_weight(g, x, dy, shards, dw_partials);
}

template void conv2d_forward<float>(const ConvGeom&, const float*, const float*, float*);
template void conv2d_forward<double>(const ConvGeom&, const double*, const double*, double*);
template void conv2d_backward_data<float>(const ConvGeom&, const float*, const float*, float*);
template void conv2d_backward_data<double>(const ConvGeom&, const double*, const double*, double*);
template void conv2d_backward_weight<float>(const ConvGeom&, const float*, const float*, int, float*);
template void conv2d_backward_weight<double>(const ConvGeom&, const double*, const double*, int, double*);

namespace {
// x NHWC [N,H,W,Cin], w OHWI [Cout,k,k,Cin] (checked by engine/op_checks.h).
ConvGeom geom(const Shape& x, const Shape& w, int stride) { return {x[0], x[1], x[2], x[3], w[0], w[1], stride}; }
}  // namespace

Tensor conv2d_forward(const Tensor& x, const Tensor& w, int stride) {
  same_dtype(x, w, "conv2d", "w");
  const ConvGeom g = geom(x.shape(), w.shape(), stride);
  Tensor y = Tensor::empty({g.n, g.oh(), g.ow(), g.cout}, x.dtype());
  dispatch(x.dtype(), "conv2d", [&](auto t) {
    using T = decltype(t);
    conv2d_forward<T>(g, x.data<T>(), w.data<T>(), y.data<T>());
  });
  return y;
}

Tensor conv2d_backward_data(const Tensor& dy, const Tensor& w, const Shape& x_shape, int stride) {
  same_dtype(dy, w, "conv2d backward", "w");
  const ConvGeom g = geom(x_shape, w.shape(), stride);
  Tensor dx = Tensor::empty(x_shape, dy.dtype());
  dispatch(dy.dtype(), "conv2d backward", [&](auto t) {
    using T = decltype(t);
    conv2d_backward_data<T>(g, dy.data<T>(), w.data<T>(), dx.data<T>());
  });
  return dx;
}

Tensor conv2d_backward_weight(const Tensor& x, const Tensor& dy, const Shape& w_shape, int stride, const Shards& sh) {
  same_dtype(x, dy, "conv2d weight gradient", "dy");
  const ConvGeom g = geom(x.shape(), w_shape, stride);
  sh.shard_size(g.n);  // checks the local batch splits into the local shards
  const int64_t len = shape_numel(w_shape);
  Tensor dw = Tensor::empty(w_shape, x.dtype());
  dispatch(x.dtype(), "conv2d weight gradient", [&](auto t) {
    using T = decltype(t);
    // One partial per local shard (up to ~10 MB): a Tensor, so the caching allocator reuses
    // the block from step to step instead of faulting in fresh pages on every call.
    Tensor partials = Tensor::zeros({sh.count, len}, x.dtype());
    T* p = partials.data<T>();
    conv2d_backward_weight<T>(g, x.data<T>(), dy.data<T>(), sh.count, p);
    sum_shards(sh, p, len);
    std::copy(p, p + len, dw.data<T>());
  });
  return dw;
}

}  // namespace cytocon::cpu

// Row-wise l2 normalisation of x [n,d]: z = x / r with r = max(‖x‖₂, eps).
// Backward (docs/math.md eq. L2-2): dx = (dz − z·(z·dz)) / r where ‖x‖ > eps, else dz / eps.
#include <cmath>

#include "engine/cpu/dispatch.h"
#include "engine/cpu/kernels.h"

namespace cytocon::cpu {

namespace {
template <class T>
T row_norm(int64_t d, const T* x) {
  T s = T(0);
  for (int64_t i = 0; i < d; ++i) s += x[i] * x[i];
  return std::sqrt(s);
}
}  // namespace

template <class T>
void l2_normalize_forward(int64_t n, int64_t d, const T* x, T eps, T* z) {
#pragma omp parallel for schedule(static) if (n * d >= (1 << 15))
  for (int64_t r = 0; r < n; ++r) {
    const T* xr = x + r * d;
    const T nrm = row_norm(d, xr);
    const T den = nrm > eps ? nrm : eps;
    for (int64_t i = 0; i < d; ++i) z[r * d + i] = xr[i] / den;
  }
}

template <class T>
void l2_normalize_backward(int64_t n, int64_t d, const T* dz, const T* x, const T* z, T eps, T* dx) {
#pragma omp parallel for schedule(static) if (n * d >= (1 << 15))
  for (int64_t r = 0; r < n; ++r) {
    const T* zr = z + r * d;
    const T* g = dz + r * d;
    T* o = dx + r * d;
    const T nrm = row_norm(d, x + r * d);
    if (nrm > eps) {
      T dot = T(0);
      for (int64_t i = 0; i < d; ++i) dot += zr[i] * g[i];
      for (int64_t i = 0; i < d; ++i) o[i] = (g[i] - zr[i] * dot) / nrm;
    } else {
      for (int64_t i = 0; i < d; ++i) o[i] = g[i] / eps;
    }
  }
}

Tensor l2_normalize_forward(const Tensor& x, double eps) {
  Tensor z = Tensor::empty(x.shape(), x.dtype());
  dispatch(x.dtype(), "l2_normalize", [&](auto t) {
    using T = decltype(t);
    l2_normalize_forward<T>(x.dim(0), x.dim(1), x.data<T>(), static_cast<T>(eps), z.data<T>());
  });
  return z;
}

Tensor l2_normalize_backward(const Tensor& dz, const Tensor& x, const Tensor& z, double eps) {
  Tensor dx = Tensor::empty(x.shape(), x.dtype());
  dispatch(x.dtype(), "l2_normalize backward", [&](auto t) {
    using T = decltype(t);
    l2_normalize_backward<T>(x.dim(0), x.dim(1), dz.data<T>(), x.data<T>(), z.data<T>(), static_cast<T>(eps),
                             dx.data<T>());
  });
  return dx;
}

}  // namespace cytocon::cpu

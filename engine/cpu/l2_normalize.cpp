#include "engine/cpu/l2_normalize.h"

#include <cmath>

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

template void l2_normalize_forward<float>(int64_t, int64_t, const float*, float, float*);
template void l2_normalize_forward<double>(int64_t, int64_t, const double*, double, double*);
template void l2_normalize_backward<float>(int64_t, int64_t, const float*, const float*, const float*, float, float*);
template void l2_normalize_backward<double>(int64_t, int64_t, const double*, const double*, const double*, double,
                                            double*);

}  // namespace cytocon::cpu

// Elementwise kernels: c = a + b, c = s·a, cast (storage conversion), and the trainer's check for a
// NaN or ±Inf.
#include <cmath>

#include "engine/cpu/dispatch.h"
#include "engine/cpu/kernels.h"
#include "engine/cpu/parallel.h"

namespace cytocon::cpu {

template <class T>
void add(int64_t n, const T* a, const T* b, T* c) {
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
  for (int64_t i = 0; i < n; ++i) c[i] = a[i] + b[i];
}

template <class T>
void scale(int64_t n, const T* a, T s, T* c) {
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
  for (int64_t i = 0; i < n; ++i) c[i] = s * a[i];
}

Tensor add(const Tensor& a, const Tensor& b) {
  Tensor c = Tensor::empty(a.shape(), a.dtype());
  dispatch(a.dtype(), "add", [&](auto t) {
    using T = decltype(t);
    add<T>(a.numel(), a.data<T>(), b.data<T>(), c.data<T>());
  });
  return c;
}

Tensor scale(const Tensor& a, double s) {
  Tensor c = Tensor::empty(a.shape(), a.dtype());
  dispatch(a.dtype(), "scale", [&](auto t) {
    using T = decltype(t);
    scale<T>(a.numel(), a.data<T>(), static_cast<T>(s), c.data<T>());
  });
  return c;
}

Tensor cast(const Tensor& x, DType dt) { return x.to(dt); }

int64_t first_non_finite(const std::vector<Tensor>& ts) {
  for (size_t i = 0; i < ts.size(); ++i) {
    if (ts[i].dtype() != DType::f32) continue;
    const float* p = ts[i].data<float>();
    for (int64_t k = 0; k < ts[i].numel(); ++k)
      if (!std::isfinite(p[k])) return static_cast<int64_t>(i);
  }
  return -1;
}

}  // namespace cytocon::cpu

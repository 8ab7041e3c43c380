// ReLU: y = max(x, 0); backward dx = dy·[y > 0].
#include "engine/cpu/dispatch.h"
#include "engine/cpu/kernels.h"
#include "engine/cpu/parallel.h"

namespace cytocon::cpu {

// y = max(x, 0); a NaN passes through (as in PyTorch), so a NaN input shows in the loss.
template <class T>
void relu_forward(int64_t n, const T* x, T* y) {
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
  for (int64_t i = 0; i < n; ++i) y[i] = (x[i] > T(0) || x[i] != x[i]) ? x[i] : T(0);
}

template <class T>
void relu_backward(int64_t n, const T* dy, const T* y, T* dx) {
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
  for (int64_t i = 0; i < n; ++i) dx[i] = y[i] > T(0) ? dy[i] : T(0);
}

Tensor relu_forward(const Tensor& x) {
  Tensor y = Tensor::empty(x.shape(), x.dtype());
  dispatch(x.dtype(), "relu", [&](auto t) {
    using T = decltype(t);
    relu_forward<T>(x.numel(), x.data<T>(), y.data<T>());
  });
  return y;
}

Tensor relu_backward(const Tensor& dy, const Tensor& y) {
  Tensor dx = Tensor::empty(y.shape(), y.dtype());
  dispatch(y.dtype(), "relu backward", [&](auto t) {
    using T = decltype(t);
    relu_backward<T>(y.numel(), dy.data<T>(), y.data<T>(), dx.data<T>());
  });
  return dx;
}

}  // namespace cytocon::cpu

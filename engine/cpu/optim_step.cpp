// Optimiser element loops over one parameter tensor of n values (engine/backend.h, docs/design.md).
// LARS (SimCLR's classic momentum), adapt = true:
//   g' = g + wd·w;  trust = η‖w‖/‖g'‖ if both norms > 0 else 1;  v = m·v + (lr·trust)·g';  w = w − v
// adapt = false (BN γ/β, biases): v = m·v + lr·g;  w = w − v.
// The norms are accumulated in double, in index order (fixed, thread-independent).
// SGD with momentum (PyTorch's convention): v = m·v + (g + wd·w);  w = w − lr·v.
#include <cmath>

#include "engine/cpu/dispatch.h"
#include "engine/cpu/kernels.h"

namespace cytocon::cpu {

struct LarsParams {
  double lr, momentum, weight_decay, eta;
  bool adapt;
};

template <class T>
void lars_step(int64_t n, T* w, const T* g, T* v, const LarsParams& a) {
  const T m = static_cast<T>(a.momentum);
  if (!a.adapt) {
    const T lr = static_cast<T>(a.lr);
    for (int64_t i = 0; i < n; ++i) {
      v[i] = m * v[i] + lr * g[i];
      w[i] = w[i] - v[i];
    }
    return;
  }
  const T wd = static_cast<T>(a.weight_decay);
  double wn = 0, gn = 0;
  for (int64_t i = 0; i < n; ++i) {
    const T gi = g[i] + wd * w[i];
    wn += static_cast<double>(w[i]) * static_cast<double>(w[i]);
    gn += static_cast<double>(gi) * static_cast<double>(gi);
  }
  wn = std::sqrt(wn);
  gn = std::sqrt(gn);
  const double trust = (wn > 0 && gn > 0) ? a.eta * wn / gn : 1.0;
  const T step = static_cast<T>(a.lr * trust);
  for (int64_t i = 0; i < n; ++i) {
    const T gi = g[i] + wd * w[i];
    v[i] = m * v[i] + step * gi;
    w[i] = w[i] - v[i];
  }
}

template <class T>
void sgd_step(int64_t n, T* w, const T* g, T* v, double lr, double momentum, double weight_decay) {
  const T m = static_cast<T>(momentum), wd = static_cast<T>(weight_decay), l = static_cast<T>(lr);
  for (int64_t i = 0; i < n; ++i) {
    v[i] = m * v[i] + (g[i] + wd * w[i]);
    w[i] = w[i] - l * v[i];
  }
}

void lars_step(Tensor& w, const Tensor& g, Tensor& v, const Backend::LarsArgs& a) {
  dispatch(w.dtype(), "lars_step", [&](auto t) {
    using T = decltype(t);
    lars_step<T>(w.numel(), w.data<T>(), g.data<T>(), v.data<T>(),
                 LarsParams{a.lr, a.momentum, a.weight_decay, a.eta, a.adapt});
  });
}

void sgd_step(Tensor& w, const Tensor& g, Tensor& v, double lr, double momentum, double weight_decay) {
  dispatch(w.dtype(), "sgd_step", [&](auto t) {
    using T = decltype(t);
    sgd_step<T>(w.numel(), w.data<T>(), g.data<T>(), v.data<T>(), lr, momentum, weight_decay);
  });
}

}  // namespace cytocon::cpu

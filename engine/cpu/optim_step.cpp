#include "engine/cpu/optim_step.h"

#include <cmath>

namespace cytocon::cpu {

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

template void lars_step<float>(int64_t, float*, const float*, float*, const LarsParams&);
template void lars_step<double>(int64_t, double*, const double*, double*, const LarsParams&);
template void sgd_step<float>(int64_t, float*, const float*, float*, double, double, double);
template void sgd_step<double>(int64_t, double*, const double*, double*, double, double, double);

}  // namespace cytocon::cpu

// Optimiser element loops over one parameter tensor of n values (engine/backend.h, DESIGN.md).
// LARS (SimCLR's classic momentum), adapt = true:
//   g' = g + wd·w;  trust = η‖w‖/‖g'‖ if both norms > 0 else 1;  v = m·v + (lr·trust)·g';  w = w − v
// adapt = false (BN γ/β, biases): v = m·v + lr·g;  w = w − v.
// The norms are accumulated in double, in index order (fixed, thread-independent).
// SGD with momentum (PyTorch's convention): v = m·v + (g + wd·w);  w = w − lr·v.
#pragma once
#include <cstdint>

namespace cytocon::cpu {

struct LarsParams {
  double lr, momentum, weight_decay, eta;
  bool adapt;
};
template <class T> void lars_step(int64_t n, T* w, const T* g, T* v, const LarsParams& a);
template <class T> void sgd_step(int64_t n, T* w, const T* g, T* v, double lr, double momentum, double weight_decay);

}  // namespace cytocon::cpu

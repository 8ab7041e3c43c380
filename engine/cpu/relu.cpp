#include "engine/cpu/relu.h"

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

template void relu_forward<float>(int64_t, const float*, float*);
template void relu_forward<double>(int64_t, const double*, double*);
template void relu_backward<float>(int64_t, const float*, const float*, float*);
template void relu_backward<double>(int64_t, const double*, const double*, double*);

}  // namespace cytocon::cpu

// Row-wise l2 normalisation of x [n,d]: z = x / r with r = max(‖x‖₂, eps).
// Backward (docs/math.md eq. L2-2): dx = (dz − z·(z·dz)) / r where ‖x‖ > eps, else dz / eps.
#pragma once
#include <cstdint>

namespace cytocon::cpu {

template <class T> void l2_normalize_forward(int64_t n, int64_t d, const T* x, T eps, T* z);
template <class T>
void l2_normalize_backward(int64_t n, int64_t d, const T* dz, const T* x, const T* z, T eps, T* dx);

}  // namespace cytocon::cpu

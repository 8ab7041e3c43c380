// ReLU: y = max(x, 0); backward dx = dy·[y > 0].
#pragma once
#include <cstdint>

namespace cytocon::cpu {

template <class T> void relu_forward(int64_t n, const T* x, T* y);
template <class T> void relu_backward(int64_t n, const T* dy, const T* y, T* dx);

}  // namespace cytocon::cpu

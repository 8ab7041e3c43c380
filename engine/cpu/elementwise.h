// Elementwise kernels: c = a + b and c = s·a over contiguous buffers of n values.
#pragma once
#include <cstdint>

namespace cytocon::cpu {

template <class T> void add(int64_t n, const T* a, const T* b, T* c);
template <class T> void scale(int64_t n, const T* a, T s, T* c);

}  // namespace cytocon::cpu

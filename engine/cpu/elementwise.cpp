#include "engine/cpu/elementwise.h"

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

template void add<float>(int64_t, const float*, const float*, float*);
template void add<double>(int64_t, const double*, const double*, double*);
template void scale<float>(int64_t, const float*, float, float*);
template void scale<double>(int64_t, const double*, double, double*);

}  // namespace cytocon::cpu

#include "engine/cpu/cross_entropy.h"

#include <cmath>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace cytocon::cpu {

namespace {
// Row max and log Σ_j exp(l_j − max).
template <class T>
void row_lse(int64_t c, const T* l, T& m, T& log_den) {
  m = l[0];
  for (int64_t j = 1; j < c; ++j) m = l[j] > m ? l[j] : m;
  T den = T(0);
  for (int64_t j = 0; j < c; ++j) den += std::exp(l[j] - m);
  log_den = std::log(den);
}
}  // namespace

void check_class_labels(int64_t n, int64_t c, const int32_t* labels, const char* what) {
  for (int64_t s = 0; s < n; ++s)
    if (labels[s] < 0 || labels[s] >= c)
      fail(std::string(what) + ": label " + std::to_string(labels[s]) + " of sample " + std::to_string(s) +
           " is outside the " + std::to_string(c) + " classes [0, " + std::to_string(c) + ")");
}

template <class T>
void cross_entropy_partials(int64_t n, int64_t c, const T* logits, const int32_t* labels, int shards, T* partials) {
  std::vector<T> ls(static_cast<size_t>(n));
#pragma omp parallel for schedule(static) if (n * c >= (1 << 15))
  for (int64_t s = 0; s < n; ++s) {
    const T* l = logits + s * c;
    T m, log_den;
    row_lse(c, l, m, log_den);
    ls[s] = (m + log_den) - l[labels[s]];
  }
  const int64_t per = n / shards;
  for (int64_t t = 0; t < shards; ++t) {
    T acc = T(0);
    for (int64_t s = t * per; s < (t + 1) * per; ++s) acc += ls[s];
    partials[t] = acc;
  }
}

template <class T>
void cross_entropy_backward(int64_t n, int64_t c, const T* logits, const int32_t* labels, T scale, T* dlogits) {
#pragma omp parallel for schedule(static) if (n * c >= (1 << 15))
  for (int64_t s = 0; s < n; ++s) {
    const T* l = logits + s * c;
    T* d = dlogits + s * c;
    T m, log_den;
    row_lse(c, l, m, log_den);
    for (int64_t j = 0; j < c; ++j) {
      const T p = std::exp(l[j] - m - log_den);
      d[j] = scale * (j == labels[s] ? p - T(1) : p);
    }
  }
}

template void cross_entropy_partials<float>(int64_t, int64_t, const float*, const int32_t*, int, float*);
template void cross_entropy_partials<double>(int64_t, int64_t, const double*, const int32_t*, int, double*);
template void cross_entropy_backward<float>(int64_t, int64_t, const float*, const int32_t*, float, float*);
template void cross_entropy_backward<double>(int64_t, int64_t, const double*, const int32_t*, double, double*);

}  // namespace cytocon::cpu

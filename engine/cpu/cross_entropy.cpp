// Softmax cross-entropy of logits [n,c] against int32 labels [n]:
//   ℓ_s = log Σ_j exp(l_sj) − l_s,y_s  (row max subtracted),  L = (1/N_global) Σ_s ℓ_s
// dL/dl_s = (softmax(l_s) − onehot(y_s)) / N_global.
#include <cmath>
#include <string>
#include <vector>

#include "engine/cpu/dispatch.h"
#include "engine/cpu/kernels.h"
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

// partials[t] = Σ ℓ_s over micro-shard t (samples [t·n/shards, (t+1)·n/shards), in order).
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

// dlogits = scale · (softmax − onehot), scale = dloss / N_global.
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

Tensor cross_entropy_forward(const Tensor& logits, const Tensor& labels, const Shards& sh) {
  const int64_t n = logits.dim(0), c = logits.dim(1);
  sh.shard_size(n);
  Tensor loss = Tensor::empty({1}, logits.dtype());
  dispatch(logits.dtype(), "cross_entropy", [&](auto t) {
    using T = decltype(t);
    std::vector<T> partials(static_cast<size_t>(sh.count));
    cross_entropy_partials<T>(n, c, logits.data<T>(), labels.data<int32_t>(), sh.count, partials.data());
    sum_shards(sh, partials.data(), 1);
    loss.data<T>()[0] = partials[0] / static_cast<T>(sh.global_n(n));
  });
  return loss;
}

Tensor cross_entropy_backward(const Tensor& logits, const Tensor& labels, const Shards& sh, double dloss) {
  const int64_t n = logits.dim(0), c = logits.dim(1);
  Tensor d = Tensor::empty(logits.shape(), logits.dtype());
  dispatch(logits.dtype(), "cross_entropy backward", [&](auto t) {
    using T = decltype(t);
    const T scale = static_cast<T>(dloss) / static_cast<T>(sh.global_n(n));
    cross_entropy_backward<T>(n, c, logits.data<T>(), labels.data<int32_t>(), scale, d.data<T>());
  });
  return d;
}

}  // namespace cytocon::cpu

#include "engine/cpu/batch_norm.h"

#include <algorithm>
#include <vector>

#include "engine/cpu/parallel.h"

namespace cytocon::cpu {

namespace {
// The blocks of one micro-shard: rows [first, first + count) cut into kRowBlock pieces.
struct Blocks {
  int64_t shard_rows, per_shard;
  Blocks(const BnGeom& g, int shards)
      : shard_rows(g.rows * (g.n / shards)), per_shard((shard_rows + kRowBlock - 1) / kRowBlock) {}
  int64_t begin(int64_t shard, int64_t b) const { return shard * shard_rows + b * kRowBlock; }
  int64_t end(int64_t shard, int64_t b) const { return std::min(begin(shard, b) + kRowBlock, (shard + 1) * shard_rows); }
};
}  // namespace

template <class T>
void batch_norm_moments(const BnGeom& g, const T* x, int shards, Moments<T>* moments) {
  const int64_t C = g.c;
  const Blocks bl(g, shards);
  const int64_t nblocks = shards * bl.per_shard;
  std::vector<T> mean(static_cast<size_t>(nblocks * C)), m2(static_cast<size_t>(nblocks * C));
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < nblocks; ++t) {
    const int64_t s = t / bl.per_shard, b = t % bl.per_shard;
    const int64_t r0 = bl.begin(s, b), r1 = bl.end(s, b);
    T* mu = mean.data() + t * C;
    T* q = m2.data() + t * C;
    std::fill(mu, mu + C, T(0));
    std::fill(q, q + C, T(0));
    for (int64_t r = r0; r < r1; ++r)
      for (int64_t c = 0; c < C; ++c) mu[c] += x[r * C + c];
    const T inv = T(1) / static_cast<T>(r1 - r0);
    for (int64_t c = 0; c < C; ++c) mu[c] *= inv;
    for (int64_t r = r0; r < r1; ++r)
      for (int64_t c = 0; c < C; ++c) {
        const T d = x[r * C + c] - mu[c];
        q[c] += d * d;
      }
  }
  // Combine the blocks of each shard in block order (Chan's formula).
#pragma omp parallel for schedule(static) collapse(2) if (shards * C >= 64)
  for (int64_t s = 0; s < shards; ++s)
    for (int64_t c = 0; c < C; ++c) {
      Moments<T> acc{T(0), T(0), T(0)};
      for (int64_t b = 0; b < bl.per_shard; ++b) {
        const int64_t t = s * bl.per_shard + b;
        chan_merge(acc, Moments<T>{static_cast<T>(bl.end(s, b) - bl.begin(s, b)), mean[t * C + c], m2[t * C + c]});
      }
      moments[s * C + c] = acc;
    }
}

template <class T>
void batch_norm_apply(const BnGeom& g, const T* x, const T* mean, const T* a, const T* beta, T* y) {
  const int64_t C = g.c, m = g.n * g.rows;
#pragma omp parallel for schedule(static) if (m * C >= kParallelMin)
  for (int64_t r = 0; r < m; ++r)
    for (int64_t c = 0; c < C; ++c) y[r * C + c] = (x[r * C + c] - mean[c]) * a[c] + beta[c];
}

template <class T>
void batch_norm_backward_sums(const BnGeom& g, const T* dy, const T* x, const T* mean, int shards, T* sums) {
  const int64_t C = g.c;
  const Blocks bl(g, shards);
  const int64_t nblocks = shards * bl.per_shard;
  std::vector<T> part(static_cast<size_t>(nblocks * 2 * C));
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < nblocks; ++t) {
    const int64_t s = t / bl.per_shard, b = t % bl.per_shard;
    T* sd = part.data() + t * 2 * C;  // Σ dy
    T* sx = sd + C;                   // Σ dy·(x − μ)
    std::fill(sd, sd + 2 * C, T(0));
    for (int64_t r = bl.begin(s, b), r1 = bl.end(s, b); r < r1; ++r)
      for (int64_t c = 0; c < C; ++c) {
        const T d = dy[r * C + c];
        sd[c] += d;
        sx[c] += d * (x[r * C + c] - mean[c]);
      }
  }
  // Blocks of a shard summed in block order.
  for (int64_t s = 0; s < shards; ++s) {
    T* out = sums + s * 2 * C;
    std::fill(out, out + 2 * C, T(0));
    for (int64_t b = 0; b < bl.per_shard; ++b) {
      const T* p = part.data() + (s * bl.per_shard + b) * 2 * C;
      for (int64_t i = 0; i < 2 * C; ++i) out[i] += p[i];
    }
  }
}

template <class T>
void batch_norm_backward_data(const BnGeom& g, const T* dy, const T* x, const T* mean, const T* a, const T* b,
                              const T* k, T* dx) {
  const int64_t C = g.c, m = g.n * g.rows;
#pragma omp parallel for schedule(static) if (m * C >= kParallelMin)
  for (int64_t r = 0; r < m; ++r)
    for (int64_t c = 0; c < C; ++c) dx[r * C + c] = (a[c] * dy[r * C + c] + b[c] * (x[r * C + c] - mean[c])) + k[c];
}

#define CYTOCON_INSTANTIATE(T)                                                                          \
  template void batch_norm_moments<T>(const BnGeom&, const T*, int, Moments<T>*);                       \
  template void batch_norm_apply<T>(const BnGeom&, const T*, const T*, const T*, const T*, T*);         \
  template void batch_norm_backward_sums<T>(const BnGeom&, const T*, const T*, const T*, int, T*);      \
  template void batch_norm_backward_data<T>(const BnGeom&, const T*, const T*, const T*, const T*, const T*, const T*, \
                                            T*);
CYTOCON_INSTANTIATE(float)
CYTOCON_INSTANTIATE(double)
#undef CYTOCON_INSTANTIATE

}  // namespace cytocon::cpu

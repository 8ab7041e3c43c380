#include "engine/cpu/batch_norm.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "engine/cpu/parallel.h"
#include "engine/cpu/simd.h"

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

// One block's (mean, M2) for channels [c0, c0 + lanes) over rows [r0, r1): two passes, rows in
// order, the channel group's accumulators in one register-sized vector (engine/cpu/simd.h).
template <class T>
inline void group_moments(const T* x, int64_t C, int64_t r0, int64_t r1, int64_t c0, T* mean, T* m2) {
  using V = typename Simd<T>::type;
  V s = {}, q = {}, v;
  for (int64_t r = r0; r < r1; ++r) {
    std::memcpy(&v, x + r * C + c0, sizeof v);
    s += v;
  }
  const V mu = s * (T(1) / static_cast<T>(r1 - r0));
  for (int64_t r = r0; r < r1; ++r) {
    std::memcpy(&v, x + r * C + c0, sizeof v);
    const V d = v - mu;
    q += d * d;
  }
  std::memcpy(mean + c0, &mu, sizeof mu);
  std::memcpy(m2 + c0, &q, sizeof q);
}

// The same for one channel (channels beyond the last full vector).
template <class T>
inline void channel_moments(const T* x, int64_t C, int64_t r0, int64_t r1, int64_t c, T* mean, T* m2) {
  T s = T(0), q = T(0);
  for (int64_t r = r0; r < r1; ++r) s += x[r * C + c];
  const T mu = s * (T(1) / static_cast<T>(r1 - r0));
  for (int64_t r = r0; r < r1; ++r) {
    const T d = x[r * C + c] - mu;
    q += d * d;
  }
  mean[c] = mu;
  m2[c] = q;
}

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
    const int64_t full = C / Simd<T>::lanes * Simd<T>::lanes;
    for (int64_t c0 = 0; c0 < full; c0 += Simd<T>::lanes)
      group_moments(x, C, r0, r1, c0, mean.data() + t * C, m2.data() + t * C);
    for (int64_t c = full; c < C; ++c) channel_moments(x, C, r0, r1, c, mean.data() + t * C, m2.data() + t * C);
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

namespace {
// dz = dy·[y > 0] (eq. BNR-1) when Mask, else dy: relu_backward's expression, scalar and lane-wise.
template <bool Mask, class T> inline T masked(T d, const T* y, int64_t i) {
  if constexpr (Mask) return y[i] > T(0) ? d : T(0);
  return d;
}
template <bool Mask, class V, class T> inline V masked_group(V d, const T* y, int64_t i) {
  if constexpr (Mask) {
    V yv;
    std::memcpy(&yv, y + i, sizeof yv);
    return yv > V{} ? d : V{};
  }
  return d;
}

template <bool Relu, class T>
void apply_rows(const BnGeom& g, const T* x, const T* mean, const T* a, const T* beta, T* y) {
  const int64_t C = g.c, m = g.n * g.rows;
#pragma omp parallel for schedule(static) if (m * C >= kParallelMin)
  for (int64_t r = 0; r < m; ++r)
    for (int64_t c = 0; c < C; ++c) {
      const T v = (x[r * C + c] - mean[c]) * a[c] + beta[c];
      if constexpr (Relu)
        y[r * C + c] = (v > T(0) || v != v) ? v : T(0);  // relu_forward's expression (NaN passes)
      else
        y[r * C + c] = v;
    }
}
}  // namespace

template <class T>
void batch_norm_apply(const BnGeom& g, const T* x, const T* mean, const T* a, const T* beta, bool relu, T* y) {
  if (relu)
    apply_rows<true>(g, x, mean, a, beta, y);
  else
    apply_rows<false>(g, x, mean, a, beta, y);
}

// One block's Σ dz and Σ dz·(x − μ) for channels [c0, c0 + lanes) over rows [r0, r1), in row order
// (dz = dy, or dy·[y > 0] when Mask).
template <bool Mask, class T>
inline void group_backward_sums(const T* dy, const T* y, const T* x, const T* mean, int64_t C, int64_t r0, int64_t r1,
                                int64_t c0, T* sd, T* sx) {
  using V = typename Simd<T>::type;
  V a = {}, b = {}, mu, d, xv;
  std::memcpy(&mu, mean + c0, sizeof mu);
  for (int64_t r = r0; r < r1; ++r) {
    std::memcpy(&d, dy + r * C + c0, sizeof d);
    std::memcpy(&xv, x + r * C + c0, sizeof xv);
    d = masked_group<Mask>(d, y, r * C + c0);
    a += d;
    b += d * (xv - mu);
  }
  std::memcpy(sd + c0, &a, sizeof a);
  std::memcpy(sx + c0, &b, sizeof b);
}

template <bool Mask, class T>
inline void channel_backward_sums(const T* dy, const T* y, const T* x, const T* mean, int64_t C, int64_t r0,
                                  int64_t r1, int64_t c, T* sd, T* sx) {
  T a = T(0), b = T(0);
  for (int64_t r = r0; r < r1; ++r) {
    const T d = masked<Mask>(dy[r * C + c], y, r * C + c);
    a += d;
    b += d * (x[r * C + c] - mean[c]);
  }
  sd[c] = a;
  sx[c] = b;
}

namespace {
template <bool Mask, class T>
void backward_sums(const BnGeom& g, const T* dy, const T* y, const T* x, const T* mean, int shards, T* sums) {
  const int64_t C = g.c;
  const Blocks bl(g, shards);
  const int64_t nblocks = shards * bl.per_shard;
  std::vector<T> part(static_cast<size_t>(nblocks * 2 * C));
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < nblocks; ++t) {
    const int64_t s = t / bl.per_shard, b = t % bl.per_shard;
    T* sd = part.data() + t * 2 * C;  // Σ dz
    T* sx = sd + C;                   // Σ dz·(x − μ)
    const int64_t r0 = bl.begin(s, b), r1 = bl.end(s, b), full = C / Simd<T>::lanes * Simd<T>::lanes;
    for (int64_t c0 = 0; c0 < full; c0 += Simd<T>::lanes)
      group_backward_sums<Mask>(dy, y, x, mean, C, r0, r1, c0, sd, sx);
    for (int64_t c = full; c < C; ++c) channel_backward_sums<Mask>(dy, y, x, mean, C, r0, r1, c, sd, sx);
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

template <bool Mask, class T>
void backward_data(const BnGeom& g, const T* dy, const T* y, const T* x, const T* mean, const T* a, const T* b,
                   const T* k, T* dx) {
  const int64_t C = g.c, m = g.n * g.rows;
#pragma omp parallel for schedule(static) if (m * C >= kParallelMin)
  for (int64_t r = 0; r < m; ++r)
    for (int64_t c = 0; c < C; ++c) {
      const T d = masked<Mask>(dy[r * C + c], y, r * C + c);
      dx[r * C + c] = (a[c] * d + b[c] * (x[r * C + c] - mean[c])) + k[c];
    }
}
}  // namespace

template <class T>
void batch_norm_backward_sums(const BnGeom& g, const T* dy, const T* y, const T* x, const T* mean, int shards,
                              T* sums) {
  if (y)
    backward_sums<true>(g, dy, y, x, mean, shards, sums);
  else
    backward_sums<false>(g, dy, y, x, mean, shards, sums);
}

template <class T>
void batch_norm_backward_data(const BnGeom& g, const T* dy, const T* y, const T* x, const T* mean, const T* a,
                              const T* b, const T* k, T* dx) {
  if (y)
    backward_data<true>(g, dy, y, x, mean, a, b, k, dx);
  else
    backward_data<false>(g, dy, y, x, mean, a, b, k, dx);
}

#define CYTOCON_INSTANTIATE(T)                                                                          \
  template void batch_norm_moments<T>(const BnGeom&, const T*, int, Moments<T>*);                       \
  template void batch_norm_apply<T>(const BnGeom&, const T*, const T*, const T*, const T*, bool, T*);   \
  template void batch_norm_backward_sums<T>(const BnGeom&, const T*, const T*, const T*, const T*, int, T*); \
  template void batch_norm_backward_data<T>(const BnGeom&, const T*, const T*, const T*, const T*, const T*, \
                                            const T*, const T*, T*);
CYTOCON_INSTANTIATE(float)
CYTOCON_INSTANTIATE(double)
#undef CYTOCON_INSTANTIATE

}  // namespace cytocon::cpu

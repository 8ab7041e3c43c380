// BatchNorm kernels over every dim but the last: x is viewed as rows [m, c] (m = numel/c), the
// local batch of n samples owning m/n consecutive rows each (NHWC [n,h,w,c] or [n,c]).
// Micro-shard t of `shards` covers samples [t·n/shards, (t+1)·n/shards). Within a shard, rows are
// cut into blocks of kRowBlock rows (engine/cpu/parallel.h); a block is summed in row order and
// blocks are combined in block order, so every partial is independent of the thread count.
// The derivations are in docs/math.md ("BatchNorm"; "BatchNorm + ReLU" for the fused variants:
// `relu` applies max(0, ·) to the output, a non-null `y` is the fused op's output and masks dy
// with [y > 0] on the fly, the same operations as relu_forward/relu_backward, so the same bits).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "engine/cpu/dispatch.h"
#include "engine/cpu/kernels.h"
#include "engine/cpu/parallel.h"
#include "engine/cpu/simd.h"

namespace cytocon::cpu {

struct BnGeom {
  int64_t n;     // local samples
  int64_t rows;  // rows per sample (h·w, or 1)
  int64_t c;     // channels
};

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

// Per-shard, per-channel (count, mean, M2): moments is [shards][c]. Two passes per block (mean,
// then Σ(x−mean)²), blocks merged with Chan's formula in block order.
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

// y = (x − mean[ch])·a[ch] + beta[ch]: the training and the inference normalisation with
// a = γ·invstd (eq. BN-1). Subtracting the mean first keeps the precision of x̂ when |μ| ≫ σ.
// With `relu`: y = max(0, ·), a NaN passing through (engine/cpu/relu.cpp).
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

// Per-shard partial sums for the backward: sums is [shards][2][c] with
// sums[t][0][ch] = Σ dy and sums[t][1][ch] = Σ dy·(x − mean[ch]) over shard t. With a non-null y
// (the fused BN+ReLU output), dy is replaced by dz = dy·[y > 0] (eq. BNR-1).
template <class T>
void batch_norm_backward_sums(const BnGeom& g, const T* dy, const T* y, const T* x, const T* mean, int shards,
                              T* sums) {
  if (y)
    backward_sums<true>(g, dy, y, x, mean, shards, sums);
  else
    backward_sums<false>(g, dy, y, x, mean, shards, sums);
}

// dx = a[ch]·dy + b[ch]·(x − mean[ch]) + k[ch] (the backward folded per channel, docs/math.md eq. BN-5);
// dz = dy·[y > 0] in place of dy when y is non-null.
template <class T>
void batch_norm_backward_data(const BnGeom& g, const T* dy, const T* y, const T* x, const T* mean, const T* a,
                              const T* b, const T* k, T* dx) {
  if (y)
    backward_data<true>(g, dy, y, x, mean, a, b, k, dx);
  else
    backward_data<false>(g, dy, y, x, mean, a, b, k, dx);
}

// ---- the Backend ops: the per-shard partials above, merged across shards and ranks here ----
namespace {

// x [N,...,C] (checked by engine/op_checks.h).
BnGeom geom(const Tensor& x) {
  const int64_t n = x.dim(0), c = x.dim(-1);
  return {n, n ? x.numel() / (n * c) : 0, c};
}

// `relu`: the fused BN+ReLU variant.
void forward_train(const Tensor& x, const Tensor& gamma, const Tensor& beta, double eps, const Shards& sh, bool relu,
                   Tensor& y, Tensor& mean, Tensor& invstd, Tensor& var_unbiased) {
  const BnGeom g = geom(x);
  same_dtype(x, gamma, "batch_norm", "gamma");
  same_dtype(x, beta, "batch_norm", "beta");
  sh.shard_size(g.n);
  y = Tensor::empty(x.shape(), x.dtype());
  mean = Tensor::empty({g.c}, x.dtype());
  invstd = Tensor::empty({g.c}, x.dtype());
  var_unbiased = Tensor::empty({g.c}, x.dtype());
  dispatch(x.dtype(), "batch_norm", [&](auto t) {
    using T = decltype(t);
    std::vector<Moments<T>> mom(static_cast<size_t>(sh.count * g.c));
    batch_norm_moments<T>(g, x.data<T>(), sh.count, mom.data());
    merge_moments(sh, mom.data(), g.c);
    const T count = mom[0].n;
    check(count > 1, "batch_norm: " + std::to_string(static_cast<int64_t>(count)) +
                         " value(s) per channel in the global batch, expected more than 1 in training mode");
    std::vector<T> a(g.c);
    const T* gm = gamma.data<T>();
    for (int64_t c = 0; c < g.c; ++c) {
      const T mu = mom[c].mean;
      const T var = mom[c].m2 / count;  // biased: normalisation (eq. BN-1)
      const T is = T(1) / std::sqrt(var + static_cast<T>(eps));
      mean.data<T>()[c] = mu;
      invstd.data<T>()[c] = is;
      var_unbiased.data<T>()[c] = mom[c].m2 / (count - T(1));  // unbiased: running statistics
      a[c] = gm[c] * is;
    }
    batch_norm_apply<T>(g, x.data<T>(), mean.data<T>(), a.data(), beta.data<T>(), relu, y.data<T>());
  });
}

Tensor forward_infer(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& running_mean,
                     const Tensor& running_var, double eps, bool relu) {
  const BnGeom g = geom(x);
  for (const Tensor* t : {&gamma, &beta, &running_mean, &running_var})
    same_dtype(x, *t, "batch_norm (inference)", "a parameter");
  Tensor y = Tensor::empty(x.shape(), x.dtype());
  dispatch(x.dtype(), "batch_norm (inference)", [&](auto t) {
    using T = decltype(t);
    std::vector<T> a(g.c);
    for (int64_t c = 0; c < g.c; ++c)
      a[c] = gamma.data<T>()[c] / std::sqrt(running_var.data<T>()[c] + static_cast<T>(eps));
    batch_norm_apply<T>(g, x.data<T>(), running_mean.data<T>(), a.data(), beta.data<T>(), relu, y.data<T>());
  });
  return y;
}

// y: the fused op's output (mask [y > 0]) or an undefined Tensor (plain BatchNorm).
void backward(const Tensor& dy, const Tensor& y, const Tensor& x, const Tensor& gamma, const Tensor& mean,
              const Tensor& invstd, const Shards& sh, Tensor& dx, Tensor& dgamma, Tensor& dbeta) {
  const BnGeom g = geom(x);
  for (const Tensor* t : {&gamma, &mean, &invstd}) same_dtype(x, *t, "batch_norm backward", "an input");
  sh.shard_size(g.n);
  dx = Tensor::empty(x.shape(), x.dtype());
  dgamma = Tensor::empty({g.c}, x.dtype());
  dbeta = Tensor::empty({g.c}, x.dtype());
  dispatch(x.dtype(), "batch_norm backward", [&](auto t) {
    using T = decltype(t);
    const T* mu = mean.data<T>();
    const T* is = invstd.data<T>();
    const T* gm = gamma.data<T>();
    std::vector<T> sums(static_cast<size_t>(sh.count * 2 * g.c));
    const T* mask = y.defined() ? y.data<T>() : nullptr;  // dz = dy·[y > 0] (fused ReLU) or dy
    batch_norm_backward_sums<T>(g, dy.data<T>(), mask, x.data<T>(), mu, sh.count, sums.data());
    sum_shards(sh, sums.data(), 2 * g.c);
    const T count = static_cast<T>(sh.global_n(g.n) * g.rows);  // N: values per channel, all ranks
    std::vector<T> a(g.c), b(g.c), k(g.c);
    for (int64_t c = 0; c < g.c; ++c) {
      const T sdy = sums[c];                  // Σ dy                     (eq. BN-3)
      const T sdyxh = sums[g.c + c] * is[c];  // Σ dy·x̂ = invstd·Σ dy·(x−μ) (eq. BN-4)
      dbeta.data<T>()[c] = sdy;
      dgamma.data<T>()[c] = sdyxh;
      // dx = γ·invstd/N·(N·dy − Σdy − x̂·Σdy·x̂) = a·dy + b·(x − μ) + k   (eq. BN-5)
      a[c] = gm[c] * is[c];
      b[c] = -(a[c] * is[c] * sdyxh) / count;
      k[c] = -(a[c] * sdy) / count;
    }
    batch_norm_backward_data<T>(g, dy.data<T>(), mask, x.data<T>(), mu, a.data(), b.data(), k.data(), dx.data<T>());
  });
}

}  // namespace

void batch_norm_forward_train(const Tensor& x, const Tensor& gamma, const Tensor& beta, double eps,
                              const Shards& sh, Tensor& y, Tensor& mean, Tensor& invstd, Tensor& var_unbiased) {
  forward_train(x, gamma, beta, eps, sh, false, y, mean, invstd, var_unbiased);
}
void batch_norm_relu_forward_train(const Tensor& x, const Tensor& gamma, const Tensor& beta, double eps,
                                   const Shards& sh, Tensor& y, Tensor& mean, Tensor& invstd, Tensor& var_unbiased) {
  forward_train(x, gamma, beta, eps, sh, true, y, mean, invstd, var_unbiased);
}
Tensor batch_norm_forward_infer(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                const Tensor& running_mean, const Tensor& running_var, double eps) {
  return forward_infer(x, gamma, beta, running_mean, running_var, eps, false);
}
Tensor batch_norm_relu_forward_infer(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                     const Tensor& running_mean, const Tensor& running_var, double eps) {
  return forward_infer(x, gamma, beta, running_mean, running_var, eps, true);
}
void batch_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& gamma, const Tensor& mean,
                         const Tensor& invstd, const Shards& sh, Tensor& dx, Tensor& dgamma, Tensor& dbeta) {
  backward(dy, Tensor(), x, gamma, mean, invstd, sh, dx, dgamma, dbeta);
}
void batch_norm_relu_backward(const Tensor& dy, const Tensor& y, const Tensor& x, const Tensor& gamma,
                              const Tensor& mean, const Tensor& invstd, const Shards& sh, Tensor& dx, Tensor& dgamma,
                              Tensor& dbeta) {
  backward(dy, y, x, gamma, mean, invstd, sh, dx, dgamma, dbeta);
}

// running = (1−m)·running + m·batch (eq. BN-2)
void update_running(Tensor& running, const Tensor& batch, double momentum) {
  dispatch(running.dtype(), "update_running", [&](auto t) {
    using T = decltype(t);
    const T m = static_cast<T>(momentum);
    T* r = running.data<T>();
    const T* b = batch.data<T>();
    for (int64_t i = 0; i < running.numel(); ++i) r[i] = (T(1) - m) * r[i] + m * b[i];
  });
}

}  // namespace cytocon::cpu

// Supervised contrastive loss (docs/design.md eqs. 1–2; docs/math.md "SupCon") on the whole batch:
//   s_ik = z_i·z_k / τ,  lse_i = log Σ_{k≠i} exp(s_ik)  (row max subtracted for stability),
//   L_i = −(1/|P(i)|) Σ_{j∈P(i)} (s_ij − lse_i),  P(i) = {j ≠ i : y_j = y_i},
//   L = (1/N) Σ_i L_i, with L_i = 0 for an anchor without positives (it still counts in N).
// Gradient (docs/math.md eq. SC-4): G_ik = [|P(i)|>0]·(softmax_i(k) − [k∈P(i)]/|P(i)|)/N for
// k ≠ i (G_ii = 0), dL/dz_i = (1/τ) Σ_k (G_ik + G_ki) z_k. All sums run in index order.
#include <cmath>
#include <limits>
#include <vector>

#include "engine/cpu/dispatch.h"
#include "engine/cpu/kernels.h"

namespace cytocon::cpu {

namespace {

// Similarities s = z·zᵀ/τ, row by row: s_ik = (Σ_e z_ie·z_ke)/τ, the sum over e in order
// (vectorised across k through zᵀ; S is exactly symmetric).
template <class T>
std::vector<T> similarities(int64_t n, int64_t d, const T* z, T tau) {
  std::vector<T> zt(static_cast<size_t>(n * d)), s(static_cast<size_t>(n * n));
  for (int64_t k = 0; k < n; ++k)
    for (int64_t e = 0; e < d; ++e) zt[e * n + k] = z[k * d + e];
#pragma omp parallel for schedule(static) if (n * n * d >= (1 << 16))
  for (int64_t i = 0; i < n; ++i) {
    T* si = s.data() + i * n;
    for (int64_t k = 0; k < n; ++k) si[k] = T(0);
    for (int64_t e = 0; e < d; ++e) {
      const T a = z[i * d + e];
      const T* col = zt.data() + e * n;
      for (int64_t k = 0; k < n; ++k) si[k] += a * col[k];
    }
    for (int64_t k = 0; k < n; ++k) si[k] /= tau;
  }
  return s;
}

// lse_i = m_i + log Σ_{k≠i} exp(s_ik − m_i), m_i = max_{k≠i} s_ik (eq. SC-1).
template <class T>
T row_lse(int64_t n, int64_t i, const T* si) {
  T m = -std::numeric_limits<T>::infinity();
  for (int64_t k = 0; k < n; ++k)
    if (k != i && si[k] > m) m = si[k];
  T den = T(0);
  for (int64_t k = 0; k < n; ++k)
    if (k != i) den += std::exp(si[k] - m);
  return m + std::log(den);
}

int64_t positives(int64_t n, int64_t i, const int32_t* y) {
  int64_t p = 0;
  for (int64_t j = 0; j < n; ++j) p += (j != i && y[j] == y[i]);
  return p;
}

}  // namespace

template <class T>
T supcon_loss_forward(int64_t n, int64_t d, const T* z, const int32_t* y, T tau) {
  const std::vector<T> s = similarities(n, d, z, tau);
  std::vector<T> li(static_cast<size_t>(n), T(0));
#pragma omp parallel for schedule(static) if (n >= 64)
  for (int64_t i = 0; i < n; ++i) {
    const int64_t p = positives(n, i, y);
    if (p == 0) continue;  // no positive: L_i = 0 (eq. SC-2)
    const T* si = s.data() + i * n;
    const T lse = row_lse(n, i, si);
    T acc = T(0);
    for (int64_t j = 0; j < n; ++j)
      if (j != i && y[j] == y[i]) acc += si[j] - lse;
    li[i] = -acc / static_cast<T>(p);
  }
  T total = T(0);
  for (int64_t i = 0; i < n; ++i) total += li[i];
  return total / static_cast<T>(n);
}

// dz = dloss · dL/dz.
template <class T>
void supcon_loss_backward(int64_t n, int64_t d, const T* z, const int32_t* y, T tau, T dloss, T* dz) {
  std::vector<T> g = similarities(n, d, z, tau);  // overwritten row by row with G (eq. SC-3)
  const T scale = dloss / static_cast<T>(n);
#pragma omp parallel for schedule(static) if (n >= 64)
  for (int64_t i = 0; i < n; ++i) {
    T* gi = g.data() + i * n;
    const int64_t p = positives(n, i, y);
    if (p == 0) {
      for (int64_t k = 0; k < n; ++k) gi[k] = T(0);
      continue;
    }
    const T lse = row_lse(n, i, gi);
    const T inv_p = T(1) / static_cast<T>(p);
    for (int64_t k = 0; k < n; ++k) {
      const T soft = std::exp(gi[k] - lse);
      const T pos = (y[k] == y[i]) ? inv_p : T(0);
      gi[k] = k == i ? T(0) : scale * (soft - pos);
    }
  }
  // dz_i = (1/τ) Σ_k (G_ik + G_ki) z_k, k in order (eq. SC-4).
#pragma omp parallel for schedule(static) if (n * n * d >= (1 << 16))
  for (int64_t i = 0; i < n; ++i) {
    T* o = dz + i * d;
    for (int64_t e = 0; e < d; ++e) o[e] = T(0);
    for (int64_t k = 0; k < n; ++k) {
      const T h = g[i * n + k] + g[k * n + i];
      const T* zk = z + k * d;
      for (int64_t e = 0; e < d; ++e) o[e] += h * zk[e];
    }
    for (int64_t e = 0; e < d; ++e) o[e] /= tau;
  }
}

Tensor supcon_loss_forward(const Tensor& z, const Tensor& labels, double tau) {
  Tensor loss = Tensor::empty({1}, z.dtype());
  dispatch(z.dtype(), "supcon_loss", [&](auto t) {
    using T = decltype(t);
    loss.data<T>()[0] =
        supcon_loss_forward<T>(z.dim(0), z.dim(1), z.data<T>(), labels.data<int32_t>(), static_cast<T>(tau));
  });
  return loss;
}

Tensor supcon_loss_backward(const Tensor& z, const Tensor& labels, double tau, double dloss) {
  Tensor dz = Tensor::empty(z.shape(), z.dtype());
  dispatch(z.dtype(), "supcon_loss backward", [&](auto t) {
    using T = decltype(t);
    supcon_loss_backward<T>(z.dim(0), z.dim(1), z.data<T>(), labels.data<int32_t>(), static_cast<T>(tau),
                            static_cast<T>(dloss), dz.data<T>());
  });
  return dz;
}

}  // namespace cytocon::cpu

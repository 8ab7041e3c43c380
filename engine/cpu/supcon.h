// Supervised contrastive loss (DESIGN.md eqs. 1–2; docs/math.md "SupCon") on the whole batch:
//   s_ik = z_i·z_k / τ,  lse_i = log Σ_{k≠i} exp(s_ik)  (row max subtracted for stability),
//   L_i = −(1/|P(i)|) Σ_{j∈P(i)} (s_ij − lse_i),  P(i) = {j ≠ i : y_j = y_i},
//   L = (1/N) Σ_i L_i, with L_i = 0 for an anchor without positives (it still counts in N).
// Gradient (docs/math.md eq. SC-4): G_ik = [|P(i)|>0]·(softmax_i(k) − [k∈P(i)]/|P(i)|)/N for
// k ≠ i (G_ii = 0), dL/dz_i = (1/τ) Σ_k (G_ik + G_ki) z_k. All sums run in index order.
#pragma once
#include <cstdint>

namespace cytocon::cpu {

template <class T> T supcon_loss(int64_t n, int64_t d, const T* z, const int32_t* labels, T tau);
// dz = dloss · dL/dz.
template <class T>
void supcon_backward(int64_t n, int64_t d, const T* z, const int32_t* labels, T tau, T dloss, T* dz);

}  // namespace cytocon::cpu

// Supervised contrastive loss (docs/design.md eqs. 1–2) on the full global batch, N×N on the device.
//   s_ik = z_i·z_k/τ,  log D_i = m_i + log Σ_{k≠i} exp(s_ik − m_i),  m_i = max_{k≠i} s_ik,
//   L_i = log D_i − (1/|P(i)|) Σ_{j∈P(i)} s_ij,   L = (1/N) Σ_i L_i,
// an anchor without positives contributing 0 (and counting in N).
// Gradient: G_ik = (dL/N)·(exp(s_ik − log D_i) − [k∈P(i)]/|P(i)|) for k ≠ i (0 on the diagonal
// and for rows without positives), and dz_i = (1/τ) Σ_k (G_ik + G_ki) z_k.
// One block per anchor row; every sum is per thread in index order, then a fixed pairwise tree.
// The similarities and the final dz sums are rounded as the CPU's (engine/cpu/supcon_loss.cpp).
#include <cfloat>

#include "engine/cuda/common.cuh"
#include "engine/cuda/kernels.h"

namespace cytocon::cuda {
namespace {

constexpr int kRowThreads = 256;

// Fixed-order tree over the block's values (sum, or max when `take_max`). Returns the root to all.
__device__ float block_reduce(float v, float* buf, bool take_max) {
  buf[threadIdx.x] = v;
  __syncthreads();
  for (int h = kRowThreads / 2; h > 0; h >>= 1) {
    if (threadIdx.x < h) buf[threadIdx.x] = take_max ? fmaxf(buf[threadIdx.x], buf[threadIdx.x + h])
                                                     : buf[threadIdx.x] + buf[threadIdx.x + h];
    __syncthreads();
  }
  const float r = buf[0];
  __syncthreads();
  return r;
}

// Per anchor i: writes the similarities row to S, and either the row's loss (loss_rows) or its
// gradient row G (when G is non-null).
__global__ void row_kernel(const float* z, const int32_t* y, int64_t n, int64_t d, float tau, float* S,
                           float* loss_rows, float* G, float g_scale) {
  __shared__ float buf[kRowThreads];
  const int64_t i = blockIdx.x;
  float* s = S + i * n;
  const float* zi = z + i * d;
  float m = -FLT_MAX, pos_sum = 0.f, pos_count = 0.f;
  for (int64_t k = threadIdx.x; k < n; k += kRowThreads) {
    const float* zk = z + k * d;
    float dot = 0.f;  // s_ik exactly as the CPU's: Σ_e in order, then / τ
    for (int64_t e = 0; e < d; ++e) dot = __fadd_rn(dot, __fmul_rn(zi[e], zk[e]));
    const float v = __fdiv_rn(dot, tau);
    s[k] = v;
    if (k == i) continue;
    m = fmaxf(m, v);
    if (y[k] == y[i]) {
      pos_sum += v;
      pos_count += 1.f;
    }
  }
  m = block_reduce(m, buf, true);
  pos_sum = block_reduce(pos_sum, buf, false);
  pos_count = block_reduce(pos_count, buf, false);
  float e_sum = 0.f;
  for (int64_t k = threadIdx.x; k < n; k += kRowThreads)
    if (k != i) e_sum += expf(s[k] - m);
  e_sum = block_reduce(e_sum, buf, false);
  const float log_d = m + logf(e_sum);
  if (!G) {
    if (threadIdx.x == 0) loss_rows[i] = pos_count > 0.f ? log_d - pos_sum / pos_count : 0.f;
    return;
  }
  for (int64_t k = threadIdx.x; k < n; k += kRowThreads) {
    float g = 0.f;
    if (k != i && pos_count > 0.f) g = g_scale * (expf(s[k] - log_d) - (y[k] == y[i] ? 1.f / pos_count : 0.f));
    G[i * n + k] = g;
  }
}

// L = (1/N) Σ_i L_i, summed in row order by one thread (N ≤ a few thousand).
__global__ void mean_kernel(const float* loss_rows, int64_t n, float* loss) {
  if (threadIdx.x != 0 || blockIdx.x != 0) return;
  float acc = 0.f;
  for (int64_t i = 0; i < n; ++i) acc += loss_rows[i];
  loss[0] = acc / float(n);
}

// dz[i,e] = (1/τ) Σ_k (G_ik + G_ki)·z[k,e]
__global__ void dz_kernel(const float* G, const float* z, float* dz, int64_t n, int64_t d, float tau) {
  CYTOCON_GRID_LOOP(t, n * d) {
    const int64_t e = t % d, i = t / d;
    float acc = 0.f;
    for (int64_t k = 0; k < n; ++k) acc = __fadd_rn(acc, __fmul_rn(__fadd_rn(G[i * n + k], G[k * n + i]), z[k * d + e]));
    dz[t] = __fdiv_rn(acc, tau);
  }
}

}  // namespace

Tensor supcon_loss_forward(const Tensor& z, const Tensor& labels, double tau) {
  check_f32(z, "supcon_loss_forward", "z");
  const int64_t n = z.dim(0), d = z.dim(1);
  Scratch S(sizeof(float) * n * n), rows(sizeof(float) * n);
  Tensor loss = empty_f32({1});
  row_kernel<<<static_cast<unsigned>(n), kRowThreads, 0, stream()>>>(fp(z), ip(labels), n, d, float(tau),
                                                                     S.as<float>(), rows.as<float>(), nullptr, 0.f);
  CYTOCON_CUDA_LAUNCHED();
  mean_kernel<<<1, 32, 0, stream()>>>(rows.as<float>(), n, fp(loss));
  CYTOCON_CUDA_LAUNCHED();
  return loss;
}

Tensor supcon_loss_backward(const Tensor& z, const Tensor& labels, double tau, double dloss) {
  check_f32(z, "supcon_loss_backward", "z");
  const int64_t n = z.dim(0), d = z.dim(1);
  Scratch S(sizeof(float) * n * n), G(sizeof(float) * n * n);
  row_kernel<<<static_cast<unsigned>(n), kRowThreads, 0, stream()>>>(fp(z), ip(labels), n, d, float(tau),
                                                                     S.as<float>(), nullptr, G.as<float>(),
                                                                     float(dloss / double(n)));
  CYTOCON_CUDA_LAUNCHED();
  Tensor dz = empty_f32(z.shape());
  if (dz.numel())
    dz_kernel<<<blocks_for(dz.numel()), kThreads, 0, stream()>>>(G.as<float>(), fp(z), fp(dz), n, d, float(tau));
  CYTOCON_CUDA_LAUNCHED();
  return dz;
}

}  // namespace cytocon::cuda

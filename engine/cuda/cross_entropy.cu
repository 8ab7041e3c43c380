// Softmax cross-entropy, mean over the GLOBAL batch: per-sample losses
// ℓ_n = log Σ_c exp(x_nc) − x_n,y (with the row max subtracted), summed per micro-shard in sample
// order, combined by sum_shards (the fixed tree, then across ranks), divided by the global N.
#include <cfloat>
#include <cmath>
#include <vector>

#include "engine/cuda/common.cuh"
#include "engine/cuda/kernels.h"

namespace cytocon::cuda {
namespace {

__device__ inline float log_sum_exp(const float* x, int64_t c) {
  float m = -FLT_MAX;
  for (int64_t k = 0; k < c; ++k) m = fmaxf(m, x[k]);
  float s = 0.f;
  for (int64_t k = 0; k < c; ++k) s += expf(x[k] - m);
  return m + logf(s);
}

// partials[p] = Σ_{n ∈ shard p} ℓ_n
__global__ void shard_loss_kernel(const float* logits, const int32_t* y, int64_t per, int parts, int64_t c,
                                  float* partials) {
  CYTOCON_GRID_LOOP(p, parts) {
    float acc = 0.f;
    for (int64_t n = p * per; n < (p + 1) * per; ++n) {
      const float* row = logits + n * c;
      acc += log_sum_exp(row, c) - row[y[n]];
    }
    partials[p] = acc;
  }
}

// dx = scale·(softmax(x) − onehot(y)), scale = dloss / global N
__global__ void backward_kernel(const float* logits, const int32_t* y, float* dx, int64_t n, int64_t c, float scale) {
  CYTOCON_GRID_LOOP(r, n) {
    const float* row = logits + r * c;
    const float lse = log_sum_exp(row, c);
    for (int64_t k = 0; k < c; ++k) dx[r * c + k] = scale * (expf(row[k] - lse) - (k == y[r] ? 1.f : 0.f));
  }
}

}  // namespace

Tensor cross_entropy_forward(const Tensor& logits, const Tensor& labels, const Shards& sh) {
  check_f32(logits, "cross_entropy_forward", "logits");
  const int64_t n = logits.dim(0), c = logits.dim(1);
  const int parts = sh.count;
  const int64_t per = sh.shard_size(n);
  Scratch partials(sizeof(float) * parts);
  shard_loss_kernel<<<blocks_for(parts, 64), 64, 0, stream()>>>(fp(logits), ip(labels), per, parts, c,
                                                               partials.as<float>());
  CYTOCON_CUDA_LAUNCHED();
  std::vector<float> host(parts);
  to_host(host.data(), partials.get(), sizeof(float) * parts);
  sum_shards(sh, host.data(), 1);
  const float mean = host[0] / static_cast<float>(sh.global_n(n));
  Tensor loss = empty_f32({1});
  to_device(fp(loss), &mean, sizeof(float));
  return loss;
}

Tensor cross_entropy_backward(const Tensor& logits, const Tensor& labels, const Shards& sh, double dloss) {
  check_f32(logits, "cross_entropy_backward", "logits");
  const int64_t n = logits.dim(0), c = logits.dim(1);
  Tensor dx = empty_f32(logits.shape());
  const float scale = static_cast<float>(dloss / static_cast<double>(sh.global_n(n)));
  if (n) backward_kernel<<<blocks_for(n, 64), 64, 0, stream()>>>(fp(logits), ip(labels), fp(dx), n, c, scale);
  CYTOCON_CUDA_LAUNCHED();
  return dx;
}

}  // namespace cytocon::cuda

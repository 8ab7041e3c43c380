// Softmax cross-entropy, mean over the GLOBAL batch: per-sample losses
// ℓ_n = log Σ_c exp(x_nc) − x_n,y (with the row max subtracted), summed per micro-shard in sample
// order, combined by sum_shards (the fixed tree, then across ranks), divided by the global N.
// Also top-k (no gradient): ties go to the lower class index.
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

// Selection by the order (score descending, index ascending): the t-th pick is the best element
// strictly after pick t−1 in that order.
__global__ void topk_kernel(const float* scores, int32_t* out, int64_t n, int64_t c, int k) {
  CYTOCON_GRID_LOOP(r, n) {
    const float* row = scores + r * c;
    float prev_s = FLT_MAX;
    int64_t prev_i = -1;
    for (int t = 0; t < k; ++t) {
      int64_t best = -1;
      for (int64_t j = 0; j < c; ++j) {
        const float s = row[j];
        const bool after_prev = prev_i < 0 || s < prev_s || (s == prev_s && j > prev_i);
        if (!after_prev) continue;
        if (best < 0 || s > row[best]) best = j;
      }
      out[r * k + t] = static_cast<int32_t>(best);
      prev_s = row[best];
      prev_i = best;
    }
  }
}

void check_ce(const Tensor& logits, const Tensor& labels, const char* op) {
  check_f32(logits, op, "logits");
  check_i32(labels, op, "labels");
  check(logits.ndim() == 2 && logits.dim(1) > 0,
        std::string("cuda ") + op + ": logits must be [N,C] with C > 0, got " + shape_str(logits.shape()));
  check_shape(labels, {logits.dim(0)}, (std::string("cuda ") + op + ": labels").c_str());
  const std::vector<int32_t> y = labels.to_vector<int32_t>();
  for (size_t i = 0; i < y.size(); ++i)
    check(y[i] >= 0 && y[i] < logits.dim(1), std::string("cuda ") + op + ": label " + std::to_string(y[i]) +
                                                 " of sample " + std::to_string(i) + " is outside [0," +
                                                 std::to_string(logits.dim(1)) + ")");
}

}  // namespace

Tensor cross_entropy_forward(const Tensor& logits, const Tensor& labels, const Shards& sh) {
  check_ce(logits, labels, "cross_entropy_forward");
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
  check_ce(logits, labels, "cross_entropy_backward");
  const int64_t n = logits.dim(0), c = logits.dim(1);
  Tensor dx = empty_f32(logits.shape());
  const float scale = static_cast<float>(dloss / static_cast<double>(sh.global_n(n)));
  if (n) backward_kernel<<<blocks_for(n, 64), 64, 0, stream()>>>(fp(logits), ip(labels), fp(dx), n, c, scale);
  CYTOCON_CUDA_LAUNCHED();
  return dx;
}

Tensor topk(const Tensor& scores, int k) {
  check_f32(scores, "topk", "scores");
  check(scores.ndim() == 2, "cuda topk: scores must be [N,C], got " + shape_str(scores.shape()));
  check(k >= 1 && k <= scores.dim(1),
        "cuda topk: k = " + std::to_string(k) + " must be in [1, " + std::to_string(scores.dim(1)) + "]");
  const int64_t n = scores.dim(0), c = scores.dim(1);
  const std::vector<float> host = scores.to_vector<float>();  // evaluation only: the check is cheap
  for (size_t i = 0; i < host.size(); ++i)
    check(!std::isnan(host[i]), "cuda topk: score of sample " + std::to_string(i / c) + ", class " +
                                    std::to_string(i % c) + " is NaN (expected finite scores)");
  Tensor out = Tensor::empty({n, k}, DType::i32, Device::cuda);
  if (n)
    topk_kernel<<<blocks_for(n, 64), 64, 0, stream()>>>(fp(scores), static_cast<int32_t*>(out.raw()), n, c, k);
  CYTOCON_CUDA_LAUNCHED();
  return out;
}

}  // namespace cytocon::cuda

// BatchNorm over every dim but the last (channels), DESIGN.md "BatchNorm".
// Training statistics: per micro-shard Moments (count, mean, M2 = Σ(x−mean)², two passes over
// the shard's rows with reduce.cuh's fixed-order sums), merged with Chan's formula along the
// fixed tree (merge_moments, on the host: C values per shard) — so the result is the same for
// any number of ranks. Backward sums Σdy and Σdy·x̂ go per micro-shard through sum_shards.
#include <cmath>
#include <vector>

#include "engine/cuda/common.cuh"
#include "engine/cuda/kernels.h"
#include "engine/cuda/reduce.cuh"

namespace cytocon::cuda {
namespace {

struct Value {
  const float* x;
  int c_count;
  __device__ float operator()(int, int64_t r, int c) const { return x[r * c_count + c]; }
};
struct SquaredDeviation {  // (x − mean of its shard)²
  const float* x;
  const float* shard_mean;  // [shards][C]
  int c_count;
  __device__ float operator()(int s, int64_t r, int c) const {
    const float d = x[r * c_count + c] - shard_mean[s * c_count + c];
    return d * d;
  }
};
struct BackwardTerms {  // columns [0,C): dy; [C,2C): dy·x̂
  const float* dy;
  const float* x;
  const float* mean;
  const float* invstd;
  int c_count;
  __device__ float operator()(int, int64_t r, int col) const {
    const int c = col < c_count ? col : col - c_count;
    const float g = dy[r * c_count + c];
    if (col < c_count) return g;
    return g * ((x[r * c_count + c] - mean[c]) * invstd[c]);
  }
};

__global__ void divide_kernel(float* a, float n, int64_t len) {
  CYTOCON_GRID_LOOP(i, len) a[i] = a[i] / n;
}

// y = γ·x̂ + β, x̂ = (x − μ)·invstd
__global__ void normalize_kernel(const float* x, const float* gamma, const float* beta, const float* mean,
                                 const float* invstd, float* y, int64_t total, int c_count) {
  CYTOCON_GRID_LOOP(t, total) {
    const int c = static_cast<int>(t % c_count);
    y[t] = gamma[c] * ((x[t] - mean[c]) * invstd[c]) + beta[c];
  }
}
__global__ void infer_kernel(const float* x, const float* gamma, const float* beta, const float* rmean,
                             const float* rvar, float eps, float* y, int64_t total, int c_count) {
  CYTOCON_GRID_LOOP(t, total) {
    const int c = static_cast<int>(t % c_count);
    const float invstd = 1.f / sqrtf(rvar[c] + eps);
    y[t] = gamma[c] * ((x[t] - rmean[c]) * invstd) + beta[c];
  }
}
// dx = γ·invstd·(dy − Σdy/M − x̂·Σ(dy·x̂)/M), M the global number of rows.
__global__ void backward_kernel(const float* dy, const float* x, const float* gamma, const float* mean,
                                const float* invstd, const float* dbeta, const float* dgamma, float inv_m, float* dx,
                                int64_t total, int c_count) {
  CYTOCON_GRID_LOOP(t, total) {
    const int c = static_cast<int>(t % c_count);
    const float xhat = (x[t] - mean[c]) * invstd[c];
    dx[t] = gamma[c] * invstd[c] * (dy[t] - dbeta[c] * inv_m - xhat * (dgamma[c] * inv_m));
  }
}

struct Layout {
  int64_t n, c, rows_per_sample;
};
Layout layout_of(const Tensor& x, const char* op) {
  check(x.ndim() == 2 || x.ndim() == 4,
        std::string("cuda ") + op + ": x must be [N,C] or NHWC [N,H,W,C], got " + shape_str(x.shape()));
  const int64_t n = x.dim(0), c = x.dim(-1);
  return {n, c, n && c ? x.numel() / (n * c) : 0};
}
void check_channels(const Tensor& t, int64_t c, const char* op, const char* name) {
  check_f32(t, op, name);
  check_shape(t, {c}, (std::string("cuda ") + op + ": " + name).c_str());
}
void upload_async(float* dst, const std::vector<float>& src) {
  CYTOCON_CUDA_CHECK(
      cudaMemcpyAsync(dst, src.data(), sizeof(float) * src.size(), cudaMemcpyHostToDevice, stream()));
}

}  // namespace

void batch_norm_forward_train(const Tensor& x, const Tensor& gamma, const Tensor& beta, double eps,
                              const Shards& sh, Tensor& y, Tensor& mean, Tensor& invstd, Tensor& var_unbiased) {
  const char* op = "batch_norm_forward_train";
  check_f32(x, op, "x");
  const Layout L = layout_of(x, op);
  check_channels(gamma, L.c, op, "gamma");
  check_channels(beta, L.c, op, "beta");
  const int parts = sh.count;
  const int64_t rows = sh.shard_size(L.n) * L.rows_per_sample, C = L.c;
  // stats = [mean per shard][C] followed by [M2 per shard][C]
  Scratch stats(sizeof(float) * 2 * parts * C);
  float* shard_mean = stats.as<float>();
  float* shard_m2 = shard_mean + parts * C;
  shard_column_sums(Value{fp(x), int(C)}, parts, rows, int(C), shard_mean);
  if (parts * C > 0) {
    divide_kernel<<<blocks_for(parts * C), kThreads, 0, stream()>>>(shard_mean, float(rows), parts * C);
    CYTOCON_CUDA_LAUNCHED();
  }
  shard_column_sums(SquaredDeviation{fp(x), shard_mean, int(C)}, parts, rows, int(C), shard_m2);
  std::vector<float> host(2 * parts * C);
  to_host(host.data(), stats.get(), sizeof(float) * host.size());
  std::vector<Moments<float>> m(parts * C);
  for (int64_t i = 0; i < parts * C; ++i) m[i] = {float(rows), host[i], host[parts * C + i]};
  merge_moments(sh, m.data(), C);
  std::vector<float> mu(C), is(C), vu(C);
  for (int64_t c = 0; c < C; ++c) {
    const float var = m[c].n > 0 ? m[c].m2 / m[c].n : 0.f;
    mu[c] = m[c].mean;
    is[c] = 1.f / std::sqrt(var + static_cast<float>(eps));
    vu[c] = m[c].n > 1 ? m[c].m2 / (m[c].n - 1) : 0.f;
  }
  mean = empty_f32({C});
  invstd = empty_f32({C});
  var_unbiased = empty_f32({C});
  upload_async(fp(mean), mu);
  upload_async(fp(invstd), is);
  upload_async(fp(var_unbiased), vu);
  y = empty_f32(x.shape());
  if (x.numel())
    normalize_kernel<<<blocks_for(x.numel()), kThreads, 0, stream()>>>(fp(x), fp(gamma), fp(beta), fp(mean), fp(invstd),
                                                                      fp(y), x.numel(), int(C));
  CYTOCON_CUDA_LAUNCHED();
  CYTOCON_CUDA_CHECK(cudaStreamSynchronize(stream()));  // the host vectors above die here
}

Tensor batch_norm_forward_infer(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                const Tensor& running_mean, const Tensor& running_var, double eps) {
  const char* op = "batch_norm_forward_infer";
  check_f32(x, op, "x");
  const Layout L = layout_of(x, op);
  check_channels(gamma, L.c, op, "gamma");
  check_channels(beta, L.c, op, "beta");
  check_channels(running_mean, L.c, op, "running_mean");
  check_channels(running_var, L.c, op, "running_var");
  Tensor y = empty_f32(x.shape());
  if (x.numel())
    infer_kernel<<<blocks_for(x.numel()), kThreads, 0, stream()>>>(fp(x), fp(gamma), fp(beta), fp(running_mean),
                                                                  fp(running_var), float(eps), fp(y), x.numel(),
                                                                  int(L.c));
  CYTOCON_CUDA_LAUNCHED();
  return y;
}

void batch_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& gamma, const Tensor& mean,
                         const Tensor& invstd, const Shards& sh, Tensor& dx, Tensor& dgamma, Tensor& dbeta) {
  const char* op = "batch_norm_backward";
  check_f32(x, op, "x");
  check_f32(dy, op, "dy");
  check(dy.shape() == x.shape(), "cuda batch_norm_backward: dy " + shape_str(dy.shape()) + " vs x " + shape_str(x.shape()));
  const Layout L = layout_of(x, op);
  check_channels(gamma, L.c, op, "gamma");
  check_channels(mean, L.c, op, "mean");
  check_channels(invstd, L.c, op, "invstd");
  const int parts = sh.count;
  const int64_t rows = sh.shard_size(L.n) * L.rows_per_sample, C = L.c;
  Scratch sums(sizeof(float) * parts * 2 * C);
  shard_column_sums(BackwardTerms{fp(dy), fp(x), fp(mean), fp(invstd), int(C)}, parts, rows, int(2 * C),
                    sums.as<float>());
  std::vector<float> host(parts * 2 * C);
  to_host(host.data(), sums.get(), sizeof(float) * host.size());
  sum_shards(sh, host.data(), 2 * C);
  dbeta = empty_f32({C});
  dgamma = empty_f32({C});
  CYTOCON_CUDA_CHECK(cudaMemcpyAsync(fp(dbeta), host.data(), sizeof(float) * C, cudaMemcpyHostToDevice, stream()));
  CYTOCON_CUDA_CHECK(
      cudaMemcpyAsync(fp(dgamma), host.data() + C, sizeof(float) * C, cudaMemcpyHostToDevice, stream()));
  const int64_t m_global = sh.global_n(L.n) * L.rows_per_sample;
  dx = empty_f32(x.shape());
  if (x.numel())
    backward_kernel<<<blocks_for(x.numel()), kThreads, 0, stream()>>>(
        fp(dy), fp(x), fp(gamma), fp(mean), fp(invstd), fp(dbeta), fp(dgamma), 1.f / float(m_global), fp(dx),
        x.numel(), int(C));
  CYTOCON_CUDA_LAUNCHED();
  CYTOCON_CUDA_CHECK(cudaStreamSynchronize(stream()));
}

}  // namespace cytocon::cuda

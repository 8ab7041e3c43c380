// BatchNorm over every dim but the last (channels), DESIGN.md "BatchNorm".
// Training statistics: per micro-shard Moments (count, mean, M2 = Σ(x−mean)², two passes over
// the shard's rows with reduce.cuh's fixed-order sums), merged with Chan's formula along the
// fixed tree (merge_moments, on the host: C values per shard) — so the result is the same for
// any number of ranks. Backward sums Σdy and Σdy·(x−μ) go per micro-shard through sum_shards.
// The per-channel arithmetic between the sums and the elementwise passes (a = γ·invstd, ...) is
// the CPU reference's, done on the host in float32 (C values).
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
struct BackwardTerms {  // columns [0,C): dy; [C,2C): dy·(x − μ)
  const float* dy;
  const float* x;
  const float* mean;
  int c_count;
  __device__ float operator()(int, int64_t r, int col) const {
    const int c = col < c_count ? col : col - c_count;
    const float g = dy[r * c_count + c];
    if (col < c_count) return g;
    return g * (x[r * c_count + c] - mean[c]);
  }
};

__global__ void divide_kernel(float* a, float n, int64_t len) {
  CYTOCON_GRID_LOOP(i, len) a[i] = a[i] / n;
}

// Per-channel elementwise kernels over [rows][C]: launched with a grid whose thread count is a
// multiple of C when C divides 256 (every width of the network), so each thread keeps one channel
// and its coefficients in registers (no integer division per element).
inline unsigned channel_blocks(int64_t total) {
  const int64_t b = (total + kThreads - 1) / kThreads;
  return static_cast<unsigned>(b < 1 ? 1 : (b > 16384 ? 16384 : b));
}

// y = x·a + b per channel, a = γ·invstd, b = β − μ·a (forward: batch or running statistics)
__global__ void affine_kernel(const float* x, const float* a, const float* b, float* y, int64_t total, int c_count) {
  const int64_t start = blockIdx.x * int64_t(blockDim.x) + threadIdx.x, stride = int64_t(gridDim.x) * blockDim.x;
  if (stride % c_count == 0) {
    const int c = static_cast<int>(start % c_count);
    const float ac = a[c], bc = b[c];
    for (int64_t t = start; t < total; t += stride) y[t] = x[t] * ac + bc;
  } else {
    for (int64_t t = start; t < total; t += stride) {
      const int c = static_cast<int>(t % c_count);
      y[t] = x[t] * a[c] + b[c];
    }
  }
}
// dx = (a·dy + b·x) + k per channel (eq. BN-5 with the sums folded into a, b, k on the host)
__global__ void backward_kernel(const float* dy, const float* x, const float* abk, float* dx, int64_t total,
                                int c_count) {
  const float* a = abk;
  const float* b = abk + c_count;
  const float* k = abk + 2 * c_count;
  const int64_t start = blockIdx.x * int64_t(blockDim.x) + threadIdx.x, stride = int64_t(gridDim.x) * blockDim.x;
  if (stride % c_count == 0) {
    const int c = static_cast<int>(start % c_count);
    const float ac = a[c], bc = b[c], kc = k[c];
    for (int64_t t = start; t < total; t += stride) dx[t] = (ac * dy[t] + bc * x[t]) + kc;
  } else {
    for (int64_t t = start; t < total; t += stride) {
      const int c = static_cast<int>(t % c_count);
      dx[t] = (a[c] * dy[t] + b[c] * x[t]) + k[c];
    }
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
  const float count = m[0].n;
  check(count > 1, "batch_norm: " + std::to_string(static_cast<int64_t>(count)) +
                       " value(s) per channel in the global batch, expected more than 1 in training mode");
  const std::vector<float> gm = gamma.to_vector<float>(), bt = beta.to_vector<float>();
  // The CPU reference's arithmetic, value for value (engine/cpu/backend.cpp).
  std::vector<float> mu(C), is(C), vu(C), ab(2 * C);
  for (int64_t c = 0; c < C; ++c) {
    const float var = m[c].m2 / count;  // biased: normalisation
    mu[c] = m[c].mean;
    is[c] = 1.f / std::sqrt(var + static_cast<float>(eps));
    vu[c] = m[c].m2 / (count - 1.f);  // unbiased: running statistics
    ab[c] = gm[c] * is[c];
    ab[C + c] = bt[c] - mu[c] * ab[c];
  }
  mean = empty_f32({C});
  invstd = empty_f32({C});
  var_unbiased = empty_f32({C});
  upload_async(fp(mean), mu);
  upload_async(fp(invstd), is);
  upload_async(fp(var_unbiased), vu);
  Scratch ab_dev(sizeof(float) * 2 * C);
  upload_async(ab_dev.as<float>(), ab);
  y = empty_f32(x.shape());
  if (x.numel())
    affine_kernel<<<channel_blocks(x.numel()), kThreads, 0, stream()>>>(fp(x), ab_dev.as<float>(), ab_dev.as<float>() + C,
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
  const std::vector<float> gm = gamma.to_vector<float>(), bt = beta.to_vector<float>(),
                           rm = running_mean.to_vector<float>(), rv = running_var.to_vector<float>();
  const int64_t C = L.c;
  std::vector<float> ab(2 * C);
  for (int64_t c = 0; c < C; ++c) {
    ab[c] = gm[c] / std::sqrt(rv[c] + static_cast<float>(eps));
    ab[C + c] = bt[c] - rm[c] * ab[c];
  }
  Scratch ab_dev(sizeof(float) * 2 * C);
  upload_async(ab_dev.as<float>(), ab);
  Tensor y = empty_f32(x.shape());
  if (x.numel())
    affine_kernel<<<channel_blocks(x.numel()), kThreads, 0, stream()>>>(fp(x), ab_dev.as<float>(), ab_dev.as<float>() + C,
                                                                   fp(y), x.numel(), int(C));
  CYTOCON_CUDA_LAUNCHED();
  CYTOCON_CUDA_CHECK(cudaStreamSynchronize(stream()));
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
  shard_column_sums(BackwardTerms{fp(dy), fp(x), fp(mean), int(C)}, parts, rows, int(2 * C), sums.as<float>());
  std::vector<float> host(parts * 2 * C);
  to_host(host.data(), sums.get(), sizeof(float) * host.size());
  sum_shards(sh, host.data(), 2 * C);
  const std::vector<float> gm = gamma.to_vector<float>(), mu = mean.to_vector<float>(), is = invstd.to_vector<float>();
  const float count = static_cast<float>(sh.global_n(L.n) * L.rows_per_sample);  // values per channel, all ranks
  std::vector<float> db(C), dg(C), abk(3 * C);
  for (int64_t c = 0; c < C; ++c) {
    const float sdy = host[c];               // Σ dy
    const float sdyxh = host[C + c] * is[c];  // Σ dy·x̂ = invstd·Σ dy·(x−μ)
    db[c] = sdy;
    dg[c] = sdyxh;
    // dx = γ·invstd/N·(N·dy − Σdy − x̂·Σdy·x̂) = a·dy + b·x + k
    const float a = gm[c] * is[c], b = -(a * is[c] * sdyxh) / count;
    abk[c] = a;
    abk[C + c] = b;
    abk[2 * C + c] = -(a * sdy) / count - b * mu[c];
  }
  dbeta = empty_f32({C});
  dgamma = empty_f32({C});
  upload_async(fp(dbeta), db);
  upload_async(fp(dgamma), dg);
  Scratch abk_dev(sizeof(float) * 3 * C);
  upload_async(abk_dev.as<float>(), abk);
  dx = empty_f32(x.shape());
  if (x.numel())
    backward_kernel<<<channel_blocks(x.numel()), kThreads, 0, stream()>>>(fp(dy), fp(x), abk_dev.as<float>(), fp(dx),
                                                                     x.numel(), int(C));
  CYTOCON_CUDA_LAUNCHED();
  CYTOCON_CUDA_CHECK(cudaStreamSynchronize(stream()));
}

}  // namespace cytocon::cuda

// BatchNorm over every dim but the last (channels), docs/design.md "BatchNorm", entirely on the
// device (no host round trip: a step can be captured in a CUDA graph).
// Training statistics: per micro-shard Moments (count, mean, M2 = Σ(x−mean)², two passes over
// the shard's rows with reduce.cuh's fixed-order sums), merged with Chan's formula along the
// fixed tree of engine/shards.h (then across ranks: all-gather of the subtree roots, same tree).
// Backward sums Σdy and Σdy·(x−μ) go per micro-shard through the same tree.
// The per-channel arithmetic (Chan merge, invstd, a = γ·invstd, ...) and the elementwise passes
// (y = (x−μ)·a + β, dx = a·dy + b·(x−μ) + k) are the CPU reference's (engine/shards.cpp,
// engine/cpu/batch_norm.cpp) operation for operation, with explicitly
// rounded intrinsics (__fadd_rn ...) so that no multiply-add is fused: the host's bits.
// BatchNorm + ReLU (docs/math.md "BatchNorm + ReLU") is the same code with max(0, ·) in the output
// pass and dz = dy·[y > 0] read on the fly in the backward sums and the dx pass (relu_kernel's
// and relu_backward_kernel's expressions, relu.cu): the BN output is never stored.
// Also the running statistics' update (eq. BN-2).
// Storage: x, y, dy, dx are float32 or, in precision bf16, bfloat16 (T); every sum, statistic and
// coefficient is float32, and y, dx are the float results rounded to T (docs/cuda.md "bf16").
#include "engine/cuda/common.cuh"
#include "engine/cuda/kernels.h"
#include "engine/cuda/reduce.cuh"

namespace cytocon::cuda {
namespace {

using Mom = Moments<float>;

template <class T> struct Value {
  const T* x;
  int c_count;
  __device__ float operator()(int, int64_t r, int c) const { return ld(x[r * c_count + c]); }
};
template <class T> struct SquaredDeviation {  // (x − mean of its shard)²
  const T* x;
  const float* shard_mean;  // [shards][C]
  int c_count;
  __device__ float operator()(int s, int64_t r, int c) const {
    const float d = ld(x[r * c_count + c]) - shard_mean[s * c_count + c];
    return d * d;
  }
};
// columns [0,C): dz; [C,2C): dz·(x − μ), dz = dy, or dy·[y > 0] when y is set
template <class T> struct BackwardTerms {
  const T* dy;
  const T* x;
  const float* mean;
  int c_count;
  const T* y;  // the fused BN+ReLU output, or null
  __device__ float operator()(int, int64_t r, int col) const {
    const int c = col < c_count ? col : col - c_count;
    const int64_t i = r * c_count + c;
    const float g = (y == nullptr || ld(y[i]) > 0.f) ? ld(dy[i]) : 0.f;
    if (col < c_count) return g;
    // Rounded products, never fused into the caller's sum: the same bits whether the compiler
    // specialises the masked and unmasked paths or not (fused BN+ReLU = BN then ReLU, bit for bit).
    return __fmul_rn(g, __fsub_rn(ld(x[i]), mean[c]));
  }
};

// shard_mean = Σx / n in place; moments[s][c] = {n, mean, M2}
__global__ void divide_kernel(float* a, float n, int64_t len) {
  CYTOCON_GRID_LOOP(i, len) a[i] = a[i] / n;
}
__global__ void pack_moments(const float* mean, const float* m2, float n, Mom* out, int64_t len) {
  CYTOCON_GRID_LOOP(i, len) out[i] = Mom{n, mean[i], m2[i]};
}

// chan_merge of engine/shards.cpp, rounding every operation as the host does.
__device__ void chan_merge_rn(Mom& a, const Mom& b) {
  if (b.n == 0.f) return;
  if (a.n == 0.f) {
    a = b;
    return;
  }
  const float n = __fadd_rn(a.n, b.n);
  const float delta = __fsub_rn(b.mean, a.mean);
  const float mean = __fadd_rn(a.mean, __fmul_rn(delta, __fdiv_rn(b.n, n)));
  const float m2 =
      __fadd_rn(__fadd_rn(a.m2, b.m2), __fmul_rn(__fmul_rn(delta, delta), __fdiv_rn(__fmul_rn(a.n, b.n), n)));
  a = Mom{n, mean, m2};
}
// One level of the fixed tree over `count` items of `channels` moments: item i ⊕= item i+stride.
__global__ void moments_level(Mom* items, int64_t channels, int count, int stride) {
  const int pairs = (count - stride + 2 * stride - 1) / (2 * stride);
  CYTOCON_GRID_LOOP(t, pairs * channels) {
    const int64_t i = (t / channels) * 2 * stride, c = t % channels;
    chan_merge_rn(items[i * channels + c], items[(i + stride) * channels + c]);
  }
}
void moments_tree(Mom* items, int64_t channels, int count) {
  for (int stride = 1; stride < count; stride *= 2) {
    const int pairs = (count - stride + 2 * stride - 1) / (2 * stride);
    moments_level<<<blocks_for(pairs * channels), kThreads, 0, stream()>>>(items, channels, count, stride);
    CYTOCON_CUDA_LAUNCHED();
  }
}
// merge_moments of engine/shards.h on device memory: result in items[0 .. channels).
void merge_moments_device(const Shards& sh, Mom* items, int64_t channels) {
  moments_tree(items, channels, sh.count);
  Comm& comm = sh.communicator();
  if (comm.size() == 1) return;
  const size_t bytes = sizeof(Mom) * static_cast<size_t>(channels);
  Scratch roots(bytes * comm.size());
  comm.all_gather(items, roots.get(), bytes, Device::cuda);
  moments_tree(roots.as<Mom>(), channels, comm.size());
  CYTOCON_CUDA_CHECK(cudaMemcpyAsync(items, roots.get(), bytes, cudaMemcpyDeviceToDevice, stream()));
}

// Per channel (engine/cpu/batch_norm.cpp): var = M2/n; invstd = 1/√(var+ε); unbiased = M2/(n−1);
// a = γ·invstd.
__global__ void forward_coefficients(const Mom* m, const float* gamma, float eps, float* mean, float* invstd,
                                     float* var_unbiased, float* a, int channels) {
  CYTOCON_GRID_LOOP(c, channels) {
    const float n = m[c].n, mu = m[c].mean;
    const float var = __fdiv_rn(m[c].m2, n);
    const float is = __fdiv_rn(1.f, __fsqrt_rn(__fadd_rn(var, eps)));
    mean[c] = mu;
    invstd[c] = is;
    var_unbiased[c] = __fdiv_rn(m[c].m2, __fsub_rn(n, 1.f));
    a[c] = __fmul_rn(gamma[c], is);
  }
}
// Inference: a = γ/√(running_var+ε).
__global__ void infer_coefficients(const float* gamma, const float* rvar, float eps, float* a, int channels) {
  CYTOCON_GRID_LOOP(c, channels) a[c] = __fdiv_rn(gamma[c], __fsqrt_rn(__fadd_rn(rvar[c], eps)));
}
// Backward (eqs. BN-3..5): dβ = Σdy; dγ = invstd·Σdy·(x−μ); dx = a·dy + b·(x−μ) + k with
// a = γ·invstd, b = −(a·invstd·dγ)/N, k = −(a·Σdy)/N.
__global__ void backward_coefficients(const float* sums, const float* gamma, const float* invstd, float count,
                                      float* dgamma, float* dbeta, float* abk, int channels) {
  CYTOCON_GRID_LOOP(c, channels) {
    const float sdy = sums[c], is = invstd[c];
    const float sdyxh = __fmul_rn(sums[channels + c], is);
    dbeta[c] = sdy;
    dgamma[c] = sdyxh;
    const float a = __fmul_rn(gamma[c], is);
    const float b = __fdiv_rn(-__fmul_rn(__fmul_rn(a, is), sdyxh), count);
    abk[c] = a;
    abk[channels + c] = b;
    abk[2 * channels + c] = __fdiv_rn(-__fmul_rn(a, sdy), count);
  }
}

// Per-channel elementwise kernels over [rows][C]: launched with a grid whose thread count is a
// multiple of C when C divides 256 (every width of the network), so each thread keeps one channel
// and its coefficients in registers (no integer division per element).
inline unsigned channel_blocks(int64_t total) {
  const int64_t b = (total + kThreads - 1) / kThreads;
  return static_cast<unsigned>(b < 1 ? 1 : (b > 16384 ? 16384 : b));
}

// The output of the fused op: max(0, v) with a NaN passing through (relu_kernel's expression).
template <bool Relu> __device__ __forceinline__ float activate(float v) {
  if (Relu) return (v > 0.f || v != v) ? v : 0.f;
  return v;
}
// dz = dy·[y > 0] (relu_backward_kernel's expression) when Mask, else dy.
template <bool Mask, class T> __device__ __forceinline__ float masked(const T* dy, const T* y, int64_t t) {
  if (Mask) return ld(y[t]) > 0.f ? ld(dy[t]) : 0.f;
  return ld(dy[t]);
}

// y = (x − μ)·a + β per channel (then max(0, ·) when Relu), rounded as the CPU's (no fused multiply-add)
template <bool Relu, class T>
__global__ void affine_kernel(const T* x, const float* mu, const float* a, const float* beta, T* y, int64_t total,
                              int c_count) {
  const int64_t start = blockIdx.x * int64_t(blockDim.x) + threadIdx.x, stride = int64_t(gridDim.x) * blockDim.x;
  if (stride % c_count == 0) {
    const int c = static_cast<int>(start % c_count);
    const float mc = mu[c], ac = a[c], bc = beta[c];
    for (int64_t t = start; t < total; t += stride)
      y[t] = st<T>(activate<Relu>(__fadd_rn(__fmul_rn(__fsub_rn(ld(x[t]), mc), ac), bc)));
  } else {
    for (int64_t t = start; t < total; t += stride) {
      const int c = static_cast<int>(t % c_count);
      y[t] = st<T>(activate<Relu>(__fadd_rn(__fmul_rn(__fsub_rn(ld(x[t]), mu[c]), a[c]), beta[c])));
    }
  }
}
// dx = (a·dz + b·(x − μ)) + k per channel, rounded as the CPU's; dz = dy·[y > 0] when Mask, else dy
template <bool Mask, class T>
__global__ void backward_kernel(const T* dy, const T* y, const T* x, const float* mu, const float* abk, T* dx,
                                int64_t total, int c_count) {
  const float* a = abk;
  const float* b = abk + c_count;
  const float* k = abk + 2 * c_count;
  const int64_t start = blockIdx.x * int64_t(blockDim.x) + threadIdx.x, stride = int64_t(gridDim.x) * blockDim.x;
  if (stride % c_count == 0) {
    const int c = static_cast<int>(start % c_count);
    const float ac = a[c], bc = b[c], kc = k[c], mc = mu[c];
    for (int64_t t = start; t < total; t += stride)
      dx[t] = st<T>(
          __fadd_rn(__fadd_rn(__fmul_rn(ac, masked<Mask>(dy, y, t)), __fmul_rn(bc, __fsub_rn(ld(x[t]), mc))), kc));
  } else {
    for (int64_t t = start; t < total; t += stride) {
      const int c = static_cast<int>(t % c_count);
      dx[t] = st<T>(__fadd_rn(
          __fadd_rn(__fmul_rn(a[c], masked<Mask>(dy, y, t)), __fmul_rn(b[c], __fsub_rn(ld(x[t]), mu[c]))), k[c]));
    }
  }
}

// r = (1−m)·r + m·b, rounded as the CPU's (no fused multiply-add): bit-identical
__global__ void running_kernel(float* r, const float* b, float keep, float m, int64_t n) {
  CYTOCON_GRID_LOOP(i, n) r[i] = __fadd_rn(__fmul_rn(keep, r[i]), __fmul_rn(m, b[i]));
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
template <class T>
void apply_affine(const Tensor& x, const float* mu, const float* a, const float* beta, bool relu, Tensor& y,
                  int64_t c) {
  y = Tensor::empty(x.shape(), x.dtype(), Device::cuda);
  if (x.numel()) {
    if (relu)
      affine_kernel<true, T><<<channel_blocks(x.numel()), kThreads, 0, stream()>>>(tp<T>(x), mu, a, beta, tp<T>(y),
                                                                                  x.numel(), int(c));
    else
      affine_kernel<false, T><<<channel_blocks(x.numel()), kThreads, 0, stream()>>>(tp<T>(x), mu, a, beta, tp<T>(y),
                                                                                   x.numel(), int(c));
  }
  CYTOCON_CUDA_LAUNCHED();
}

template <class T>
void forward_train(const Tensor& x, const Tensor& gamma, const Tensor& beta, double eps, const Shards& sh, bool relu,
                   Tensor& y, Tensor& mean, Tensor& invstd, Tensor& var_unbiased) {
  const char* op = relu ? "batch_norm_relu_forward_train" : "batch_norm_forward_train";
  const Layout L = layout_of(x, op);
  check_f32(gamma, op, "gamma");
  check_f32(beta, op, "beta");
  const int parts = sh.count;
  const int64_t rows = sh.shard_size(L.n) * L.rows_per_sample, C = L.c;
  const int64_t count = rows * sh.total;  // values per channel in the global batch
  check(count > 1, "batch_norm: " + std::to_string(count) +
                       " value(s) per channel in the global batch, expected more than 1 in training mode");
  // per shard: Σx → mean (in place), then M2 about that mean
  Scratch stats(sizeof(float) * 2 * parts * C), moments(sizeof(Mom) * parts * C);
  float* shard_mean = stats.as<float>();
  float* shard_m2 = shard_mean + parts * C;
  shard_column_sums(Value<T>{tp<T>(x), int(C)}, parts, rows, int(C), shard_mean);
  divide_kernel<<<blocks_for(parts * C), kThreads, 0, stream()>>>(shard_mean, float(rows), parts * C);
  CYTOCON_CUDA_LAUNCHED();
  shard_column_sums(SquaredDeviation<T>{tp<T>(x), shard_mean, int(C)}, parts, rows, int(C), shard_m2);
  pack_moments<<<blocks_for(parts * C), kThreads, 0, stream()>>>(shard_mean, shard_m2, float(rows),
                                                                 moments.as<Mom>(), parts * C);
  CYTOCON_CUDA_LAUNCHED();
  merge_moments_device(sh, moments.as<Mom>(), C);
  mean = empty_f32({C});
  invstd = empty_f32({C});
  var_unbiased = empty_f32({C});
  Scratch a(sizeof(float) * C);
  forward_coefficients<<<blocks_for(C), kThreads, 0, stream()>>>(moments.as<Mom>(), fp(gamma), float(eps), fp(mean),
                                                                 fp(invstd), fp(var_unbiased), a.as<float>(), int(C));
  CYTOCON_CUDA_LAUNCHED();
  apply_affine<T>(x, fp(mean), a.as<float>(), fp(beta), relu, y, C);
}

template <class T>
Tensor forward_infer(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& running_mean,
                     const Tensor& running_var, double eps, bool relu) {
  const char* op = relu ? "batch_norm_relu_forward_infer" : "batch_norm_forward_infer";
  const Layout L = layout_of(x, op);
  check_f32(gamma, op, "gamma");
  check_f32(beta, op, "beta");
  check_f32(running_mean, op, "running_mean");
  check_f32(running_var, op, "running_var");
  const int64_t C = L.c;
  Scratch a(sizeof(float) * C);
  infer_coefficients<<<blocks_for(C), kThreads, 0, stream()>>>(fp(gamma), fp(running_var), float(eps), a.as<float>(),
                                                               int(C));
  CYTOCON_CUDA_LAUNCHED();
  Tensor y;
  apply_affine<T>(x, fp(running_mean), a.as<float>(), fp(beta), relu, y, C);
  return y;
}

// y: the fused op's output (mask [y > 0]) or an undefined Tensor (plain BatchNorm).
template <class T>
void backward(const Tensor& dy, const Tensor& y, const Tensor& x, const Tensor& gamma, const Tensor& mean,
              const Tensor& invstd, const Shards& sh, Tensor& dx, Tensor& dgamma, Tensor& dbeta) {
  const bool relu = y.defined();
  const char* op = relu ? "batch_norm_relu_backward" : "batch_norm_backward";
  check_act(dy, op, "dy");
  if (relu) check_act(y, op, "y");
  const T* mask = relu ? tp<T>(y) : nullptr;
  const Layout L = layout_of(x, op);
  check_f32(gamma, op, "gamma");
  check_f32(mean, op, "mean");
  check_f32(invstd, op, "invstd");
  const int parts = sh.count;
  const int64_t rows = sh.shard_size(L.n) * L.rows_per_sample, C = L.c;
  Scratch sums(sizeof(float) * parts * 2 * C), abk(sizeof(float) * 3 * C);
  shard_column_sums(BackwardTerms<T>{tp<T>(dy), tp<T>(x), fp(mean), int(C), mask}, parts, rows, int(2 * C),
                    sums.as<float>());
  combine_shards_device(sh, sums.as<float>(), 2 * C);
  const float count = static_cast<float>(sh.global_n(L.n) * L.rows_per_sample);  // values per channel, all ranks
  dbeta = empty_f32({C});
  dgamma = empty_f32({C});
  backward_coefficients<<<blocks_for(C), kThreads, 0, stream()>>>(sums.as<float>(), fp(gamma), fp(invstd), count,
                                                                  fp(dgamma), fp(dbeta), abk.as<float>(), int(C));
  CYTOCON_CUDA_LAUNCHED();
  dx = Tensor::empty(x.shape(), x.dtype(), Device::cuda);
  if (x.numel()) {
    if (relu)
      backward_kernel<true, T><<<channel_blocks(x.numel()), kThreads, 0, stream()>>>(
          tp<T>(dy), mask, tp<T>(x), fp(mean), abk.as<float>(), tp<T>(dx), x.numel(), int(C));
    else
      backward_kernel<false, T><<<channel_blocks(x.numel()), kThreads, 0, stream()>>>(
          tp<T>(dy), nullptr, tp<T>(x), fp(mean), abk.as<float>(), tp<T>(dx), x.numel(), int(C));
  }
  CYTOCON_CUDA_LAUNCHED();
}

}  // namespace

void batch_norm_forward_train(const Tensor& x, const Tensor& gamma, const Tensor& beta, double eps,
                              const Shards& sh, Tensor& y, Tensor& mean, Tensor& invstd, Tensor& var_unbiased) {
  by_storage(x, "batch_norm_forward_train", "x", [&](auto t) {
    forward_train<decltype(t)>(x, gamma, beta, eps, sh, false, y, mean, invstd, var_unbiased);
  });
}
void batch_norm_relu_forward_train(const Tensor& x, const Tensor& gamma, const Tensor& beta, double eps,
                                   const Shards& sh, Tensor& y, Tensor& mean, Tensor& invstd, Tensor& var_unbiased) {
  by_storage(x, "batch_norm_relu_forward_train", "x", [&](auto t) {
    forward_train<decltype(t)>(x, gamma, beta, eps, sh, true, y, mean, invstd, var_unbiased);
  });
}
Tensor batch_norm_forward_infer(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                const Tensor& running_mean, const Tensor& running_var, double eps) {
  return by_storage(x, "batch_norm_forward_infer", "x", [&](auto t) {
    return forward_infer<decltype(t)>(x, gamma, beta, running_mean, running_var, eps, false);
  });
}
Tensor batch_norm_relu_forward_infer(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                     const Tensor& running_mean, const Tensor& running_var, double eps) {
  return by_storage(x, "batch_norm_relu_forward_infer", "x", [&](auto t) {
    return forward_infer<decltype(t)>(x, gamma, beta, running_mean, running_var, eps, true);
  });
}
void batch_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& gamma, const Tensor& mean,
                         const Tensor& invstd, const Shards& sh, Tensor& dx, Tensor& dgamma, Tensor& dbeta) {
  by_storage(x, "batch_norm_backward", "x",
             [&](auto t) { backward<decltype(t)>(dy, Tensor(), x, gamma, mean, invstd, sh, dx, dgamma, dbeta); });
}
void batch_norm_relu_backward(const Tensor& dy, const Tensor& y, const Tensor& x, const Tensor& gamma,
                              const Tensor& mean, const Tensor& invstd, const Shards& sh, Tensor& dx, Tensor& dgamma,
                              Tensor& dbeta) {
  by_storage(x, "batch_norm_relu_backward", "x",
             [&](auto t) { backward<decltype(t)>(dy, y, x, gamma, mean, invstd, sh, dx, dgamma, dbeta); });
}

void update_running(Tensor& running, const Tensor& batch, double momentum) {
  check_f32(running, "update_running", "running");
  check_f32(batch, "update_running", "batch");
  const int64_t n = running.numel();
  if (n)
    running_kernel<<<blocks_for(n), kThreads, 0, stream()>>>(fp(running), fp(batch),
                                                             1.f - static_cast<float>(momentum),  // as the CPU
                                                             static_cast<float>(momentum), n);
  CYTOCON_CUDA_LAUNCHED();
}

}  // namespace cytocon::cuda

// Shared plumbing of the CUDA kernels: error checks, the process stream and cuDNN handle,
// scratch buffers from the caching allocator, launch geometry, and the element-type checks (the
// other argument checks are the backends' shared ones, engine/op_checks.h).
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include <cstdint>
#include <string>

#include "engine/cuda/check.h"  // CYTOCON_CUDA_CHECK, CYTOCON_CUDA_LAUNCHED
#include "engine/cuda/cuda.h"
#include "engine/tensor.h"

namespace cytocon::cuda {

[[noreturn]] void fail_cudnn(cudnnStatus_t s, const char* what, const char* file, int line);
#define CYTOCON_CUDNN_CHECK(call)                                                      \
  do {                                                                                 \
    cudnnStatus_t s_ = (call);                                                         \
    if (s_ != CUDNN_STATUS_SUCCESS) ::cytocon::cuda::fail_cudnn(s_, #call, __FILE__, __LINE__); \
  } while (0)

cudaStream_t stream();        // the process stream (created on first use)
cudnnHandle_t cudnn_handle();  // bound to stream()

// Scratch device memory from the caching allocator, freed when it goes out of scope (safe: all
// work is ordered on the one stream, so a later kernel cannot overtake an earlier reader).
class Scratch {
 public:
  explicit Scratch(size_t bytes);
  ~Scratch();
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  void* get() const { return ptr_; }
  template <class T> T* as() const { return static_cast<T*>(ptr_); }
  size_t bytes() const { return bytes_; }

 private:
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

// Synchronous copies with the host (small vectors: per-shard partials, statistics).
void to_host(void* dst, const void* src, size_t bytes);
void to_device(void* dst, const void* src, size_t bytes);

constexpr int kThreads = 256;
inline unsigned blocks_for(int64_t n, int threads = kThreads) {
  int64_t b = (n + threads - 1) / threads;
  return static_cast<unsigned>(b < 1 ? 1 : (b > 1048576 ? 1048576 : b));  // kernels grid-stride
}

// Checks an argument is float32 (the CUDA backend has no float64 kernels).
void check_f32(const Tensor& t, const char* op, const char* name);
Tensor empty_f32(const Shape& s);
Tensor zeros_f32(const Shape& s);
// Activation storage (docs/cuda.md "bf16"): float32, or bfloat16 in precision bf16. Kernels
// templated on the storage type T load into float, compute in float and store rounded to nearest
// even (__float2bfloat16); parameters, statistics and gradients of parameters stay float32.
using bf16 = __nv_bfloat16;
__host__ __device__ inline float ld(float v) { return v; }
__host__ __device__ inline float ld(bf16 v) { return __bfloat162float(v); }
template <class T> __host__ __device__ inline T st(float v);
template <> __host__ __device__ inline float st<float>(float v) { return v; }
template <> __host__ __device__ inline bf16 st<bf16>(float v) { return __float2bfloat16(v); }
DType activation_dtype();  // bf16 in precision bf16, else f32
// Checks t is float32 or bfloat16; bfloat16 only in precision bf16.
void check_act(const Tensor& t, const char* op, const char* name);
// Calls f(float{}) or f(bf16{}) by t's storage type (after check_act).
template <class F>
decltype(auto) by_storage(const Tensor& t, const char* op, const char* name, F&& f) {
  check_act(t, op, name);
  if (t.dtype() == DType::bf16) return f(bf16{});
  return f(float{});
}
template <class T> T* tp(Tensor& t) { return static_cast<T*>(t.raw()); }
template <class T> const T* tp(const Tensor& t) { return static_cast<const T*>(t.raw()); }
inline float* fp(Tensor& t) { return static_cast<float*>(t.raw()); }
inline const float* fp(const Tensor& t) { return static_cast<const float*>(t.raw()); }
inline const int32_t* ip(const Tensor& t) { return static_cast<const int32_t*>(t.raw()); }

}  // namespace cytocon::cuda

// Grid-stride loop over [0, n).
#define CYTOCON_GRID_LOOP(i, n) \
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < (n); i += int64_t(gridDim.x) * blockDim.x)

namespace cytocon::cuda {
// b = a converted between storage types (float -> bf16 rounds to nearest even; bf16 -> float is exact).
template <class From, class To>
__global__ void convert_kernel(const From* a, To* b, int64_t n) {
  CYTOCON_GRID_LOOP(i, n) b[i] = st<To>(ld(a[i]));
}
}  // namespace cytocon::cuda

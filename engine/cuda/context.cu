// Process-wide CUDA state: device detection, the stream, the cuDNN handle, the mode setting.
#include <cstdio>
#include <mutex>

#include "engine/cuda/common.cuh"
#include "engine/cuda/kernels.h"

namespace cytocon {

bool cuda_device_usable() {
  // Any failure (no driver, driver too old for this toolkit, no device) means "no GPU": the
  // caller falls back to the CPU or reports that cuda was requested. Nothing is printed.
  static const bool usable = [] {
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
      (void)cudaGetLastError();  // clear the sticky-free error state
      return false;
    }
    if (n > 0) cuda::install_memory();
    return n > 0;
  }();
  return usable;
}

namespace {
CudaMode g_mode;
}

void set_cuda_mode(ReduceMode reduce, Precision precision) {
  if (reduce != g_mode.reduce || precision != g_mode.precision) cuda::clear_conv_plans();
  g_mode.reduce = reduce;
  g_mode.precision = precision;
}
CudaMode cuda_mode() { return g_mode; }

std::string cuda_mode_string() {
  std::string s = std::string("cuda mode=") + reduce_mode_name(g_mode.reduce) +
                  " precision=" + precision_name(g_mode.precision);
  if (cuda_device_usable()) {
    int dev = 0;
    cudaDeviceProp p{};
    if (cudaGetDevice(&dev) == cudaSuccess && cudaGetDeviceProperties(&p, dev) == cudaSuccess)
      s += std::string(" device=") + p.name + " (sm_" + std::to_string(p.major * 10 + p.minor) + ")";
  }
  s += " cudnn=" + std::to_string(cudnnGetVersion());
  return s;
}

void* cuda_stream_handle() { return cuda::stream(); }
void cuda_synchronize() { CYTOCON_CUDA_CHECK(cudaStreamSynchronize(cuda::stream())); }

namespace cuda {

void fail_cuda(cudaError_t e, const char* what, const char* file, int line) {
  fail(std::string("CUDA error ") + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ") in " + what + " at " +
       file + ":" + std::to_string(line));
}
void fail_cudnn(cudnnStatus_t s, const char* what, const char* file, int line) {
  fail(std::string("cuDNN error ") + cudnnGetErrorString(s) + " in " + what + " at " + file + ":" +
       std::to_string(line));
}

cudaStream_t stream() {
  static cudaStream_t s = [] {
    check(cuda_device_usable(), "CUDA stream requested but no usable CUDA GPU is present");
    cudaStream_t st = nullptr;
    CYTOCON_CUDA_CHECK(cudaStreamCreate(&st));  // blocking w.r.t. the legacy default stream
    return st;
  }();
  return s;
}

cudnnHandle_t cudnn_handle() {
  static cudnnHandle_t h = [] {
    cudnnHandle_t hh = nullptr;
    CYTOCON_CUDNN_CHECK(cudnnCreate(&hh));
    CYTOCON_CUDNN_CHECK(cudnnSetStream(hh, stream()));
    return hh;
  }();
  return h;
}

Scratch::Scratch(size_t bytes) : bytes_(bytes) {
  if (bytes) ptr_ = allocator_for(Device::cuda).allocate(bytes);
}
Scratch::~Scratch() {
  if (ptr_) allocator_for(Device::cuda).deallocate(ptr_, bytes_);
}

void to_host(void* dst, const void* src, size_t bytes) {
  if (!bytes) return;
  CYTOCON_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, stream()));
  CYTOCON_CUDA_CHECK(cudaStreamSynchronize(stream()));
}
void to_device(void* dst, const void* src, size_t bytes) {
  if (!bytes) return;
  CYTOCON_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream()));
  CYTOCON_CUDA_CHECK(cudaStreamSynchronize(stream()));  // the host buffer may die after return
}

namespace {
// t is of an accepted dtype (`expected` says which, for the message); that it is defined and on
// the GPU is checked before, by engine/op_checks.h.
void check_on_gpu(const Tensor& t, const char* op, const char* name, bool dtype_ok, const std::string& expected) {
  check(dtype_ok, std::string("cuda ") + op + ": " + name + " is " + dtype_name(t.dtype()) + ", expected " + expected);
}
}  // namespace

void check_f32(const Tensor& t, const char* op, const char* name) {
  check_on_gpu(t, op, name, t.dtype() == DType::f32, "float32 (the CUDA backend computes in float32)");
}
DType activation_dtype() { return cuda_mode().precision == Precision::bf16 ? DType::bf16 : DType::f32; }
void check_act(const Tensor& t, const char* op, const char* name) {
  check_on_gpu(t, op, name, t.dtype() == DType::f32 || (t.dtype() == DType::bf16 && activation_dtype() == DType::bf16),
               std::string("float32 (or bfloat16 activations in precision bf16, which is ") +
                   precision_name(cuda_mode().precision) + " now)");
}
Tensor empty_f32(const Shape& s) { return Tensor::empty(s, DType::f32, Device::cuda); }
Tensor zeros_f32(const Shape& s) { return Tensor::zeros(s, DType::f32, Device::cuda); }

}  // namespace cuda
}  // namespace cytocon

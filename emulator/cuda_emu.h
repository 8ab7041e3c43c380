// The CUDA emulator's device side (docs/cuda-emulator.md): force-included (-include) before each
// engine/cuda/*.cu file when it is compiled as plain C++ for the CPU. Kernels become host
// functions that read threadIdx/blockIdx from per-OS-thread variables set by the scheduler
// (runtime.cpp); `__shared__` arrays become static (one block runs at a time per OS thread) and
// start each block filled with NaN bytes;
// `__syncthreads` switches to the next emulated thread of the block; rewrite_launches.pl turns
// `kernel<<<grid, block, smem, stream>>>(args);` into `::cuemu::launch([&] { kernel(args); }, grid, ...);`.
//
// Device memory is host memory, so AddressSanitizer sees every out-of-bounds kernel access.
// What this does not emulate: warps running concurrently (threads of a block run one after the
// other between barriers, so a missing __syncthreads is only found when the order matters
// here too), nvcc's exact choice of FMA contractions (GCC contracts where it sees fit, below),
// the device's expf/logf (the host libm's are used), and anything of the memory model.
#pragma once

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <functional>

// rewrite_launches.pl rewrites every __shared__ declaration; one it missed fails to compile.
#undef __shared__
#define __shared__ __shared___not_rewritten_by_rewrite_launches_pl

namespace cuemu {

// The emulated thread's coordinates (one set per OS thread: kernels may be launched from
// several host threads, as the data loader's do).
// The TLS model is global-dynamic (the linker relaxes it to direct %fs accesses anyway): with the
// initial-exec model GCC picks in -fPIE code, UBSan's null check of `threadIdx.x` tests the flags
// of an `add x@gottpoff(%rip), %reg` that ld rewrites into a flag-less `lea`, and then reports a
// null pointer that is not (seen with GCC 12 and binutils 2.40 in test_emu_runtime.cu).
#define CUEMU_TLS thread_local __attribute__((tls_model("global-dynamic")))
extern CUEMU_TLS uint3 thread_idx, block_idx;
extern CUEMU_TLS dim3 block_dim, grid_dim;

// Runs body once per thread of the grid, blocks in order (x fastest), then the threads of a block
// in order (x fastest) from barrier to barrier. A bad configuration sets the error that
// cudaGetLastError returns, as a real launch does, and runs nothing.
void run_grid(const std::function<void()>& body, dim3 grid, dim3 block, size_t dynamic_smem);
void syncthreads();
// Called where a kernel declares a static __shared__ array: fills it with 0xFF bytes when the
// caller is the first thread of its block to run (the block's start), else does nothing.
void poison_shared(void* array, size_t bytes);
// The launch's dynamic shared memory (`extern __shared__ T name[]`), filled with NaN bytes.
void* dynamic_shared_base();
template <class T>
T* dynamic_shared() {
  return static_cast<T*>(dynamic_shared_base());
}

template <class Body>
void launch(const Body& body, dim3 grid, dim3 block, size_t dynamic_smem = 0, cudaStream_t = nullptr) {
  run_grid(std::function<void()>(body), grid, block, dynamic_smem);
}

}  // namespace cuemu

#define threadIdx ::cuemu::thread_idx
#define blockIdx ::cuemu::block_idx
#define blockDim ::cuemu::block_dim
#define gridDim ::cuemu::grid_dim
inline void __syncthreads() { ::cuemu::syncthreads(); }
// Device code's global min/max overloads (int and float arguments alike) and classification
// functions.
using std::isfinite;
using std::max;
using std::min;

// IEEE-rounded arithmetic intrinsics: exactly one rounding each, never fused. The emulated
// kernels are compiled with FMA contraction ON (-ffp-contract=fast), as nvcc compiles device
// code, so a kernel that claims the CPU's bits but writes a*b+c without these intrinsics is
// caught here too (where the host has FMA instructions). The empty asm keeps GCC from fusing
// the result into a neighbouring operation.
namespace cuemu {
inline float unfused(float r) {
#if defined(__x86_64__)
  asm("" : "+x"(r));
  return r;
#else
  volatile float v = r;
  return v;
#endif
}
}  // namespace cuemu
inline float __fadd_rn(float a, float b) { return ::cuemu::unfused(a + b); }
inline float __fsub_rn(float a, float b) { return ::cuemu::unfused(a - b); }
inline float __fmul_rn(float a, float b) { return ::cuemu::unfused(a * b); }
inline float __fdiv_rn(float a, float b) { return ::cuemu::unfused(a / b); }
inline float __fsqrt_rn(float a) { return ::cuemu::unfused(std::sqrt(a)); }

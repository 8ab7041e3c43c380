// The CUDA emulator's host side (docs/cuda-emulator.md): the subset of the CUDA runtime API that
// the engine calls, on host memory, and the kernel scheduler.
//
// Scheduling. A launch runs its blocks one after the other (in ascending or, for race hunting,
// descending order: CYTOCON_EMU_ORDER). The first block runs every thread as a
// fiber (ucontext): __syncthreads switches to the next thread of the block, so each thread
// reaches the barrier before any passes it, as on the device. A kernel whose first block never
// calls __syncthreads runs its other blocks as plain calls, thread after thread (fast); if one of
// those then calls __syncthreads the emulator stops with a message naming the problem.
//
// Streams are synchronous (every call completes before it returns); there is one device.
#include <ucontext.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "emulator/cuda_emu.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#define CUEMU_ASAN 1
#endif

namespace cuemu {

thread_local uint3 thread_idx, block_idx;
thread_local dim3 block_dim, grid_dim;

namespace {

thread_local cudaError_t t_last_error = cudaSuccess;

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "cuda emulator: %s\n", what);
  std::abort();
}

// ---- fibers: one per emulated thread of the block being run ----
constexpr size_t kFiberStack = size_t(256) << 10;  // generous: sanitizer builds use more stack

struct Fiber {
  ucontext_t ctx;
  std::unique_ptr<char[]> stack{new char[kFiberStack]};
  uint3 idx;
  bool done = false;
};

struct BlockRun {
  const std::function<void()>* body = nullptr;
  std::vector<Fiber> fibers;
  ucontext_t scheduler;
  Fiber* current = nullptr;  // null: running plain (no fibers)
  bool synced = false;       // some thread called __syncthreads in this launch
  bool block_start = false;  // the block's first thread is running its first stretch
  std::vector<unsigned char> dynamic_shared;
  size_t dynamic_bytes = 0;
#ifdef CUEMU_ASAN
  void* fake_stack = nullptr;
  const void* main_bottom = nullptr;
  size_t main_size = 0;
#endif
};
thread_local BlockRun t_run;

void switch_to_fiber(Fiber& f) {
#ifdef CUEMU_ASAN
  __sanitizer_start_switch_fiber(&t_run.fake_stack, f.stack.get(), kFiberStack);
#endif
  t_run.current = &f;
  thread_idx = f.idx;
  if (swapcontext(&t_run.scheduler, &f.ctx) != 0) die("swapcontext failed");
#ifdef CUEMU_ASAN
  __sanitizer_finish_switch_fiber(t_run.fake_stack, nullptr, nullptr);
#endif
  t_run.current = nullptr;
}

// finished: the fiber never resumes (its fake stack, under ASan, can go).
void back_to_scheduler([[maybe_unused]] bool finished) {
  Fiber& f = *t_run.current;
#ifdef CUEMU_ASAN
  void* fake = nullptr;
  __sanitizer_start_switch_fiber(finished ? nullptr : &fake, t_run.main_bottom, t_run.main_size);
#endif
  if (swapcontext(&f.ctx, &t_run.scheduler) != 0) die("swapcontext failed");
#ifdef CUEMU_ASAN
  __sanitizer_finish_switch_fiber(fake, nullptr, nullptr);
#endif
}

void fiber_main() {
#ifdef CUEMU_ASAN
  __sanitizer_finish_switch_fiber(nullptr, &t_run.main_bottom, &t_run.main_size);
#endif
  (*t_run.body)();
  t_run.current->done = true;
  back_to_scheduler(true);
}

__attribute__((noinline)) void prepare(Fiber& f, uint3 idx) {
  f.idx = idx;
  f.done = false;
  if (getcontext(&f.ctx) != 0) die("getcontext failed");
  f.ctx.uc_stack.ss_sp = f.stack.get();
  f.ctx.uc_stack.ss_size = kFiberStack;
  f.ctx.uc_link = nullptr;
  makecontext(&f.ctx, fiber_main, 0);
#ifdef CUEMU_ASAN
  // ASan's swapcontext interceptor clears the shadow of the stack named in the target context's
  // uc_stack on every switch, which would wipe the redzones of a suspended kernel's frame each
  // time it resumes after __syncthreads (a local-array overflow after a barrier went unreported).
  // uc_stack is only read by makecontext, so forget it; the switches are announced to ASan with
  // __sanitizer_start/finish_switch_fiber instead, and the reused stack's stale shadow (frames of
  // the previous block's fiber that never returned) is cleared here, once per fiber start.
  f.ctx.uc_stack.ss_sp = nullptr;
  f.ctx.uc_stack.ss_size = 0;
  ASAN_UNPOISON_MEMORY_REGION(f.stack.get(), kFiberStack);
#endif
}

// The order in which blocks, and a block's threads between two barriers, run: ascending, or
// with CYTOCON_EMU_ORDER=reverse descending. A kernel whose result depends on that order has a
// race on the device (threads of a block or blocks of a grid run in no fixed order there); the
// emu.reverse.* tests rerun the GPU tests that way.
bool reverse_order() {
  static const bool reverse = [] {
    const char* v = std::getenv("CYTOCON_EMU_ORDER");
    if (!v || !*v || std::strcmp(v, "forward") == 0) return false;
    if (std::strcmp(v, "reverse") == 0) return true;
    die("CYTOCON_EMU_ORDER must be forward or reverse");
  }();
  return reverse;
}
// The k-th of `count` threads or blocks to run, and a linear index as (x, y, z), x fastest.
unsigned long long nth(unsigned long long k, unsigned long long count) {
  return reverse_order() ? count - 1 - k : k;
}
uint3 coords(unsigned long long i, dim3 d) {
  return uint3{static_cast<unsigned>(i % d.x), static_cast<unsigned>(i / d.x % d.y),
               static_cast<unsigned>(i / (1ull * d.x * d.y))};
}

void run_block_fibers(unsigned threads) {
  if (t_run.fibers.size() < threads) t_run.fibers.resize(threads);
  for (unsigned i = 0; i < threads; ++i) prepare(t_run.fibers[i], coords(i, block_dim));
  // Rounds: each round runs every live thread up to its next barrier (or its end).
  for (bool live = true; live;) {
    live = false;
    for (unsigned k = 0; k < threads; ++k) {
      Fiber& f = t_run.fibers[nth(k, threads)];
      if (f.done) continue;
      switch_to_fiber(f);
      t_run.block_start = false;
      live = live || !f.done;
    }
  }
}

void run_block_plain(unsigned threads) {
  for (unsigned k = 0; k < threads; ++k) {
    thread_idx = coords(nth(k, threads), block_dim);
    (*t_run.body)();
    t_run.block_start = false;
  }
}

bool valid_configuration(dim3 g, dim3 b, size_t smem) {
  // The limits of every GPU since compute capability 3.0 (docs/cuda.md: sm_37 and later).
  const unsigned long long threads = 1ull * b.x * b.y * b.z;
  return g.x >= 1 && g.y >= 1 && g.z >= 1 && g.x <= 2147483647u && g.y <= 65535 && g.z <= 65535 && b.x >= 1 &&
         b.y >= 1 && b.z >= 1 && b.x <= 1024 && b.y <= 1024 && b.z <= 64 && threads <= 1024 && smem <= 48 * 1024;
}

}  // namespace

void run_grid(const std::function<void()>& body, dim3 grid, dim3 block, size_t dynamic_smem) {
  if (!valid_configuration(grid, block, dynamic_smem)) {
    t_last_error = cudaErrorInvalidConfiguration;
    return;
  }
  if (t_run.body) die("a kernel launched another kernel (dynamic parallelism is not emulated)");
  t_run.body = &body;
  t_run.synced = false;
  t_run.dynamic_bytes = dynamic_smem;
  if (t_run.dynamic_shared.size() < dynamic_smem) t_run.dynamic_shared.resize(dynamic_smem);
  grid_dim = grid;
  block_dim = block;
  const unsigned threads = block.x * block.y * block.z;
  const unsigned long long blocks = 1ull * grid.x * grid.y * grid.z;
  for (unsigned long long k = 0; k < blocks; ++k) {
    block_idx = coords(nth(k, blocks), grid);
    // Undefined at block start. (Guarded: with no dynamic shared memory yet, data() is null, and
    // memset(nullptr, _, 0) is undefined behaviour that UBSan stops at.)
    if (t_run.dynamic_bytes) std::memset(t_run.dynamic_shared.data(), 0xFF, t_run.dynamic_bytes);
    t_run.block_start = true;
    if (k == 0 || t_run.synced)
      run_block_fibers(threads);
    else
      run_block_plain(threads);
  }
  t_run.body = nullptr;
}

void poison_shared(void* array, size_t bytes) {
  if (t_run.block_start) std::memset(array, 0xFF, bytes);
}

void* dynamic_shared_base() {
  if (!t_run.body) die("dynamic shared memory used outside a kernel");
  return t_run.dynamic_shared.data();
}

void syncthreads() {
  if (!t_run.current)
    die("__syncthreads in a kernel whose first block never reached one (a barrier in divergent code?)");
  t_run.synced = true;
  back_to_scheduler(false);
}

}  // namespace cuemu

// ---- the CUDA runtime API subset (same signatures as cuda_runtime_api.h) ----
using cuemu::t_last_error;

namespace {
cudaError_t fail_with(cudaError_t e) {
  t_last_error = e;
  return e;
}
int g_stream_token;  // cudaStream_t handles point here (streams are synchronous)
int g_event_token;   // cudaEvent_t handles point here (always complete)

// The emulated device's memory: 16 GiB, as cudaGetDeviceProperties says; cudaMalloc beyond it
// fails with cudaErrorMemoryAllocation (without touching host memory), as on a GPU.
constexpr size_t kDeviceBytes = size_t(16) << 30;
std::mutex g_mem_mu;
std::map<void*, size_t> g_allocations;  // pointer → rounded bytes
size_t g_allocated = 0;
}  // namespace

extern "C" {

cudaError_t cudaGetDeviceCount(int* count) {
  *count = 1;
  return cudaSuccess;
}
cudaError_t cudaGetDevice(int* device) {
  *device = 0;
  return cudaSuccess;
}
cudaError_t cudaSetDevice(int device) { return device == 0 ? cudaSuccess : fail_with(cudaErrorInvalidDevice); }
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device) {
  if (device != 0) return fail_with(cudaErrorInvalidDevice);
  std::memset(prop, 0, sizeof(*prop));
  std::snprintf(prop->name, sizeof(prop->name), "cytocon CUDA emulator (CPU)");
  prop->major = 9;
  prop->minor = 0;
  prop->totalGlobalMem = kDeviceBytes;
  prop->multiProcessorCount = 1;
  prop->warpSize = 32;
  prop->maxThreadsPerBlock = 1024;
  return cudaSuccess;
}
cudaError_t cudaGetLastError() {
  const cudaError_t e = t_last_error;
  t_last_error = cudaSuccess;
  return e;
}
cudaError_t cudaPeekAtLastError() { return t_last_error; }
const char* cudaGetErrorName(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
    case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
    default: return "cudaError (emulated)";
  }
}
const char* cudaGetErrorString(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    default: return "emulated CUDA error";
  }
}

cudaError_t cudaMalloc(void** p, size_t bytes) {
  // 256-byte aligned like cudaMalloc; uninitialised bytes are filled with 0xFF (NaN as float) so a
  // kernel that reads memory nobody wrote gives NaN, not a lucky zero.
  const size_t rounded = (bytes + 255) / 256 * 256;
  *p = nullptr;
  if (!rounded) return cudaSuccess;
  std::lock_guard<std::mutex> lock(g_mem_mu);
  if (rounded > kDeviceBytes - g_allocated) return fail_with(cudaErrorMemoryAllocation);
  *p = std::aligned_alloc(256, rounded);
  if (!*p) return fail_with(cudaErrorMemoryAllocation);
  std::memset(*p, 0xFF, rounded);
  g_allocations[*p] = rounded;
  g_allocated += rounded;
#ifdef CUEMU_ASAN
  // The rounding is not the caller's: an access past `bytes` is out of bounds, as on a GPU.
  if (*p) ASAN_POISON_MEMORY_REGION(static_cast<char*>(*p) + bytes, rounded - bytes);
#endif
  return cudaSuccess;
}
cudaError_t cudaFree(void* p) {
  if (!p) return cudaSuccess;
  {
    std::lock_guard<std::mutex> lock(g_mem_mu);
    auto it = g_allocations.find(p);
    if (it == g_allocations.end()) return fail_with(cudaErrorInvalidValue);  // not from cudaMalloc
    g_allocated -= it->second;
    g_allocations.erase(it);
  }
  std::free(p);
  return cudaSuccess;
}
cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind) {
  if (bytes) std::memmove(dst, src, bytes);
  return cudaSuccess;
}
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, cudaStream_t) {
  return cudaMemcpy(dst, src, bytes, kind);
}
cudaError_t cudaMemset(void* p, int value, size_t bytes) {
  if (bytes) std::memset(p, value, bytes);
  return cudaSuccess;
}
cudaError_t cudaMemsetAsync(void* p, int value, size_t bytes, cudaStream_t) { return cudaMemset(p, value, bytes); }
cudaError_t cudaMemGetInfo(size_t* free_bytes, size_t* total) {
  std::lock_guard<std::mutex> lock(g_mem_mu);
  *free_bytes = kDeviceBytes - g_allocated;
  *total = kDeviceBytes;
  return cudaSuccess;
}
cudaError_t cudaStreamCreate(cudaStream_t* s) {
  *s = reinterpret_cast<cudaStream_t>(&g_stream_token);
  return cudaSuccess;
}
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned) { return cudaStreamCreate(s); }
cudaError_t cudaStreamDestroy(cudaStream_t) { return cudaSuccess; }
cudaError_t cudaStreamQuery(cudaStream_t) { return cudaSuccess; }  // all work is already done
cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }
cudaError_t cudaDeviceSynchronize() { return cudaSuccess; }
// Events: every stream's work is done when it is enqueued, so an event is always complete.
cudaError_t cudaEventCreate(cudaEvent_t* e) {
  *e = reinterpret_cast<cudaEvent_t>(&g_event_token);
  return cudaSuccess;
}
cudaError_t cudaEventCreateWithFlags(cudaEvent_t* e, unsigned) { return cudaEventCreate(e); }
cudaError_t cudaEventDestroy(cudaEvent_t) { return cudaSuccess; }
cudaError_t cudaEventRecord(cudaEvent_t, cudaStream_t) { return cudaSuccess; }
cudaError_t cudaEventQuery(cudaEvent_t) { return cudaSuccess; }
cudaError_t cudaEventSynchronize(cudaEvent_t) { return cudaSuccess; }
cudaError_t cudaStreamWaitEvent(cudaStream_t, cudaEvent_t, unsigned) { return cudaSuccess; }
// Page-locked host memory is plain host memory here.
cudaError_t cudaMallocHost(void** p, size_t bytes) {
  *p = bytes ? std::malloc(bytes) : nullptr;
  return bytes && !*p ? fail_with(cudaErrorMemoryAllocation) : cudaSuccess;
}
cudaError_t cudaFreeHost(void* p) {
  std::free(p);
  return cudaSuccess;
}

}  // extern "C"

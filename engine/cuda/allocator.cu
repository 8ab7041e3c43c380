// Caching device allocator and the cross-device copy, registered with engine/tensor.h.
// cudaMalloc/cudaFree synchronise the device and cost tens of microseconds; a training step
// allocates the same sizes every step, so freed blocks are kept in per-size free lists and
// handed out again. Sizes are rounded (512 B below 1 MiB, 2 MiB above) so that near sizes share
// lists. All kernels run on one stream, so a block freed by the host may be reused at once: any
// kernel that still reads it was enqueued before the kernel that will overwrite it.
#include <cstring>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "engine/cuda/common.cuh"
#include "engine/cuda/kernels.h"

#if defined(CYTOCON_CUDA_EMULATOR) && defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#endif

namespace cytocon {
namespace cuda {
namespace {

// Under the CUDA emulator with AddressSanitizer (docs/cuda-emulator.md) device memory is host
// memory: only the `usable` bytes a caller asked for are addressable, not the rounding up to
// `capacity` nor a block waiting in the cache, so a kernel's access past a tensor's end or to a
// freed tensor is reported (compute-sanitizer's memcheck needs the cache off for the same reason).
// A no-op elsewhere.
void mark_usable([[maybe_unused]] void* p, [[maybe_unused]] size_t usable, [[maybe_unused]] size_t capacity) {
#if defined(CYTOCON_CUDA_EMULATOR) && defined(__SANITIZE_ADDRESS__)
  ASAN_POISON_MEMORY_REGION(p, capacity);
  ASAN_UNPOISON_MEMORY_REGION(p, usable);
#endif
}

size_t rounded(size_t bytes) {
  constexpr size_t small = 512, large = size_t(2) << 20;
  if (bytes == 0) bytes = 1;
  if (bytes <= (size_t(1) << 20)) return (bytes + small - 1) / small * small;
  return (bytes + large - 1) / large * large;
}

class CachingAllocator final : public Allocator {
 public:
  void* allocate(size_t bytes) override {
    check(cuda_device_usable(), "allocating " + std::to_string(bytes) +
                                    " bytes on device cuda: no usable CUDA GPU is present");
    size_t r = rounded(bytes);
    std::lock_guard<std::mutex> lock(mu_);
    void* p = nullptr;
    auto it = free_.find(r);
    if (it != free_.end() && !it->second.empty()) {
      p = it->second.back();
      it->second.pop_back();
      cached_ -= r;
    } else {
      if (cudaMalloc(&p, r) != cudaSuccess) {
        (void)cudaGetLastError();
        release_locked();  // give the cache back to the driver and try once more
        if (cudaMalloc(&p, r) != cudaSuccess) {
          (void)cudaGetLastError();
          size_t free_b = 0, total_b = 0;
          (void)cudaMemGetInfo(&free_b, &total_b);
          (void)cudaGetLastError();
          fail("out of GPU memory allocating " + std::to_string(bytes) + " bytes (" + std::to_string(in_use_) +
               " bytes in use by tensors; the device has " + std::to_string(free_b) + " of " +
               std::to_string(total_b) + " bytes free): reduce train.batch_size, or use train.precision = \"bf16\", "
               "or leave more memory to training (data.gpu_cache_gb, or data.extractor = \"cpu\")");
        }
      }
    }
    in_use_ += r;
    if (in_use_ > peak_) peak_ = in_use_;
    mark_usable(p, bytes, r);
    return p;
  }
  void deallocate(void* p, size_t bytes) override {
    if (!p) return;
    size_t r = rounded(bytes);
    std::lock_guard<std::mutex> lock(mu_);
    mark_usable(p, 0, r);
    free_[r].push_back(p);
    in_use_ -= r;
    cached_ += r;
  }
  void memset_zero(void* p, size_t bytes) override {
    if (bytes) CYTOCON_CUDA_CHECK(cudaMemsetAsync(p, 0, bytes, stream()));
  }
  CudaMemoryStats stats() {
    std::lock_guard<std::mutex> lock(mu_);
    return {in_use_, peak_, cached_};
  }
  void reset_peak() {
    std::lock_guard<std::mutex> lock(mu_);
    peak_ = in_use_;
  }
  void release() {
    std::lock_guard<std::mutex> lock(mu_);
    release_locked();
  }

 private:
  void release_locked() {
    if (cached_ == 0) return;
    cudaStreamSynchronize(stream());
    for (auto& kv : free_)
      for (void* p : kv.second) cudaFree(p);
    free_.clear();
    cached_ = 0;
  }
  std::mutex mu_;
  std::unordered_map<size_t, std::vector<void*>> free_;
  size_t in_use_ = 0, peak_ = 0, cached_ = 0;
};

CachingAllocator& the_allocator() {
  static CachingAllocator* a = new CachingAllocator;  // never destroyed: tensors may outlive statics
  return *a;
}

void copy(void* dst, Device dd, const void* src, Device sd, size_t bytes) {
  if (dd == Device::cpu && sd == Device::cpu) {
    std::memcpy(dst, src, bytes);
    return;
  }
  CYTOCON_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDefault, stream()));
  // Host memory is pageable and may be reused as soon as we return: wait for copies touching it.
  if (dd == Device::cpu || sd == Device::cpu) CYTOCON_CUDA_CHECK(cudaStreamSynchronize(stream()));
}

// Registration needs no CUDA call: the allocator checks for a GPU on first use.
struct Install {
  Install() { install_memory(); }
} g_install;

}  // namespace

void install_memory() {
  static bool done = false;
  if (done) return;
  done = true;
  register_allocator(Device::cuda, &the_allocator());
  register_copy(copy);
}

}  // namespace cuda

CudaMemoryStats cuda_memory_stats() { return cuda::the_allocator().stats(); }
void cuda_reset_peak_memory() { cuda::the_allocator().reset_peak(); }
void cuda_release_cached_memory() { cuda::the_allocator().release(); }

}  // namespace cytocon

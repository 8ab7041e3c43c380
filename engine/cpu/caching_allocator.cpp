#include "engine/cpu/caching_allocator.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>

#include "engine/tensor.h"

namespace cytocon::cpu {

namespace {

constexpr size_t kMinCachedBytes = size_t(1) << 20;

size_t rounded(size_t bytes) { return bytes ? (bytes + 63) / 64 * 64 : 64; }

#if defined(__SANITIZE_ADDRESS__)
constexpr size_t kDefaultCacheMb = 0;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr size_t kDefaultCacheMb = 0;
#else
constexpr size_t kDefaultCacheMb = 2048;
#endif
#else
constexpr size_t kDefaultCacheMb = 2048;
#endif

size_t cache_limit_bytes() {
  const char* env = std::getenv("CYTOCON_CPU_CACHE_MB");
  if (!env || !*env) return kDefaultCacheMb << 20;
  char* end = nullptr;
  const unsigned long long mb = std::strtoull(env, &end, 10);
  if (*env == '-' || !end || *end != '\0') {
    // Read during static initialisation, where an exception could only terminate: warn instead.
    std::fprintf(stderr, "cytocon: CYTOCON_CPU_CACHE_MB=%s is not a whole number of megabytes; using %zu\n", env,
                 kDefaultCacheMb);
    return kDefaultCacheMb << 20;
  }
  return static_cast<size_t>(mb) << 20;
}

class CachingAllocator final : public Allocator {
 public:
  CachingAllocator() : limit_(cache_limit_bytes()) {}
  void* allocate(size_t bytes) override {
    const size_t n = rounded(bytes);
    if (n >= kMinCachedBytes) {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = free_.find(n);
      if (it != free_.end()) {
        void* p = it->second;
        free_.erase(it);
        cached_ -= n;
        return p;
      }
    }
    void* p = std::aligned_alloc(64, n);
    if (!p) fail("out of host memory allocating " + std::to_string(bytes) + " bytes");
    return p;
  }
  void deallocate(void* p, size_t bytes) override {
    if (!p) return;
    const size_t n = rounded(bytes);
    if (n >= kMinCachedBytes) {
      std::lock_guard<std::mutex> lock(mu_);
      if (cached_ + n <= limit_) {
        free_.emplace(n, p);
        cached_ += n;
        return;
      }
    }
    std::free(p);
  }
  void memset_zero(void* p, size_t bytes) override { std::memset(p, 0, bytes); }
  size_t limit() const { return limit_; }

 private:
  std::mutex mu_;
  std::multimap<size_t, void*> free_;  // rounded size → block
  size_t cached_ = 0;
  const size_t limit_;
};

// Never destroyed: tensors with static storage duration may be freed after main returns.
CachingAllocator& the_allocator() {
  static CachingAllocator* a = new CachingAllocator();
  return *a;
}

}  // namespace

void install_caching_allocator() {
  static const bool installed = (register_allocator(Device::cpu, &the_allocator()), true);
  (void)installed;
}

size_t caching_allocator_limit() { return the_allocator().limit(); }

}  // namespace cytocon::cpu

#include "data/tile_cache.h"

#include <atomic>
#include <list>
#include <mutex>
#include <unordered_map>

namespace cytocon::data {
namespace {

struct KeyHash {
  size_t operator()(const BlockKey& k) const {
    uint64_t h = k.image * 0x9E3779B97F4A7C15ull ^ (static_cast<uint64_t>(k.level) << 48) ^
                 static_cast<uint64_t>(k.block) * 0xC2B2AE3D27D4EB4Full;
    return static_cast<size_t>(h ^ (h >> 29));
  }
};

struct Cache {
  std::mutex mu;
  size_t capacity = size_t(512) << 20;
  size_t bytes = 0;
  uint64_t hits = 0, misses = 0;
  std::list<std::pair<BlockKey, Block>> lru;  // front = most recently used
  std::unordered_map<BlockKey, std::list<std::pair<BlockKey, Block>>::iterator, KeyHash> map;

  void evict() {  // keeps at least the newest block, whatever its size
    while (bytes > capacity && lru.size() > 1) {
      auto& last = lru.back();
      bytes -= last.second->size();
      map.erase(last.first);
      lru.pop_back();
    }
  }
};

Cache& cache() {
  static Cache c;
  return c;
}

}  // namespace

Block cache_get(const BlockKey& k) {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  auto it = c.map.find(k);
  if (it == c.map.end()) {
    ++c.misses;
    return nullptr;
  }
  ++c.hits;
  c.lru.splice(c.lru.begin(), c.lru, it->second);
  return it->second->second;
}

void cache_put(const BlockKey& k, Block b) {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  if (c.map.count(k)) return;  // another thread decoded it first
  c.bytes += b->size();
  c.lru.emplace_front(k, std::move(b));
  c.map[k] = c.lru.begin();
  c.evict();
}

uint64_t new_image_uid() {
  static std::atomic<uint64_t> next{1};
  return next++;
}

void set_tile_cache_bytes(size_t bytes) {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  c.capacity = bytes;
  c.evict();
}

TileCacheStats tile_cache_stats() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  return {c.hits, c.misses, c.bytes, c.capacity};
}

}  // namespace cytocon::data

// Device tile cache bookkeeping and packing for the GPU extractor (tile_staging.h).
#include "data/tile_staging.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "engine/tensor.h"

namespace cytocon::data {

size_t TileStager::KeyHash::operator()(const Key& k) const {
  uint64_t h = static_cast<uint64_t>(k.section) * 0x9E3779B97F4A7C15ull ^ (static_cast<uint64_t>(k.level) << 56) ^
               static_cast<uint64_t>(k.tx) * 0xC2B2AE3D27D4EB4Full ^ static_cast<uint64_t>(k.ty) * 0x165667B19E3779F9ull;
  return static_cast<size_t>(h ^ (h >> 31));
}

TileStager::TileStager(int tile_px, size_t capacity_bytes) : tile_px_(tile_px) {
  check(tile_px >= 16 && tile_px % 16 == 0, "GPU tile size must be a positive multiple of 16, got " + std::to_string(tile_px));
  capacity_slots_ = std::max<size_t>(1, capacity_bytes / slot_bytes());
}

void TileStager::begin_batch() {
  ++batch_;
  table_.clear();
  missing_slots_.clear();
  missing_.clear();
}

int32_t TileStager::slot_for(const Image& img, const Key& k) {
  auto it = held_.find(k);
  if (it != held_.end()) {
    ++stats_.hits;
    it->second.batch = batch_;
    lru_.splice(lru_.begin(), lru_, it->second.lru);
    return it->second.slot;
  }
  ++stats_.misses;
  int32_t slot;
  if (!free_.empty()) {
    slot = free_.back();
    free_.pop_back();
  } else if (static_cast<size_t>(stats_.slots) < capacity_slots_ || held_.at(lru_.back()).batch == batch_) {
    slot = static_cast<int32_t>(stats_.slots++);  // room left, or every held tile serves this batch
  } else {
    auto old = held_.find(lru_.back());  // least recently used, not this batch's
    slot = old->second.slot;
    held_.erase(old);
    lru_.pop_back();
    ++stats_.evictions;
  }
  lru_.push_front(k);
  held_.emplace(k, Entry{slot, batch_, lru_.begin()});
  missing_slots_.push_back(slot);
  missing_.push_back({&img, k});
  return slot;
}

PatchTiles TileStager::add(const Image& img, int section, int level, const Box& box) {
  const Level& L = img.levels()[level];
  PatchTiles p;
  p.tw = tile_w();
  p.th = tile_h(img.bits());
  p.offset = static_cast<int64_t>(table_.size());
  const int64_t xa = std::max<int64_t>(box.x0, 0), xb = std::min(box.x0 + box.w, L.width);
  const int64_t ya = std::max<int64_t>(box.y0, 0), yb = std::min(box.y0 + box.h, L.height);
  if (xa >= xb || ya >= yb) return p;  // all background: no tile
  p.gx0 = xa / p.tw, p.gy0 = ya / p.th;
  p.nx = static_cast<int32_t>((xb - 1) / p.tw - p.gx0 + 1);
  p.ny = static_cast<int32_t>((yb - 1) / p.th - p.gy0 + 1);
  for (int64_t ty = p.gy0; ty < p.gy0 + p.ny; ++ty)
    for (int64_t tx = p.gx0; tx < p.gx0 + p.nx; ++tx) table_.push_back(slot_for(img, Key{section, level, tx, ty}));
  return p;
}

void TileStager::drop_missing() {
  for (size_t k = 0; k < missing_.size(); ++k) {
    auto it = held_.find(missing_[k].key);
    if (it == held_.end()) continue;
    lru_.erase(it->second.lru);
    held_.erase(it);
    free_.push_back(missing_slots_[k]);
  }
  missing_.clear();
  missing_slots_.clear();
}

void TileStager::pack(uint8_t* dst) {
  const size_t sb = slot_bytes();
  try {
    for (size_t k = 0; k < missing_.size(); ++k) {
      const Image& img = *missing_[k].img;
      const Key& key = missing_[k].key;
      const Level& L = img.levels()[key.level];
      const int64_t tw = tile_w(), th = tile_h(img.bits());
      const int64_t x0 = key.tx * tw, y0 = key.ty * th;
      uint8_t* out = dst + k * sb;
      if (x0 + tw > L.width || y0 + th > L.height) std::memset(out, 0, sb);  // an edge tile
      img.read_samples(key.level, x0, y0, tw, th, out);
    }
  } catch (...) {
    drop_missing();  // their slots hold nothing valid
    throw;
  }
}

}  // namespace cytocon::data

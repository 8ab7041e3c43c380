// The host half of tile-level GPU staging (data/cuda/gpu_extract.h; docs/data.md, "GPU
// extraction"). Every pyramid level is cut into logical tiles of one fixed byte size, a slot of
// the device tile cache: tile_px × tile_px samples at 8 bits, tile_px × tile_px/2 at 16 bits, over
// Image::read_samples, whatever the file's own tiles or strips are. For each batch the stager
//   - lists the tiles each patch's footprint (extract.h) touches and gives each a slot: the one it
//     has when the device holds it, else a free one or the least recently used one that no patch of
//     this batch uses (LRU bounded by capacity bytes, data.gpu_cache_gb; a batch whose tiles alone
//     exceed it gets the slots it needs, and the pool keeps them);
//   - gives each patch a tile table: its footprint's tile grid, row by row, → slot (-1 outside the
//     image), entries of one int32 array for the whole batch;
//   - packs the tiles the device lacks, as stored samples, into one buffer the caller uploads and
//     scatters into their slots.
// Plain C++ (no CUDA), so it is tested and measured without a GPU. Not thread-safe: one batch at a
// time (the extractor holds its lock).
#pragma once
#include <cstddef>
#include <cstdint>
#include <list>
#include <unordered_map>
#include <vector>

#include "data/extract.h"
#include "data/image.h"

namespace cytocon::data {

// The GPU extractor's tile width (cytocon-prepare's tiles are as wide, docs/data.md).
constexpr int kDeviceTilePx = 512;

// One patch's tile table: tile (tx, ty) of the level (tile units) is at table[offset + (ty − gy0)·nx
// + (tx − gx0)] for gx0 ≤ tx < gx0 + nx, gy0 ≤ ty < gy0 + ny; tiles are tw × th samples.
struct PatchTiles {
  int64_t gx0 = 0, gy0 = 0;
  int32_t nx = 0, ny = 0;
  int32_t tw = 0, th = 0;
  int64_t offset = 0;
};

// Where level pixel (x, y), inside the image and the patch's grid, is in the slot pool, counted in
// samples (8- or 16-bit) from the pool's start: the kernel's texel() and the tests use it.
CYTOCON_HD int64_t tile_sample_index(const PatchTiles& p, const int32_t* table, int64_t x, int64_t y) {
  const int64_t tx = x / p.tw, ty = y / p.th;
  const int64_t slot = table[p.offset + (ty - p.gy0) * p.nx + (tx - p.gx0)];
  return slot * p.tw * p.th + (y - ty * p.th) * p.tw + (x - tx * p.tw);
}

struct TileStagingStats {
  uint64_t hits = 0, misses = 0;  // tile look-ups of all batches: held by the device, or uploaded
  uint64_t evictions = 0;
  int64_t slots = 0;              // slots ever used: the pool's size
};

class TileStager {
 public:
  // tile_px: a multiple of 16; capacity_bytes: the device cache (at least one slot).
  TileStager(int tile_px, size_t capacity_bytes);

  size_t slot_bytes() const { return static_cast<size_t>(tile_px_) * tile_px_; }
  int tile_w() const { return tile_px_; }
  int tile_h(int bits) const { return bits == 8 ? tile_px_ : tile_px_ / 2; }

  // Starts a batch: clears the tables and the list of missing tiles.
  void begin_batch();
  // The tiles that `box` of level `level` of img (section `section`) touches, resident from now on
  // in this batch; returns the patch's table.
  PatchTiles add(const Image& img, int section, int level, const Box& box);
  // This batch's tile tables (the entries of every add()).
  const std::vector<int32_t>& table() const { return table_; }
  // The tiles this batch added that the device lacks: their slots, in packing order.
  const std::vector<int32_t>& missing_slots() const { return missing_slots_; }
  size_t missing_bytes() const { return missing_slots_.size() * slot_bytes(); }
  // Reads the missing tiles into dst (missing_bytes(): tile k at k·slot_bytes(), row-major, its
  // samples outside the image zero). On an error no tile of this batch stays resident; rethrows.
  void pack(uint8_t* dst);
  // The batch's missing tiles did not reach the device (a failed upload, a batch given up): none
  // of them stays resident, their slots are free again.
  void drop_missing();

  const TileStagingStats& stats() const { return stats_; }
  size_t capacity_bytes() const { return capacity_slots_ * slot_bytes(); }

 private:
  struct Key {
    int32_t section, level;
    int64_t tx, ty;
    bool operator==(const Key& o) const {
      return section == o.section && level == o.level && tx == o.tx && ty == o.ty;
    }
  };
  struct KeyHash {
    size_t operator()(const Key& k) const;
  };
  struct Entry {
    int32_t slot;
    uint64_t batch;  // last batch that used it
    std::list<Key>::iterator lru;
  };
  struct Missing {
    const Image* img;
    Key key;
  };
  int32_t slot_for(const Image& img, const Key& k);

  int tile_px_;
  size_t capacity_slots_;
  uint64_t batch_ = 0;
  std::unordered_map<Key, Entry, KeyHash> held_;
  std::list<Key> lru_;  // front = most recently used
  std::vector<int32_t> free_;
  std::vector<int32_t> table_, missing_slots_;
  std::vector<Missing> missing_;
  TileStagingStats stats_;
};

}  // namespace cytocon::data

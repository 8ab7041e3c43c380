// Patch extraction on the GPU: extract.cpp's pixels bit for bit (one inverse-mapping bilinear
// pass in the CPU's region coordinates, α x^γ + β with pow01, clamp01, then blur or sharpening
// with the same taps, every operation in the CPU's order and precision, no FMA contraction), so
// a run's bits do not depend on where its patches were cut. The device holds a cache of section
// tiles (data/tile_staging.h: fixed-size slots, LRU bounded in bytes): for each batch the host
// sends only the tiles its patches touch that the device lacks, in their native 8/16 bits, and
// the kernel samples through per-patch tile tables, so any dataset size works. The batch is cut
// on the extractor's own stream, overlapping training (gpu_extract.cu explains how that stays
// safe with the engine's one-stream allocator). Available when CYTOCON_HAVE_CUDA; see
// docs/data.md ("GPU extraction").
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "data/augment.h"
#include "data/extract.h"
#include "data/tile_staging.h"
#include "engine/tensor.h"

namespace cytocon::data {

struct GpuStagingStats {
  uint64_t batches = 0, patches = 0;
  uint64_t uploaded_bytes = 0;  // host → device: new tiles, tile tables and patch jobs
  TileStagingStats tiles;       // look-ups, evictions, slots
  size_t pool_bytes = 0;        // device memory of the tile cache
};

class GpuExtractor {
 public:
  // device_cache_bytes: the tile cache (data.gpu_cache_gb); tile_px: the tiles' width (a multiple
  // of 16; 16-bit tiles are half as high, so every tile is tile_px² bytes).
  GpuExtractor(std::shared_ptr<const Dataset> ds, ExtractConfig cfg, size_t device_cache_bytes = size_t(8) << 30,
               int tile_px = kDeviceTilePx);
  ~GpuExtractor();
  GpuExtractor(const GpuExtractor&) = delete;
  GpuExtractor& operator=(const GpuExtractor&) = delete;
  // Patches for refs with parameters aug (same length) into a float32 [n, S, S, 1] CUDA tensor,
  // ready for work enqueued on the engine's stream after this returns.
  Tensor extract(const std::vector<SampleRef>& refs, const std::vector<AugmentParams>& aug);
  GpuStagingStats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cytocon::data

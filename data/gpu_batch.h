// The host's part of one GPU extraction batch (data/cuda/gpu_extract.h; docs/data.md, "GPU
// extraction"): per patch its transform, the CPU's region box and its tile table, and the tiles
// the device lacks, packed for one upload. Plain C++, so cytocon-databench measures this path's
// CPU cost without a GPU.
#pragma once
#include <cstdint>
#include <vector>

#include "data/augment.h"
#include "data/extract.h"
#include "data/tile_staging.h"

namespace cytocon::data {

constexpr int kMaxBlurRadius = 3;  // ⌈3σ⌉ for σ ≤ 1

// What the kernels need for one patch: extract_patch's transform terms in its precisions, the
// CPU's region box, where the level's tiles are, its intensity map and filter.
struct PatchJob {
  double ox, oy, axy, ayy;  // extract_patch's double terms
  float axx, ayx;           // ... and its float ones
  int64_t x0, y0;           // the CPU's region (footprint): level pixel of region pixel (0, 0)
  int32_t bw, bh;           // ... and its size
  PatchTiles tiles;         // the footprint's tile table
  int32_t width, height, bits;  // the level
  IntensityMap map;         // sample → intensity, as the readers (Image::intensity_map)
  float alpha, beta, gamma;
  int32_t filter;  // Filter
  float delta;
  float taps[2 * kMaxBlurRadius + 1];
  int32_t radius;
};

// Starts a batch in st and fills one job per sample (refs and aug of one length); the tiles the
// device lacks are then st.missing_slots(), to be read with st.pack().
std::vector<PatchJob> plan_batch(TileStager& st, const Dataset& ds, const std::vector<SampleRef>& refs,
                                 const std::vector<AugmentParams>& aug, const ExtractConfig& cfg);

}  // namespace cytocon::data

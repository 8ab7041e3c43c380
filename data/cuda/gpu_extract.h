// Patch extraction on the GPU: extract.cpp's pixels bit for bit (one inverse-mapping bilinear
// pass in the CPU's region coordinates, α x^γ + β with pow01, clamp01, then blur or sharpening
// with the same taps, every operation in the CPU's order and precision, no FMA contraction), so
// a run's bits do not depend on where its patches were cut. Sections (the pyramid level a
// patch needs, in their native 8/16 bits) are staged on the device once and kept in an LRU
// bounded in bytes; each batch is one resampling kernel plus two separable filter passes.
// Available when CYTOCON_HAVE_CUDA; see docs/data.md ("GPU extraction").
#pragma once
#include <cstddef>
#include <memory>
#include <vector>

#include "data/augment.h"
#include "data/extract.h"
#include "engine/tensor.h"

namespace cytocon::data {

class GpuExtractor {
 public:
  GpuExtractor(std::shared_ptr<const Dataset> ds, ExtractConfig cfg, size_t device_cache_bytes = size_t(8) << 30);
  ~GpuExtractor();
  GpuExtractor(const GpuExtractor&) = delete;
  GpuExtractor& operator=(const GpuExtractor&) = delete;
  // Patches for refs with parameters aug (same length) into a float32 [n, S, S, 1] CUDA tensor.
  Tensor extract(const std::vector<SampleRef>& refs, const std::vector<AugmentParams>& aug);
  size_t staged_bytes() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cytocon::data

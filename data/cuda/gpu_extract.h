// Patch extraction on the GPU: the same math as extract.cpp (one inverse-mapping bilinear pass,
// α x^γ + β with pow01, clamp, then blur or sharpening with the same taps), with the same
// AugmentParams, so the CPU and GPU paths make identical choices. Sections (the pyramid level a
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

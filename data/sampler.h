// The epoch sampler (paper §3): each epoch draws `patches_per_area` centreline points of every
// area present in the split (small areas are cycled through again, in a fresh permutation, i.e.
// oversampled; large areas contribute a random subset), then shuffles all of them. Everything is a
// pure function of (seed, epoch) via Philox (Purpose::sample_order), so the global sample order is
// the same for any number of ranks; a rank asks only for its global index range [a, b).
// With patches_per_area = 0 the sampler lists every point of the split once, in dataset order
// (evaluation: X_te, X_un).
#pragma once
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "data/dataset.h"

namespace cytocon::data {

// One patch to extract: a centreline point and its place in the epoch.
struct SampleRef {
  int64_t index = 0;   // global sample index within the epoch (keys the augmentation)
  int32_t point = 0;   // index into Dataset::points()
  int32_t section = 0;
  int32_t label = 0;
  float x = 0, y = 0;  // full-resolution pixels
};

struct SamplerConfig {
  Split split = Split::train;
  int64_t patches_per_area = 1200;  // paper: 1200; 0 = every point once, in order
  uint64_t seed = 0;
};

class Sampler {
 public:
  Sampler(std::shared_ptr<const Dataset> ds, SamplerConfig cfg);
  // Samples per epoch: patches_per_area × (areas with ≥ 1 point in the split), or the number of
  // points in the split when patches_per_area = 0.
  int64_t size() const { return size_; }
  int num_areas_present() const { return static_cast<int>(present_.size()); }
  // The samples with global indices [a, b) of epoch `epoch` (0 ≤ a ≤ b ≤ size()).
  std::vector<SampleRef> range(int64_t epoch, int64_t a, int64_t b) const;
  const SamplerConfig& config() const { return cfg_; }
  const Dataset& dataset() const { return *ds_; }

 private:
  std::shared_ptr<const Dataset> ds_;
  SamplerConfig cfg_;
  std::vector<int32_t> present_;                  // class ids with points in the split
  std::vector<std::vector<int32_t>> by_class_;    // point indices per present class
  int64_t size_ = 0;
  mutable std::mutex mu_;                          // guards the one-epoch cache below
  mutable int64_t cached_epoch_ = -1;
  mutable std::vector<int32_t> cached_order_;      // epoch order as point indices
  std::vector<int32_t> epoch_order(int64_t epoch) const;
};

}  // namespace cytocon::data

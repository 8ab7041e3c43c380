// Class-balanced epoch sampler (paper §3: a fixed number of patches per area, small areas
// oversampled), a pure function of (seed, epoch) through Philox (Purpose::sample_order).
#include "data/sampler.h"

#include <algorithm>

#include "engine/rng.h"
#include "engine/tensor.h"

namespace cytocon::data {
namespace {

// Fisher–Yates on v with the words base, base+1, ... of stream r.
void shuffle(std::vector<int32_t>& v, size_t first, size_t n, const Rng& r, uint32_t base) {
  for (size_t i = n; i > 1; --i) {
    const uint32_t j = r.below(base + static_cast<uint32_t>(i - 1), static_cast<uint32_t>(i));
    std::swap(v[first + i - 1], v[first + j]);
  }
}

constexpr uint32_t kGlobalShuffle = 0xFFFFFFFFu;  // stream id of the final shuffle (not a class)

}  // namespace

Sampler::Sampler(std::shared_ptr<const Dataset> ds, SamplerConfig cfg) : ds_(std::move(ds)), cfg_(cfg) {
  check(ds_ != nullptr, "Sampler: no dataset");
  check(cfg_.patches_per_area >= 0, "patches_per_area must be >= 0, got " + std::to_string(cfg_.patches_per_area));
  const auto& pts = ds_->points_in(cfg_.split);
  std::vector<std::vector<int32_t>> per(ds_->num_classes());
  for (int32_t i : pts) per[ds_->points()[i].label].push_back(i);
  for (int c = 0; c < ds_->num_classes(); ++c)
    if (!per[c].empty()) {
      present_.push_back(c);
      by_class_.push_back(std::move(per[c]));
    }
  size_ = cfg_.patches_per_area == 0 ? static_cast<int64_t>(pts.size())
                                     : cfg_.patches_per_area * static_cast<int64_t>(present_.size());
  check(size_ < (int64_t(1) << 32), "Sampler: more than 2^32 samples per epoch");
}

std::vector<int32_t> Sampler::epoch_order(int64_t epoch) const {
  if (cfg_.patches_per_area == 0) return ds_->points_in(cfg_.split);
  const uint32_t e = static_cast<uint32_t>(epoch);
  const size_t P = static_cast<size_t>(cfg_.patches_per_area);
  std::vector<int32_t> order;
  order.reserve(static_cast<size_t>(size_));
  std::vector<int32_t> perm;
  for (size_t k = 0; k < present_.size(); ++k) {
    // Cycle q is a fresh permutation of the area's points (words q·n ...): every point appears
    // ⌊P/n⌋ or ⌈P/n⌉ times; large areas (n ≥ P) contribute a random subset.
    const Rng r(cfg_.seed, Purpose::sample_order, e, static_cast<uint32_t>(present_[k]));
    const auto& pts = by_class_[k];
    const size_t n = pts.size();
    for (size_t q = 0; q * n < P; ++q) {
      perm = pts;
      shuffle(perm, 0, n, r, static_cast<uint32_t>(q * n));
      const size_t take = std::min(n, P - q * n);
      order.insert(order.end(), perm.begin(), perm.begin() + take);
    }
  }
  const Rng g(cfg_.seed, Purpose::sample_order, e, kGlobalShuffle);
  shuffle(order, 0, order.size(), g, 0);
  return order;
}

std::vector<SampleRef> Sampler::range(int64_t epoch, int64_t a, int64_t b) const {
  check(0 <= a && a <= b && b <= size_, "Sampler::range [" + std::to_string(a) + ", " +
                                            std::to_string(b) + ") outside [0, " + std::to_string(size_) + ")");
  check(epoch >= 0, "Sampler: negative epoch");
  std::lock_guard<std::mutex> lock(mu_);
  if (cached_epoch_ != epoch) {
    cached_order_ = epoch_order(epoch);
    cached_epoch_ = epoch;
  }
  std::vector<SampleRef> out;
  out.reserve(static_cast<size_t>(b - a));
  for (int64_t i = a; i < b; ++i) {
    const int32_t p = cached_order_[static_cast<size_t>(i)];
    const SamplePoint& sp = ds_->points()[p];
    out.push_back(SampleRef{i, p, sp.section, sp.label, sp.x, sp.y});
  }
  return out;
}

}  // namespace cytocon::data

// Prefetching loader: worker threads claim chunks of samples of the oldest unfinished batch, so
// any number of threads fills batches in order; next() hands them out in order.
#include "data/loader.h"

#include <chrono>
#include <exception>

#include "engine/tensor.h"

namespace cytocon::data {
namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
constexpr int64_t kChunk = 4;  // samples claimed at a time

}  // namespace

struct Loader::Slot {
  Batch batch;
  int64_t claimed = 0, done = 0;
  std::exception_ptr error;
};

Loader::Loader(std::shared_ptr<const Dataset> ds, LoaderConfig cfg)
    : ds_(std::move(ds)), cfg_(cfg), sampler_(ds_, {cfg.split, cfg.patches_per_area, cfg.seed}) {
  check(cfg_.batch_size > 0, "loader batch_size must be > 0, got " + std::to_string(cfg_.batch_size));
  check(cfg_.world > 0 && cfg_.rank >= 0 && cfg_.rank < cfg_.world,
        "loader rank " + std::to_string(cfg_.rank) + " not in [0, " + std::to_string(cfg_.world) + ")");
  check(cfg_.batch_size % cfg_.world == 0, "global batch " + std::to_string(cfg_.batch_size) +
                                               " is not divisible by " + std::to_string(cfg_.world) + " ranks");
  check(cfg_.patch_px > 0 && cfg_.um_per_px > 0, "loader patch_px and um_per_px must be > 0");
  check(cfg_.threads >= 0 && cfg_.prefetch >= 1, "loader threads must be >= 0 and prefetch >= 1");
  check(sampler_.size() > 0, std::string("no samples in split '") + split_name(cfg_.split) + "' of " + ds_->dir());
  check(!cfg_.drop_last || sampler_.size() >= cfg_.batch_size,
        std::string("split '") + split_name(cfg_.split) + "' of " + ds_->dir() + " has " +
            std::to_string(sampler_.size()) + " samples per epoch, fewer than the global batch " +
            std::to_string(cfg_.batch_size));
}

Loader::~Loader() { stop(); }

int64_t Loader::batches_per_epoch() const {
  const int64_t n = sampler_.size(), N = cfg_.batch_size;
  return cfg_.drop_last ? n / N : (n + N - 1) / N;
}

Batch Loader::make_batch(int64_t epoch, int64_t a, int64_t b) const {
  // This rank's slice of global rows [a, b).
  const int64_t n = b - a;
  const int64_t lo = a + n * cfg_.rank / cfg_.world, hi = a + n * (cfg_.rank + 1) / cfg_.world;
  Batch out;
  out.epoch = epoch;
  out.batch = a / cfg_.batch_size;
  out.refs = sampler_.range(epoch, lo, hi);
  const int64_t m = hi - lo, S = cfg_.patch_px;
  if (!cfg_.batch_extractor) out.x = Tensor::empty({m, S, S, 1}, DType::f32);
  out.y = Tensor::empty({m}, DType::i32);
  for (int64_t k = 0; k < m; ++k) out.y.data<int32_t>()[k] = out.refs[k].label;
  return out;
}

void Loader::start(int64_t epoch, int64_t batch) {
  check(epoch >= 0 && batch >= 0 && batch < std::max<int64_t>(1, batches_per_epoch()),
        "loader start position (" + std::to_string(epoch) + ", " + std::to_string(batch) + ") out of range");
  stop();
  next_epoch_ = epoch;
  next_batch_ = batch;
  stopping_ = false;
  patches_ = 0;
  started_at_ = now_s();
  for (int t = 0; t < std::max(1, cfg_.threads); ++t) workers_.emplace_back([this] { worker(); });
}

void Loader::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& w : workers_) w.join();
  workers_.clear();
  queue_.clear();
}

void Loader::worker() {
  const ExtractConfig ec = cfg_.extract_config();
  ExtractScratch scratch;
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    if (stopping_) return;
    // The oldest slot with unclaimed samples, or a new slot if the queue has room.
    std::shared_ptr<Slot> slot;
    for (auto& s : queue_)
      if (!s->error && s->claimed < static_cast<int64_t>(s->batch.refs.size())) {
        slot = s;
        break;
      }
    if (!slot && static_cast<int>(queue_.size()) < cfg_.prefetch) {
      slot = std::make_shared<Slot>();
      const int64_t N = cfg_.batch_size, a = next_batch_ * N;
      const int64_t b = std::min(a + N, sampler_.size());
      const int64_t e = next_epoch_;
      if (++next_batch_ >= batches_per_epoch()) next_batch_ = 0, ++next_epoch_;
      try {  // under the lock, so slots enter the queue in batch order (cheap: no pixels yet)
        slot->batch = make_batch(e, a, b);
      } catch (...) {
        slot->error = std::current_exception();
      }
      queue_.push_back(slot);
      cv_.notify_all();
      continue;
    }
    if (!slot) {
      cv_.wait(lock);
      continue;
    }
    const int64_t k0 = slot->claimed;
    const int64_t k1 = cfg_.batch_extractor ? static_cast<int64_t>(slot->batch.refs.size())  // whole batch
                                            : std::min<int64_t>(k0 + kChunk, slot->batch.refs.size());
    slot->claimed = k1;
    lock.unlock();
    std::exception_ptr err;
    try {
      if (cfg_.batch_extractor) {
        std::vector<AugmentParams> params;
        for (const SampleRef& r : slot->batch.refs) params.push_back(augment_for(slot->batch.epoch, r));
        std::lock_guard<std::mutex> one_at_a_time(extractor_mu_);
        slot->batch.x = cfg_.batch_extractor(slot->batch.refs, params);
      } else {
        const int64_t SS = static_cast<int64_t>(cfg_.patch_px) * cfg_.patch_px;
        float* x = slot->batch.x.data<float>();
        for (int64_t k = k0; k < k1; ++k)
          extract_patch(*ds_, slot->batch.refs[k], augment_for(slot->batch.epoch, slot->batch.refs[k]), ec,
                        x + k * SS, scratch);
      }
    } catch (...) {
      err = std::current_exception();
    }
    lock.lock();
    if (err && !slot->error) slot->error = err;
    slot->done += k1 - k0;
    patches_ += k1 - k0;
    cv_.notify_all();
  }
}

AugmentParams Loader::augment_for(int64_t epoch, const SampleRef& r) const {
  return cfg_.augment ? draw_augment(cfg_.seed, static_cast<uint32_t>(epoch), static_cast<uint32_t>(r.index))
                      : no_augment();
}

Batch Loader::next() {
  check(!workers_.empty(), "Loader::next called before start()");
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] {
    if (queue_.empty()) return false;
    const auto& s = queue_.front();
    return s->error || s->done == static_cast<int64_t>(s->batch.refs.size());
  });
  std::shared_ptr<Slot> s = queue_.front();
  if (s->error) {
    // Wait until no worker still writes into this slot, then report.
    cv_.wait(lock, [&] { return s->done == s->claimed || s->batch.refs.empty(); });
    queue_.pop_front();
    cv_.notify_all();
    std::rethrow_exception(s->error);
  }
  queue_.pop_front();
  cv_.notify_all();
  return std::move(s->batch);
}

Throughput Loader::throughput() const {
  return Throughput{patches_.load(), workers_.empty() ? 0.0 : now_s() - started_at_};
}

}  // namespace cytocon::data

// The loader: background threads extract batches ahead of the trainer (configurable prefetch
// depth). A batch is a slice of the global batch: global batch b of an epoch covers global sample
// indices [b·N, (b+1)·N); rank r of R gets [b·N + r·N/R, b·N + (r+1)·N/R), so the bits of every
// patch are independent of R and of the thread count.
//
//   LoaderConfig cfg;  cfg.batch_size = 256;  cfg.seed = 1;
//   Loader loader(ds, cfg);
//   loader.start(epoch, 0);
//   for (int64_t b = 0; b < loader.batches_per_epoch(); ++b) { Batch batch = loader.next(); ... }
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "data/extract.h"
#include "data/sampler.h"
#include "engine/tensor.h"

namespace cytocon::data {

struct LoaderConfig {
  Split split = Split::train;
  int patch_px = 561;
  double um_per_px = 4.0;
  int64_t patches_per_area = 1200;  // 0 = every point of the split once, in order (evaluation)
  int64_t batch_size = 256;         // global batch N (all ranks)
  int rank = 0, world = 1;          // this rank's slice; N % world == 0
  bool augment = true;              // training only; evaluation extracts without augmentation
  bool drop_last = true;            // false: the last batch of an epoch may be short
  uint64_t seed = 0;                // keys sampling (Purpose::sample_order) and augmentation
  float background = 1.0f;
  int threads = 2;                  // extraction threads
  int prefetch = 2;                 // batches kept ready ahead of next()
  // Optional: extracts a whole batch (this rank's rows, with their augmentation parameters)
  // instead of the CPU path, e.g. a GpuExtractor (data/cuda/gpu_extract.h); Batch::x is what it
  // returns (a CUDA tensor for the GPU). Called from a loader thread, one batch at a time.
  std::function<cytocon::Tensor(const std::vector<SampleRef>&, const std::vector<AugmentParams>&)> batch_extractor;

  ExtractConfig extract_config() const { return {patch_px, um_per_px, background}; }
};

struct Batch {
  cytocon::Tensor x;            // float32 [n, S, S, 1], NHWC, values in [0, 1]
  cytocon::Tensor y;            // int32 [n]
  std::vector<SampleRef> refs;  // which points (and global indices) the rows are
  int64_t epoch = 0, batch = 0; // position: global batch `batch` of epoch `epoch`
};

struct Throughput {
  int64_t patches = 0;
  double seconds = 0;  // wall time since start() spent by the loader
  double patches_per_s() const { return seconds > 0 ? patches / seconds : 0; }
};

class Loader {
 public:
  Loader(std::shared_ptr<const Dataset> ds, LoaderConfig cfg);
  ~Loader();
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  int64_t samples_per_epoch() const { return sampler_.size(); }
  int64_t batches_per_epoch() const;
  // Positions the loader at global batch `batch` of `epoch` (resume) and starts prefetching.
  void start(int64_t epoch, int64_t batch = 0);
  // The next batch in order (epochs continue one after another). Rethrows extraction errors.
  Batch next();
  Throughput throughput() const;
  const Sampler& sampler() const { return sampler_; }
  const LoaderConfig& config() const { return cfg_; }

 private:
  // Allocates this rank's slice of global rows [a, b) of `epoch` and fills refs and labels; the
  // workers then extract the pixels into x.
  Batch make_batch(int64_t epoch, int64_t a, int64_t b) const;
  void stop();
  void worker();
  AugmentParams augment_for(int64_t epoch, const SampleRef& r) const;  // training: Philox draws
  std::mutex extractor_mu_;
  std::shared_ptr<const Dataset> ds_;
  LoaderConfig cfg_;
  Sampler sampler_;
  // Prefetch queue: batches in order; workers fill slots, next() takes the front.
  struct Slot;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Slot>> queue_;
  int64_t next_epoch_ = 0, next_batch_ = 0;  // next position to schedule
  bool stopping_ = false;
  std::vector<std::thread> workers_;
  std::atomic<int64_t> patches_{0};
  double started_at_ = 0;
};

}  // namespace cytocon::data

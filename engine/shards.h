// Micro-shards: how every reduction over samples is made independent of the number of ranks
// and threads (docs/design.md, "Determinism").
//
// The global batch of N samples is cut into S fixed micro-shards of N/S consecutive samples
// (S a power of two). Rank r of R owns the aligned block of S/R shards starting at r*S/R.
// A reduction over samples (BN statistics, BN backward sums, weight gradients, the CE loss)
//   1. computes one partial per micro-shard, summing that shard's samples in sample order;
//   2. combines the partials along a fixed binary tree over shard indices:
//        level 1: (0,1) (2,3) ...; level 2: (01,23) ...; the root is the global value.
// A rank's shards form a complete subtree, so it computes that subtree locally; the R subtree
// roots are then all-gathered and combined by the same tree. The result is bit-identical for
// every R dividing S and for any thread count (threads only split independent outputs).
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "engine/tensor.h"

namespace cytocon {

// Collective communication between ranks (MPI on the CPU, NCCL on the GPU: engine/dist/).
// The default, SingleProcess, has one rank and does nothing.
class Comm {
 public:
  virtual ~Comm() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // recv receives size()*bytes: rank i's `bytes` at offset i*bytes. Buffers live on `dev`.
  virtual void all_gather(const void* send, void* recv, size_t bytes, Device dev) = 0;
  // Elementwise float sum (fast mode only: the order of additions is the library's).
  virtual void all_reduce_sum(float* data, size_t count, Device dev) = 0;
  virtual void broadcast(void* data, size_t bytes, int root, Device dev) = 0;
  // send holds size() blocks of `bytes`; block j goes to rank j. recv receives size()*bytes:
  // rank i's block rank() at offset i*bytes. The default moves size() times too much (it
  // all-gathers every send buffer); MPI and NCCL override it.
  virtual void all_to_all(const void* send, void* recv, size_t bytes, Device dev);
  virtual void barrier() = 0;
  // End every rank now with this message (used when one rank fails).
  [[noreturn]] virtual void abort(const std::string& message) = 0;
};

class SingleProcess final : public Comm {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  void all_gather(const void* send, void* recv, size_t bytes, Device dev) override;
  void all_reduce_sum(float*, size_t, Device) override {}
  void broadcast(void*, size_t, int, Device) override {}
  void barrier() override {}
  [[noreturn]] void abort(const std::string& message) override;
};
SingleProcess& single_process();

// Reduction mode: deterministic (the tree above) or fast (plain sums / all-reduce).
enum class ReduceMode : uint8_t { deterministic, fast };
const char* reduce_mode_name(ReduceMode m);  // "deterministic" | "fast" (train.mode)

struct Shards {
  int total = 1;   // S: micro-shards in the global batch (power of two)
  int first = 0;   // first micro-shard owned by this rank
  int count = 1;   // micro-shards owned by this rank (S/R)
  Comm* comm = nullptr;  // null: single process
  ReduceMode mode = ReduceMode::deterministic;

  // S shards over `ranks` ranks, this rank's block. Checks S is a power of two and R | S.
  static Shards make(int total, int rank, int ranks, Comm* comm = nullptr,
                     ReduceMode mode = ReduceMode::deterministic);
  // Number of samples in one micro-shard, for a local batch of n samples (checks n % count == 0).
  int64_t shard_size(int64_t local_n) const;
  int64_t global_n(int64_t local_n) const { return shard_size(local_n) * total; }
  Comm& communicator() const;
};

// Combine `count` local partials, each `item_bytes` long and stored consecutively in `items`,
// along the fixed binary tree; then across ranks (all-gather of the subtree roots, same tree).
// `combine(acc, other)` merges `other` (the right subtree) into `acc` (the left one).
// On return items[0 .. item_bytes) holds the global result on every rank. `items` is host memory.
using CombineFn = std::function<void(void* acc, const void* other)>;
void combine_shards(const Shards& sh, void* items, size_t item_bytes, const CombineFn& combine);

// The common case: elementwise sum of `sh.count` partial vectors of `len` values each
// (partials[k*len + i]); result in partials[0 .. len).
// Across ranks, vectors of 64 KiB or more go slice-wise (all-to-all of the subtree roots' slices,
// the same tree per slice, all-gather): the same bits at all-reduce traffic. Fast mode: float
// sums use Comm::all_reduce_sum.
template <class T>
void sum_shards(const Shards& sh, T* partials, int64_t len);
// From this vector size on, sums across ranks go slice-wise (any threshold gives the same bits;
// small vectors are cheaper in one collective). Also the CUDA backend's combine_shards_device.
constexpr size_t kSliceExchangeBytes = 64 * 1024;

// Per-channel BatchNorm partial of one shard: count, mean and M2 = Σ(x-mean)², merged with
// Chan et al.'s pairwise formula (stable where Σx² - n·mean² cancels).
template <class T>
struct Moments {
  T n, mean, m2;
};
template <class T>
void chan_merge(Moments<T>& a, const Moments<T>& b);
// Merge `sh.count` local arrays of `channels` Moments (layout [shard][channel]) into the global
// per-channel moments, in moments[0 .. channels).
template <class T>
void merge_moments(const Shards& sh, Moments<T>* moments, int64_t channels);

}  // namespace cytocon

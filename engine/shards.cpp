#include "engine/shards.h"

#include <algorithm>
#include <cstring>
#include <iostream>
#include <type_traits>

namespace cytocon {

void SingleProcess::all_gather(const void* send, void* recv, size_t bytes, Device dev) {
  copy_bytes(recv, dev, send, dev, bytes);
}
void SingleProcess::abort(const std::string& message) {
  std::cerr << "cytocon: fatal: " << message << std::endl;
  std::exit(1);
}
void Comm::all_to_all(const void* send, void* recv, size_t bytes, Device dev) {
  const int R = size();
  std::vector<char> all(bytes * R * R), block(bytes * R * R);
  copy_bytes(block.data(), Device::cpu, send, dev, bytes * R);
  all_gather(block.data(), all.data(), bytes * R, Device::cpu);
  for (int i = 0; i < R; ++i) std::memcpy(block.data() + i * bytes, all.data() + (i * R + rank()) * bytes, bytes);
  copy_bytes(recv, dev, block.data(), Device::cpu, bytes * R);
}
SingleProcess& single_process() {
  static SingleProcess s;
  return s;
}

const char* reduce_mode_name(ReduceMode m) { return m == ReduceMode::deterministic ? "deterministic" : "fast"; }

static bool is_pow2(int x) { return x > 0 && (x & (x - 1)) == 0; }

Shards Shards::make(int total, int rank, int ranks, Comm* comm, ReduceMode mode) {
  check(is_pow2(total), "micro-shard count " + std::to_string(total) + " must be a power of two");
  check(ranks > 0 && total % ranks == 0,
        std::to_string(ranks) + " ranks cannot split " + std::to_string(total) +
            " micro-shards evenly: use a rank count that divides the shard count");
  check(rank >= 0 && rank < ranks, "rank " + std::to_string(rank) + " out of range");
  Shards s;
  s.total = total;
  s.count = total / ranks;
  s.first = rank * s.count;
  s.comm = comm;
  s.mode = mode;
  return s;
}

int64_t Shards::shard_size(int64_t local_n) const {
  check(local_n % count == 0, "local batch of " + std::to_string(local_n) + " samples cannot be cut into " +
                                  std::to_string(count) + " micro-shards: batch size must be a multiple of the shard count");
  return local_n / count;
}

Comm& Shards::communicator() const { return comm ? *comm : single_process(); }

// In-place pairwise tree over n items (n a power of two): stride 1, 2, 4 ...
static void tree(char* items, int n, size_t item_bytes, const CombineFn& combine) {
  for (int stride = 1; stride < n; stride *= 2)
    for (int i = 0; i + stride < n; i += 2 * stride) combine(items + i * item_bytes, items + (i + stride) * item_bytes);
}

void combine_shards(const Shards& sh, void* items, size_t item_bytes, const CombineFn& combine) {
  check(is_pow2(sh.count), "local micro-shard count must be a power of two");
  tree(static_cast<char*>(items), sh.count, item_bytes, combine);
  Comm& c = sh.communicator();
  if (c.size() == 1) return;
  std::vector<char> roots(item_bytes * c.size());
  c.all_gather(items, roots.data(), item_bytes, Device::cpu);
  tree(roots.data(), c.size(), item_bytes, combine);
  std::memcpy(items, roots.data(), item_bytes);
}

// acc[i] += other[i] for i < len.
template <class T>
static CombineFn add_into(int64_t len) {
  return [len](void* acc, const void* other) {
    T* a = static_cast<T*>(acc);
    const T* b = static_cast<const T*>(other);
    for (int64_t i = 0; i < len; ++i) a[i] += b[i];
  };
}

template <class T>
void sum_shards(const Shards& sh, T* partials, int64_t len) {
  Comm& c = sh.communicator();
  const int R = c.size();
  if constexpr (std::is_same_v<T, float>) {
    if (sh.mode == ReduceMode::fast && R > 1) {
      // Fast mode: local partials in order, then the library's all-reduce (its own order).
      for (int k = 1; k < sh.count; ++k)
        for (int64_t i = 0; i < len; ++i) partials[i] += partials[k * len + i];
      c.all_reduce_sum(partials, static_cast<size_t>(len), Device::cpu);
      return;
    }
  }
  if (R == 1 || static_cast<size_t>(len) * sizeof(T) < kSliceExchangeBytes) {
    combine_shards(sh, partials, static_cast<size_t>(len) * sizeof(T), add_into<T>(len));
    return;
  }
  // Large vectors: the same tree, slice by slice. Rank q receives (all-to-all) the R subtree
  // roots of slice q, combines them along the rank tree, and the combined slices are
  // all-gathered: the same additions in the same order as combine_shards, but 2(R-1)/R of the
  // vector on the wire (all-reduce traffic) instead of R-1 times it.
  check(is_pow2(sh.count), "local micro-shard count must be a power of two");
  tree(reinterpret_cast<char*>(partials), sh.count, static_cast<size_t>(len) * sizeof(T), add_into<T>(len));
  const int64_t slice = (len + R - 1) / R;
  const size_t slice_bytes = static_cast<size_t>(slice) * sizeof(T);
  std::vector<T> mine(static_cast<size_t>(slice * R), T(0)), roots(static_cast<size_t>(slice * R));
  std::copy(partials, partials + len, mine.begin());
  c.all_to_all(mine.data(), roots.data(), slice_bytes, Device::cpu);
  tree(reinterpret_cast<char*>(roots.data()), R, slice_bytes, add_into<T>(slice));
  c.all_gather(roots.data(), mine.data(), slice_bytes, Device::cpu);
  std::copy(mine.begin(), mine.begin() + len, partials);
}

template <class T>
void chan_merge(Moments<T>& a, const Moments<T>& b) {
  if (b.n == 0) return;
  if (a.n == 0) {
    a = b;
    return;
  }
  T n = a.n + b.n;
  T delta = b.mean - a.mean;
  T mean = a.mean + delta * (b.n / n);
  T m2 = a.m2 + b.m2 + delta * delta * (a.n * b.n / n);
  a = {n, mean, m2};
}

template <class T>
void merge_moments(const Shards& sh, Moments<T>* moments, int64_t channels) {
  size_t bytes = static_cast<size_t>(channels) * sizeof(Moments<T>);
  combine_shards(sh, moments, bytes, [channels](void* acc, const void* other) {
    Moments<T>* a = static_cast<Moments<T>*>(acc);
    const Moments<T>* b = static_cast<const Moments<T>*>(other);
    for (int64_t c = 0; c < channels; ++c) chan_merge(a[c], b[c]);
  });
}

template void sum_shards<float>(const Shards&, float*, int64_t);
template void sum_shards<double>(const Shards&, double*, int64_t);
template void chan_merge<float>(Moments<float>&, const Moments<float>&);
template void chan_merge<double>(Moments<double>&, const Moments<double>&);
template void merge_moments<float>(const Shards&, Moments<float>*, int64_t);
template void merge_moments<double>(const Shards&, Moments<double>*, int64_t);

}  // namespace cytocon

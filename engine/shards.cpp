#include "engine/shards.h"

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
SingleProcess& single_process() {
  static SingleProcess s;
  return s;
}

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

template <class T>
void sum_shards(const Shards& sh, T* partials, int64_t len) {
  if constexpr (std::is_same_v<T, float>) {
    Comm& c = sh.communicator();
    if (sh.mode == ReduceMode::fast && c.size() > 1) {
      // Fast mode: local partials in order, then the library's all-reduce (its own order).
      for (int k = 1; k < sh.count; ++k)
        for (int64_t i = 0; i < len; ++i) partials[i] += partials[k * len + i];
      c.all_reduce_sum(partials, static_cast<size_t>(len), Device::cpu);
      return;
    }
  }
  size_t bytes = static_cast<size_t>(len) * sizeof(T);
  combine_shards(sh, partials, bytes, [len](void* acc, const void* other) {
    T* a = static_cast<T*>(acc);
    const T* b = static_cast<const T*>(other);
    for (int64_t i = 0; i < len; ++i) a[i] += b[i];
  });
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

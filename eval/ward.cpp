#include "eval/ward.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>

#include <omp.h>

#include "engine/tensor.h"
#include "eval/lanes.h"

namespace cytocon::eval {

namespace {

constexpr int64_t kCheck = 32;  // coordinates between early-abandon checks

// f·‖a − b‖², or +inf as soon as a partial sum shows it exceeds `bound`: partial lane sums never
// exceed the full one, so abandoning is exact (eval/lanes.h). Bitwise symmetric in a and b.
template <class T>
T scaled_distance(const T* a, const T* b, int64_t d, T f, T bound) {
  LaneSum<T> s;
  for (int64_t j = 0; j < d; j += kCheck) {
    if (j > 0 && f * s.total() > bound) return std::numeric_limits<T>::infinity();
    s.add(a + j, b + j, std::min(kCheck, d - j));
  }
  return f * s.total();
}

// A candidate nearest neighbour: ordered by Δ, then by key (the cluster's smallest member).
template <class T>
struct Best {
  T delta;
  int64_t key;
  bool operator<(const Best& o) const { return delta < o.delta || (delta == o.delta && key < o.key); }
};

// Active clusters, stored compactly (position p = 0..m-1) so the scan reads contiguous memory.
template <class T>
struct Clusters {
  int64_t d, m;
  std::vector<T> centroid;     // [n, d], first m rows active
  std::vector<int64_t> size;   // points per cluster
  std::vector<int64_t> key;    // smallest member index: the cluster's identity
  std::vector<int64_t> pos;    // key -> position, -1 when merged away
  // A lower bound of each cluster's nearest-neighbour Δ: exact when computed, and it stays a
  // lower bound after other merges because Δ(X, A∪B) >= min(Δ(X,A), Δ(X,B)) (reducibility).
  std::vector<T> nn_lower;
  std::vector<int64_t> nn_key;  // the key of the last nearest neighbour found, -1 if none

  T factor(int64_t p, int64_t q) const {
    T na = static_cast<T>(size[p]), nb = static_cast<T>(size[q]);
    return na * nb / (na + nb);
  }
  // Ward's Δ between positions p and q.
  T delta(int64_t p, int64_t q) const {
    return scaled_distance(&centroid[p * d], &centroid[q * d], d, factor(p, q),
                           std::numeric_limits<T>::infinity());
  }

  // Nearest cluster to position p among all others, given an upper bound of its Δ (a known
  // candidate's). Candidates whose nearest-neighbour lower bound, or a partial distance, exceeds
  // the bound are skipped: the same minimum, usually without reading their centroids. The
  // bound is fixed before the scan, so the set examined does not depend on the thread count.
  Best<T> nearest(int64_t p, T bound) {
    const int threads = omp_get_max_threads();
    std::vector<Best<T>> best(threads, Best<T>{std::numeric_limits<T>::infinity(), INT64_MAX});
#pragma omp parallel num_threads(threads) if (m * d > (1 << 20))
    {
      Best<T> b{std::numeric_limits<T>::infinity(), INT64_MAX};
#pragma omp for schedule(static)
      for (int64_t q = 0; q < m; ++q) {
        if (q == p || nn_lower[q] > bound) continue;
        Best<T> c{scaled_distance(&centroid[p * d], &centroid[q * d], d, factor(p, q), bound), key[q]};
        if (c < b) b = c;
      }
      best[omp_get_thread_num()] = b;
    }
    Best<T> r = best[0];
    for (int t = 1; t < threads; ++t)
      if (best[t] < r) r = best[t];
    nn_lower[p] = r.delta;
    nn_key[p] = r.key;
    return r;
  }

  // Merge position q into position p: c = (|A|c_A + |B|c_B)/(|A|+|B|); q is removed by moving
  // the last active cluster into its slot.
  void merge(int64_t p, int64_t q) {
    T na = static_cast<T>(size[p]), nb = static_cast<T>(size[q]), nt = na + nb;
    for (int64_t j = 0; j < d; ++j)
      centroid[p * d + j] = (na * centroid[p * d + j] + nb * centroid[q * d + j]) / nt;
    size[p] += size[q];
    const int64_t gone = std::max(key[p], key[q]);
    key[p] = std::min(key[p], key[q]);
    pos[key[p]] = p;
    pos[gone] = -1;
    nn_lower[p] = std::min(nn_lower[p], nn_lower[q]);
    nn_key[p] = -1;
    int64_t last = m - 1;
    if (q != last) {
      std::copy(&centroid[last * d], &centroid[last * d] + d, &centroid[q * d]);
      size[q] = size[last];
      key[q] = key[last];
      nn_lower[q] = nn_lower[last];
      nn_key[q] = nn_key[last];
      pos[key[q]] = q;
    }
    --m;
  }
};

// Union-find over points, for numbering merges the scipy way.
struct UnionFind {
  std::vector<int64_t> parent, label;
  explicit UnionFind(int64_t n) : parent(n), label(n) {
    std::iota(parent.begin(), parent.end(), 0);
    std::iota(label.begin(), label.end(), 0);
  }
  int64_t find(int64_t x) {
    while (parent[x] != x) x = parent[x] = parent[parent[x]];
    return x;
  }
};

}  // namespace

template <class T>
std::vector<Merge> ward_linkage(const T* x, int64_t n, int64_t d) {
  check(n >= 1 && d >= 1, "ward_linkage: need n >= 1 points of d >= 1 dimensions, got n=" +
                              std::to_string(n) + ", d=" + std::to_string(d));
  for (int64_t i = 0; i < n * d; ++i)
    if (!std::isfinite(x[i]))
      fail("ward_linkage: feature " + std::to_string(i % d) + " of point " + std::to_string(i / d) +
           " is not finite (expected finite features)");
  Clusters<T> cl{d, n, std::vector<T>(x, x + n * d), std::vector<int64_t>(n, 1),
                 std::vector<int64_t>(n), std::vector<int64_t>(n), std::vector<T>(n, T(0)),
                 std::vector<int64_t>(n, -1)};
  std::iota(cl.key.begin(), cl.key.end(), 0);
  std::iota(cl.pos.begin(), cl.pos.end(), 0);

  // Merges as found: the keys (smallest members) of the two clusters, Δ, merged size.
  struct Found {
    int64_t ka, kb;
    T delta;
    int64_t size;
  };
  std::vector<Found> found;
  found.reserve(n > 0 ? n - 1 : 0);
  std::vector<int64_t> chain;      // keys
  std::vector<char> in_chain(n, 0);
  while (cl.m > 1) {
    if (chain.empty()) {
      chain.push_back(*std::min_element(cl.key.begin(), cl.key.begin() + cl.m));
      in_chain[chain.back()] = 1;
    }
    const int64_t a = chain.back(), pa = cl.pos[a];
    const int64_t prev = chain.size() >= 2 ? chain[chain.size() - 2] : -1;
    // Upper bound of a's nearest Δ: the predecessor's Δ, or the last neighbour found for a.
    T bound = std::numeric_limits<T>::infinity();
    if (prev >= 0) bound = cl.delta(pa, cl.pos[prev]);
    if (cl.nn_key[pa] >= 0 && cl.pos[cl.nn_key[pa]] >= 0)
      bound = std::min(bound, cl.delta(pa, cl.pos[cl.nn_key[pa]]));
    Best<T> b = cl.nearest(pa, bound);
    if (prev >= 0) {
      // The predecessor wins ties: this is what makes the chain terminate (reciprocal pair).
      const int64_t pp = cl.pos[prev];
      const T dp = cl.delta(pa, pp);
      if (!(b.delta < dp)) {
        chain.pop_back();
        chain.pop_back();
        found.push_back({std::min(a, prev), std::max(a, prev), dp, cl.size[pa] + cl.size[pp]});
        in_chain[a] = in_chain[prev] = 0;
        cl.merge(pa, pp);
        continue;
      }
    }
    if (in_chain[b.key]) {
      // Only reachable when rounding breaks reducibility (a stale link): restart the chain at b.
      while (chain.back() != b.key) in_chain[chain.back()] = 0, chain.pop_back();
      continue;
    }
    chain.push_back(b.key);
    in_chain[b.key] = 1;
  }

  // Sort by Δ (stable), then number clusters as scipy does: merge i creates cluster n+i.
  std::vector<size_t> order(found.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t i, size_t j) { return found[i].delta < found[j].delta; });
  UnionFind uf(n);
  std::vector<Merge> merges;
  merges.reserve(found.size());
  for (size_t i = 0; i < order.size(); ++i) {
    const Found& f = found[order[i]];
    int64_t ra = uf.find(f.ka), rb = uf.find(f.kb);
    int64_t la = uf.label[ra], lb = uf.label[rb];
    merges.push_back({std::min(la, lb), std::max(la, lb),
                      std::sqrt(2.0 * static_cast<double>(f.delta)), f.size});
    uf.parent[rb] = ra;
    uf.label[ra] = n + static_cast<int64_t>(i);
  }
  return merges;
}

std::vector<int32_t> cut_tree(const std::vector<Merge>& merges, int64_t n, int k) {
  check(static_cast<int64_t>(merges.size()) == std::max<int64_t>(n - 1, 0),
        "cut_tree: " + std::to_string(merges.size()) + " merges for " + std::to_string(n) +
            " points (expected n-1)");
  const int64_t kk = std::min<int64_t>(std::max(k, 1), n);
  // Members of each cluster id, via union-find on a representative point of each id.
  std::vector<int64_t> rep(n + merges.size());
  std::iota(rep.begin(), rep.begin() + n, 0);
  UnionFind uf(n);
  for (int64_t i = 0; i < n - kk; ++i) {
    const Merge& m = merges[i];
    check(m.a >= 0 && m.b < n + i && m.a != m.b,
          "cut_tree: merge " + std::to_string(i) + " joins ids " + std::to_string(m.a) + " and " +
              std::to_string(m.b) + " (expected distinct ids < n+i)");
    int64_t ra = uf.find(rep[m.a]), rb = uf.find(rep[m.b]);
    uf.parent[std::max(ra, rb)] = std::min(ra, rb);
    rep[n + i] = std::min(ra, rb);
  }
  // Roots are the smallest member of their cluster (union by minimum).
  std::vector<int64_t> count(n, 0);
  for (int64_t i = 0; i < n; ++i) ++count[uf.find(i)];
  std::vector<int64_t> roots;
  for (int64_t i = 0; i < n; ++i)
    if (uf.find(i) == i) roots.push_back(i);
  std::stable_sort(roots.begin(), roots.end(),
                   [&](int64_t a, int64_t b) { return count[a] > count[b]; });
  std::vector<int32_t> label_of_root(n, 0), labels(n);
  for (size_t r = 0; r < roots.size(); ++r) label_of_root[roots[r]] = static_cast<int32_t>(r + 1);
  for (int64_t i = 0; i < n; ++i) labels[i] = label_of_root[uf.find(i)];
  return labels;
}

template std::vector<Merge> ward_linkage<float>(const float*, int64_t, int64_t);
template std::vector<Merge> ward_linkage<double>(const double*, int64_t, int64_t);

}  // namespace cytocon::eval

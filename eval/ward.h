// Ward hierarchical clustering (Ward 1963), exact, by the nearest-neighbour-chain algorithm
// (Murtagh 1983; Müllner 2011, "Modern hierarchical, agglomerative clustering algorithms").
//
// Ward's dissimilarity of clusters A and B is the increase of the within-cluster sum of squares
// when they merge:  Δ(A,B) = |A||B|/(|A|+|B|) · ‖c_A − c_B‖²  (c = centroid).
// It is exactly what the Lance-Williams update for Ward computes on squared Euclidean distances,
// so instead of an n×n matrix (3.2 GB at n = 20,000) we keep the centroids (n·d values) and
// recompute Δ from them: O(n) memory, O(n²·d) time, candidates scanned in parallel (OpenMP).
// Δ is reducible (Δ(A∪B, C) >= min(Δ(A,C), Δ(B,C))), so the chain finds the same merges as the
// greedy "merge the closest pair" algorithm.
//
// Heights follow scipy.cluster.hierarchy.linkage(method='ward'): height = sqrt(2·Δ), which is the
// Euclidean distance for two single points.
//
// Determinism: the result depends only on the input. Ties between candidates at the same Δ go to
// the cluster with the smallest member index (the chain's predecessor first, as the algorithm
// requires); per-thread minima are combined by that same total order, so any thread count gives
// the same merges.
#pragma once
#include <cstdint>
#include <vector>

namespace cytocon::eval {

// One merge, in scipy's linkage convention: a < b are cluster ids, ids < n are single points and
// id n+i is the cluster formed by merge i; `size` points in the merged cluster.
struct Merge {
  int64_t a, b;
  double height;
  int64_t size;
};

// The n-1 merges of Ward's algorithm on points x [n, d] (row-major), sorted by height (stable:
// equal heights keep the order in which the chain found them), then numbered as scipy does.
template <class T>
std::vector<Merge> ward_linkage(const T* x, int64_t n, int64_t d);

// Flat clustering with k clusters: the partition after the first n-k merges of `merges` (sorted
// by height). Labels are 1..k, ordered by cluster size descending, ties by the smallest member
// index. k is clamped to [1, n].
std::vector<int32_t> cut_tree(const std::vector<Merge>& merges, int64_t n, int k);

}  // namespace cytocon::eval

// Contiguity along the cortical ribbon (docs/map.md "Smoothing"): a centreline's per-point area
// probabilities decoded as one sequence, and the border error of a predicted sequence against the
// reference. Beyond the paper, which classifies every patch on its own.
#pragma once
#include <cstdint>
#include <vector>

namespace cytocon::map {

// The most probable area sequence s_1..s_n of one centreline under a switch penalty (Viterbi):
//
//   minimise  Σ_i Δ · (−ln p_i(s_i))  +  λ · #{i > 1 : s_i ≠ s_{i−1}}
//
// p_i = prob[i·C .. i·C + C) (softmax probabilities, floored at 1e-30), Δ = the point spacing in
// mm, λ = `penalty` (nats·mm per switch). Weighting by Δ makes λ independent of the spacing: a
// switch is taken when it explains λ nats·mm of evidence. λ = 0 is the per-point argmax; a large
// λ gives one area (the one with the largest Σ ln p). Ties: staying in the same area wins, then
// the lower class id. O(n·C) time. n = 0 gives an empty result.
std::vector<int32_t> viterbi(const float* prob, int64_t n, int64_t C, double spacing_mm, double penalty);

// Per-point argmax (ties: the lower class id), the `--smooth none` decoding.
std::vector<int32_t> argmax(const float* prob, int64_t n, int64_t C);

// Border error along one centreline (docs/map.md "Border error"). pos_mm: each point's position
// along the line (ascending); truth: reference area per point, −1 = unknown; pred: predicted area.
// A reference border lies midway between consecutive points with known, different reference
// areas; a predicted border midway between consecutive points with different predicted areas,
// and the line's two ends count as predicted borders (a run ends there). Returns, per reference
// border in line order, the distance in mm to the nearest predicted border.
std::vector<double> border_errors(const std::vector<double>& pos_mm, const std::vector<int32_t>& truth,
                                  const std::vector<int32_t>& pred);

// The other direction, which border_errors cannot see (a border predicted between every two
// points gives border errors of at most half a spacing): per predicted border, the distance in mm
// to the nearest reference border, the line's ends counting as reference borders. Empty when the
// line has no reference area at all.
std::vector<double> spurious_border_errors(const std::vector<double>& pos_mm, const std::vector<int32_t>& truth,
                                           const std::vector<int32_t>& pred);

}  // namespace cytocon::map

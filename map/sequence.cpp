#include "map/sequence.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "engine/tensor.h"

namespace cytocon::map {

std::vector<int32_t> argmax(const float* prob, int64_t n, int64_t C) {
  std::vector<int32_t> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const float* p = prob + i * C;
    out[i] = static_cast<int32_t>(std::max_element(p, p + C) - p);  // first maximum: lower id
  }
  return out;
}

std::vector<int32_t> viterbi(const float* prob, int64_t n, int64_t C, double spacing_mm, double penalty) {
  check(C >= 1, "viterbi: need at least one class, got " + std::to_string(C));
  check(spacing_mm > 0 && std::isfinite(spacing_mm), "viterbi: spacing must be > 0 mm, got " + std::to_string(spacing_mm));
  check(penalty >= 0 && std::isfinite(penalty), "viterbi: penalty must be >= 0, got " + std::to_string(penalty));
  std::vector<int32_t> path(static_cast<size_t>(n));
  if (n == 0) return path;
  auto cost = [&](int64_t i, int64_t c) {  // Δ · (−ln p), the emission cost
    return -spacing_mm * std::log(std::max(static_cast<double>(prob[i * C + c]), 1e-30));
  };
  // D[c]: the least cost of points 0..i ending in c; from[i·C + c]: the area of point i−1 on it.
  std::vector<double> D(static_cast<size_t>(C)), next(static_cast<size_t>(C));
  std::vector<int32_t> from(static_cast<size_t>(n * C));
  for (int64_t c = 0; c < C; ++c) D[c] = cost(0, c);
  for (int64_t i = 1; i < n; ++i) {
    const int64_t best = std::min_element(D.begin(), D.end()) - D.begin();  // lower id on ties
    const double switched = D[best] + penalty;
    for (int64_t c = 0; c < C; ++c) {
      const bool stay = D[c] <= switched;
      next[c] = (stay ? D[c] : switched) + cost(i, c);
      from[i * C + c] = static_cast<int32_t>(stay ? c : best);
    }
    D.swap(next);
  }
  path[n - 1] = static_cast<int32_t>(std::min_element(D.begin(), D.end()) - D.begin());
  for (int64_t i = n - 1; i > 0; --i) path[i - 1] = from[i * C + path[i]];
  return path;
}

std::vector<double> border_errors(const std::vector<double>& pos_mm, const std::vector<int32_t>& truth,
                                  const std::vector<int32_t>& pred) {
  const size_t n = pos_mm.size();
  check(truth.size() == n && pred.size() == n,
        "border_errors: " + std::to_string(n) + " positions but " + std::to_string(truth.size()) +
            " reference and " + std::to_string(pred.size()) + " predicted areas");
  std::vector<double> predicted, errors;
  if (n == 0) return errors;
  predicted.push_back(pos_mm.front());
  for (size_t i = 0; i + 1 < n; ++i)
    if (pred[i] != pred[i + 1]) predicted.push_back(0.5 * (pos_mm[i] + pos_mm[i + 1]));
  predicted.push_back(pos_mm.back());
  for (size_t i = 0; i + 1 < n; ++i) {
    if (truth[i] < 0 || truth[i + 1] < 0 || truth[i] == truth[i + 1]) continue;
    const double b = 0.5 * (pos_mm[i] + pos_mm[i + 1]);
    double best = std::numeric_limits<double>::infinity();
    for (double q : predicted) best = std::min(best, std::abs(q - b));
    errors.push_back(best);
  }
  return errors;
}

}  // namespace cytocon::map

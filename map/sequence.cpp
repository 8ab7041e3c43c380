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

namespace {

// Borders of a sequence: midway between consecutive points i, i+1 with labels that differ (both
// known, i.e. >= 0).
std::vector<double> borders(const std::vector<double>& pos_mm, const std::vector<int32_t>& label) {
  std::vector<double> b;
  for (size_t i = 0; i + 1 < pos_mm.size(); ++i)
    if (label[i] >= 0 && label[i + 1] >= 0 && label[i] != label[i + 1]) b.push_back(0.5 * (pos_mm[i] + pos_mm[i + 1]));
  return b;
}

// For each of `from`, the distance to the nearest of `to` and the line's two ends.
std::vector<double> nearest(const std::vector<double>& from, std::vector<double> to, const std::vector<double>& pos_mm) {
  to.push_back(pos_mm.front());
  to.push_back(pos_mm.back());
  std::vector<double> d;
  for (double b : from) {
    double best = std::numeric_limits<double>::infinity();
    for (double q : to) best = std::min(best, std::abs(q - b));
    d.push_back(best);
  }
  return d;
}

void check_lengths(const char* what, size_t n, size_t truth, size_t pred) {
  check(truth == n && pred == n, std::string(what) + ": " + std::to_string(n) + " positions but " +
                                     std::to_string(truth) + " reference and " + std::to_string(pred) + " predicted areas");
}

}  // namespace

std::vector<double> border_errors(const std::vector<double>& pos_mm, const std::vector<int32_t>& truth,
                                  const std::vector<int32_t>& pred) {
  check_lengths("border_errors", pos_mm.size(), truth.size(), pred.size());
  if (pos_mm.empty()) return {};
  return nearest(borders(pos_mm, truth), borders(pos_mm, pred), pos_mm);
}

std::vector<double> spurious_border_errors(const std::vector<double>& pos_mm, const std::vector<int32_t>& truth,
                                           const std::vector<int32_t>& pred) {
  check_lengths("spurious_border_errors", pos_mm.size(), truth.size(), pred.size());
  if (std::none_of(truth.begin(), truth.end(), [](int32_t t) { return t >= 0; })) return {};
  return nearest(borders(pos_mm, pred), borders(pos_mm, truth), pos_mm);
}

}  // namespace cytocon::map

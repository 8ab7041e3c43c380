#include "eval/metrics.h"

#include <string>

#include "engine/cpu/topk.h"
#include "engine/tensor.h"

namespace cytocon::eval {

std::vector<int32_t> top_k(const float* scores, int64_t n, int64_t c, int k) {
  check(k >= 1 && k <= c, "top_k: k = " + std::to_string(k) + " must be in [1, " + std::to_string(c) +
                              "] (the number of classes)");
  std::vector<int32_t> out(static_cast<size_t>(n) * k);
  cpu::topk(n, c, scores, k, out.data());
  return out;
}

Metrics compute_metrics(const std::vector<int32_t>& y, const std::vector<int32_t>& top, int k,
                        int num_classes) {
  const int64_t n = static_cast<int64_t>(y.size());
  check(k >= 1, "compute_metrics: k = " + std::to_string(k) + ", expected >= 1");
  check(num_classes >= 1, "compute_metrics: num_classes = " + std::to_string(num_classes));
  check(top.size() == static_cast<size_t>(n) * k,
        "compute_metrics: " + std::to_string(top.size()) + " predictions for " + std::to_string(n) +
            " samples x k=" + std::to_string(k));
  auto valid = [num_classes](int32_t c) { return c >= 0 && c < num_classes; };
  Metrics m;
  m.n = n;
  m.per_class.resize(num_classes);
  m.confusion.assign(static_cast<size_t>(num_classes) * num_classes, 0);
  int64_t hit1 = 0, hit3 = 0;
  const int k3 = k < 3 ? k : 3;
  for (int64_t i = 0; i < n; ++i) {
    const int32_t t = y[i], p = top[i * k];
    check(valid(t), "compute_metrics: true class " + std::to_string(t) + " of sample " +
                        std::to_string(i) + " outside [0, " + std::to_string(num_classes) + ")");
    for (int j = 0; j < k; ++j)
      check(valid(top[i * k + j]), "compute_metrics: predicted class " + std::to_string(top[i * k + j]) +
                                       " of sample " + std::to_string(i) + " outside [0, " +
                                       std::to_string(num_classes) + ")");
    ++m.confusion[static_cast<size_t>(t) * num_classes + p];
    hit1 += p == t;
    for (int j = 0; j < k3; ++j)
      if (top[i * k + j] == t) {
        ++hit3;
        break;
      }
  }
  double weighted = 0;
  for (int c = 0; c < num_classes; ++c) {
    ClassMetrics& cm = m.per_class[c];
    int64_t tp = m.confusion[static_cast<size_t>(c) * num_classes + c];
    for (int o = 0; o < num_classes; ++o) {
      cm.support += m.confusion[static_cast<size_t>(c) * num_classes + o];
      cm.predicted += m.confusion[static_cast<size_t>(o) * num_classes + c];
    }
    cm.precision = cm.predicted > 0 ? static_cast<double>(tp) / cm.predicted : 0.0;
    cm.recall = cm.support > 0 ? static_cast<double>(tp) / cm.support : 0.0;
    int64_t denom = 2 * tp + (cm.predicted - tp) + (cm.support - tp);  // 2tp + fp + fn
    cm.f1 = denom > 0 ? 2.0 * static_cast<double>(tp) / static_cast<double>(denom) : 0.0;
    weighted += cm.f1 * static_cast<double>(cm.support);
  }
  if (n > 0) {
    m.f1_weighted = weighted / n;
    m.top1 = static_cast<double>(hit1) / n;
    m.top3 = static_cast<double>(hit3) / n;
  }
  return m;
}

}  // namespace cytocon::eval

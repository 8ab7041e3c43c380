// Classification metrics of cytocon-eval (docs/design.md "Evaluation"): weighted F1 exactly as
// scikit-learn's f1_score(average='weighted'), top-1 and top-3 accuracy, per-class precision,
// recall, F1 and support, and the confusion matrix.
#pragma once
#include <cstdint>
#include <vector>

namespace cytocon::eval {

struct ClassMetrics {
  double precision = 0, recall = 0, f1 = 0;
  int64_t support = 0;    // samples whose true class is this one
  int64_t predicted = 0;  // samples predicted (top-1) as this one
};

struct Metrics {
  int64_t n = 0;
  double f1_weighted = 0, top1 = 0, top3 = 0;  // fractions in [0,1]
  std::vector<ClassMetrics> per_class;         // one per class id
  std::vector<int64_t> confusion;              // [c*c], row = true class, column = top-1 prediction
};

// The k best classes of each row of scores [n,c] (k <= c), best first; equal scores go to the
// lower class index (the engine's topk, engine/cpu/topk.h). NaN scores are an error.
std::vector<int32_t> top_k(const float* scores, int64_t n, int64_t c, int k);

// Metrics from the true classes y [n] and each sample's ranked predictions top [n,k] (k >= 1,
// class ids in [0,c)). Per class (zero division gives 0, as scikit-learn's default):
//   precision = tp/(tp+fp), recall = tp/(tp+fn), F1 = 2·tp/(2·tp+fp+fn) (= 2PR/(P+R), the form
//   scikit-learn >= 1.3 computes);
//   f1_weighted = Σ_c support_c·F1_c / n. A class absent from y has weight 0 even when it is
//   predicted; the samples predicted as it still count as misses of their own true classes.
// top1 = fraction with top[i,0] == y[i]; top3 = fraction with y[i] among the first min(k,3).
Metrics compute_metrics(const std::vector<int32_t>& y, const std::vector<int32_t>& top, int k,
                        int num_classes);

}  // namespace cytocon::eval

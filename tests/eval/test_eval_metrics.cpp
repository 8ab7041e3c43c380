// Metrics against hand-computed cases: weighted F1 with a class that is predicted but never
// true (weight 0) and classes absent altogether, top-1/top-3, and top-k ties (lower index wins).
#include <gtest/gtest.h>

#include "eval/metrics.h"

using namespace cytocon::eval;

TEST(Metrics, WeightedF1WithAbsentClassesByHand) {
  // 5 classes: 0,1,2 occur; 3 is predicted once but never true; 4 appears nowhere.
  std::vector<int32_t> y = {0, 0, 0, 1, 1, 2};
  std::vector<int32_t> p = {0, 0, 1, 1, 3, 2};
  Metrics m = compute_metrics(y, p, 1, 5);
  // class 0: tp 2, fp 0, fn 1 -> P 1, R 2/3, F1 = 4/5
  // class 1: tp 1, fp 1, fn 1 -> P 1/2, R 1/2, F1 = 1/2
  // class 2: tp 1 -> F1 = 1;   class 3: tp 0, fp 1, support 0 -> F1 0 with weight 0
  // weighted = (3*0.8 + 2*0.5 + 1*1 + 0*0 + 0*0) / 6 = 4.4/6 (sklearn average='weighted')
  EXPECT_NEAR(m.f1_weighted, 4.4 / 6.0, 1e-15);
  EXPECT_NEAR(m.top1, 4.0 / 6.0, 1e-15);
  EXPECT_NEAR(m.top3, 4.0 / 6.0, 1e-15);  // k = 1: top-3 is top-1
  EXPECT_DOUBLE_EQ(m.per_class[0].precision, 1.0);
  EXPECT_NEAR(m.per_class[0].recall, 2.0 / 3.0, 1e-15);
  EXPECT_NEAR(m.per_class[0].f1, 0.8, 1e-15);
  EXPECT_DOUBLE_EQ(m.per_class[1].precision, 0.5);
  EXPECT_DOUBLE_EQ(m.per_class[1].recall, 0.5);
  EXPECT_DOUBLE_EQ(m.per_class[2].f1, 1.0);
  EXPECT_EQ(m.per_class[3].support, 0);
  EXPECT_EQ(m.per_class[3].predicted, 1);
  EXPECT_DOUBLE_EQ(m.per_class[3].precision, 0.0);  // zero division -> 0
  EXPECT_DOUBLE_EQ(m.per_class[4].f1, 0.0);
  EXPECT_EQ(m.per_class[0].support, 3);
  // The unweighted (macro) mean over occurring classes would be 0.575 or 0.46: the weights matter.
  EXPECT_GT(m.f1_weighted, 0.7);
  // Confusion: row true, column predicted.
  EXPECT_EQ(m.confusion[0 * 5 + 0], 2);
  EXPECT_EQ(m.confusion[0 * 5 + 1], 1);
  EXPECT_EQ(m.confusion[1 * 5 + 3], 1);
  int64_t total = 0;
  for (int64_t c : m.confusion) total += c;
  EXPECT_EQ(total, 6);
}

TEST(Metrics, PerfectAndAllWrong) {
  std::vector<int32_t> y = {2, 1, 0, 2};
  EXPECT_DOUBLE_EQ(compute_metrics(y, y, 1, 3).f1_weighted, 1.0);
  Metrics w = compute_metrics(y, {0, 0, 1, 1}, 1, 3);
  EXPECT_DOUBLE_EQ(w.f1_weighted, 0.0);
  EXPECT_DOUBLE_EQ(w.top1, 0.0);
}

TEST(Metrics, TopKTiesGoToTheLowerClassIndex) {
  // Row 0: classes 0, 1, 3 tie at 0.5 -> order 0, 1, 3.  Row 1: all equal -> 0, 1, 2.
  // Row 2: 2 is best, then 0 and 3 tie at 0.3 -> 2, 0, 3.
  std::vector<float> s = {0.5f, 0.5f, 0.1f, 0.5f,  //
                          0.2f, 0.2f, 0.2f, 0.2f,  //
                          0.3f, 0.1f, 0.9f, 0.3f};
  std::vector<int32_t> top = top_k(s.data(), 3, 4, 3);
  EXPECT_EQ(top, (std::vector<int32_t>{0, 1, 3, 0, 1, 2, 2, 0, 3}));
  // True classes 3, 3, 3: row 0 hits in top-3 (3rd), row 1 misses (3 lost the tie), row 2 hits.
  Metrics m = compute_metrics({3, 3, 3}, top, 3, 4);
  EXPECT_DOUBLE_EQ(m.top1, 0.0);
  EXPECT_NEAR(m.top3, 2.0 / 3.0, 1e-15);
}

TEST(Metrics, TopThreeCountsOnlyTheFirstThree) {
  // k = 4 predictions per sample: a hit in 4th place is not a top-3 hit.
  Metrics m = compute_metrics({3}, {0, 1, 2, 3}, 4, 4);
  EXPECT_DOUBLE_EQ(m.top3, 0.0);
}

TEST(Metrics, BadInputIsAnError) {
  EXPECT_THROW(compute_metrics({0, 5}, {0, 0}, 1, 3), std::exception);   // true class 5 of 3
  EXPECT_THROW(compute_metrics({0, 1}, {0, -1}, 1, 3), std::exception);  // prediction -1
  EXPECT_THROW(compute_metrics({0, 1}, {0}, 1, 3), std::exception);      // length mismatch
  std::vector<float> s = {1, 2};
  EXPECT_THROW(top_k(s.data(), 1, 2, 3), std::exception);  // k > classes
}

TEST(Metrics, EmptySetGivesZeros) {
  Metrics m = compute_metrics({}, {}, 1, 3);
  EXPECT_EQ(m.n, 0);
  EXPECT_EQ(m.f1_weighted, 0.0);
}

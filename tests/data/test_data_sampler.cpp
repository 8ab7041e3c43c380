// Class-balanced epoch sampler: counts, balance, oversampling, determinism, rank-independent ranges.
#include <gtest/gtest.h>

#include <map>

#include "data/sampler.h"
#include "data_test_util.h"

using namespace cytocon::data;
using namespace cytocon::data::testing;

namespace {

std::shared_ptr<Dataset> dataset() {
  static std::shared_ptr<Dataset> ds = [] {
    const std::string dir = temp_dir("sampler");
    make_dataset(dir, 2, 5, 4);  // areas with 3, 8, 13, 18 points per section
    DatasetOptions o;
    o.spacing_um = 20;
    o.quiet = true;
    return Dataset::open(dir, o);
  }();
  return ds;
}

TEST(Sampler, PatchesPerAreaAndOversampling) {
  auto ds = dataset();
  Sampler s(ds, {Split::train, 50, 7});
  ASSERT_EQ(s.num_areas_present(), 4);
  ASSERT_EQ(s.size(), 200);
  const auto all = s.range(0, 0, s.size());
  std::map<int, int> per_class;
  std::map<int, int> per_point;
  for (const auto& r : all) {
    ++per_class[r.label];
    ++per_point[r.point];
    EXPECT_EQ(ds->sections()[r.section].split, Split::train);
    EXPECT_EQ(ds->points()[r.point].label, r.label);
  }
  for (int c = 0; c < 4; ++c) EXPECT_EQ(per_class[c], 50);
  // Area 0 has 3 points × 8 train sections = 24 < 50: every point drawn 2 or 3 times.
  // Area 3 has 18 × 8 = 144 > 50: 50 distinct points.
  int distinct3 = 0;
  for (const auto& [p, n] : per_point) {
    const int label = ds->points()[p].label;
    if (label == 0) {
      EXPECT_TRUE(n == 2 || n == 3) << n;
    }
    if (label == 3) {
      EXPECT_EQ(n, 1);
      ++distinct3;
    }
  }
  EXPECT_EQ(distinct3, 50);
  int drawn0 = 0;
  for (const auto& [p, n] : per_point) drawn0 += ds->points()[p].label == 0;
  EXPECT_EQ(drawn0, 24);  // all of them
}

TEST(Sampler, DeterministicInSeedAndEpochAndShuffled) {
  auto ds = dataset();
  Sampler a(ds, {Split::train, 50, 7}), b(ds, {Split::train, 50, 7}), c(ds, {Split::train, 50, 8});
  auto pts = [](const std::vector<SampleRef>& v) {
    std::vector<int> p;
    for (const auto& r : v) p.push_back(r.point);
    return p;
  };
  EXPECT_EQ(pts(a.range(3, 0, 200)), pts(b.range(3, 0, 200)));
  EXPECT_NE(pts(a.range(3, 0, 200)), pts(a.range(4, 0, 200)));
  EXPECT_NE(pts(a.range(3, 0, 200)), pts(c.range(3, 0, 200)));
  // Shuffled across classes: the first 50 are not all one class.
  std::map<int, int> first;
  for (const auto& r : a.range(0, 0, 50)) ++first[r.label];
  EXPECT_GE(first.size(), 3u);
}

TEST(Sampler, RangesAreSlicesOfTheGlobalOrder) {
  auto ds = dataset();
  Sampler s(ds, {Split::train, 50, 7});
  const auto all = s.range(2, 0, 200);
  for (int R : {1, 2, 4, 8}) {
    std::vector<SampleRef> cat;
    for (int r = 0; r < R; ++r) {
      auto part = s.range(2, 200 * r / R, 200 * (r + 1) / R);
      cat.insert(cat.end(), part.begin(), part.end());
    }
    ASSERT_EQ(cat.size(), all.size());
    for (size_t i = 0; i < all.size(); ++i) {
      EXPECT_EQ(cat[i].point, all[i].point);
      EXPECT_EQ(cat[i].index, static_cast<int64_t>(i));
    }
  }
}

TEST(Sampler, EvaluationListsEveryPointOnceInOrder) {
  auto ds = dataset();
  Sampler s(ds, {Split::test, 0, 7});
  const auto& pts = ds->points_in(Split::test);
  ASSERT_EQ(s.size(), static_cast<int64_t>(pts.size()));
  const auto all = s.range(5, 0, s.size());
  for (size_t i = 0; i < pts.size(); ++i) EXPECT_EQ(all[i].point, pts[i]);
}

TEST(Sampler, BadRangesAreErrors) {
  Sampler s(dataset(), {Split::train, 10, 1});
  EXPECT_THROW(s.range(0, 5, 3), std::exception);
  EXPECT_THROW(s.range(0, 0, s.size() + 1), std::exception);
}

}  // namespace

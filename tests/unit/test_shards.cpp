#include <gtest/gtest.h>

#include <vector>

#include "engine/rng.h"
#include "engine/shards.h"

using namespace cytocon;

TEST(Shards, RejectsBadShardCounts) {
  EXPECT_THROW(Shards::make(6, 0, 1), std::runtime_error);
  EXPECT_THROW(Shards::make(8, 0, 3), std::runtime_error);
  Shards s = Shards::make(8, 1, 4);
  EXPECT_EQ(s.first, 2);
  EXPECT_EQ(s.count, 2);
  EXPECT_THROW(s.shard_size(3), std::runtime_error);
}

TEST(Shards, TreeSumIsPairwise) {
  // Values chosen so that sequential and pairwise float sums differ: ((a+b)+(c+d)).
  std::vector<float> p = {1e8f, 1.f, -1e8f, 1.f};
  Shards s = Shards::make(4, 0, 1);
  sum_shards(s, p.data(), 1);
  float expect = (1e8f + 1.f) + (-1e8f + 1.f);
  EXPECT_EQ(p[0], expect);
}

TEST(Shards, ChanMergeMatchesDirectMoments) {
  Rng rng(7, Purpose::test);
  std::vector<double> x(64);
  for (int i = 0; i < 64; ++i) x[i] = 100.0 + rng.normal(i);
  std::vector<Moments<double>> m(8);
  for (int s = 0; s < 8; ++s) {
    double mean = 0, m2 = 0;
    for (int i = 0; i < 8; ++i) mean += x[s * 8 + i];
    mean /= 8;
    for (int i = 0; i < 8; ++i) m2 += (x[s * 8 + i] - mean) * (x[s * 8 + i] - mean);
    m[s] = {8.0, mean, m2};
  }
  merge_moments(Shards::make(8, 0, 1), m.data(), 1);
  double mean = 0, m2 = 0;
  for (double v : x) mean += v;
  mean /= 64;
  for (double v : x) m2 += (v - mean) * (v - mean);
  EXPECT_EQ(m[0].n, 64.0);
  EXPECT_NEAR(m[0].mean, mean, 1e-12);
  EXPECT_NEAR(m[0].m2, m2, 1e-9);
}

TEST(Philox, KnownAnswer) {
  // Random123 known-answer test for philox4x32_10: counter = key = 0.
  Philox4x32 r = philox4x32_10({{0, 0, 0, 0}}, 0, 0);
  EXPECT_EQ(r.v[0], 0x6627e8d5u);
  EXPECT_EQ(r.v[1], 0xe169c58du);
  EXPECT_EQ(r.v[2], 0xbc57ac4cu);
  EXPECT_EQ(r.v[3], 0x9b00dbd8u);
  // counter = key = all ones.
  r = philox4x32_10({{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}}, 0xffffffffu, 0xffffffffu);
  EXPECT_EQ(r.v[0], 0x408f276du);
  EXPECT_EQ(r.v[1], 0x41c83b0eu);
  EXPECT_EQ(r.v[2], 0xa20bc7c6u);
  EXPECT_EQ(r.v[3], 0x6d5451fdu);
}

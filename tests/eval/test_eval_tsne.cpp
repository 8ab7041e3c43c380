// Barnes-Hut t-SNE: affinities form a symmetric distribution with the requested perplexity, the
// gradient matches finite differences of KL (θ = 0) and the exact gradient approximately (θ = 0.5),
// the optimisation lowers KL and keeps well-separated Gaussian clusters apart, and runs are
// bit-identical across reruns and thread counts.
#include <gtest/gtest.h>

#include <omp.h>

#include <cmath>

#include "engine/rng.h"
#include "eval/tsne.h"

using namespace cytocon;
using namespace cytocon::eval;

namespace {

// c clusters of m points each in d dimensions: centres 20 apart per axis, unit noise.
std::vector<float> blobs(int c, int m, int d, uint64_t seed, std::vector<int>* label) {
  Rng r(seed, Purpose::test);
  std::vector<float> x(static_cast<size_t>(c) * m * d);
  for (int k = 0; k < c; ++k)
    for (int i = 0; i < m; ++i) {
      int row = k * m + i;
      if (label) label->push_back(k);
      for (int j = 0; j < d; ++j)
        x[row * d + j] = static_cast<float>(r.normal(row * d + j) + (j % c == k ? 20.0 : 0.0));
    }
  return x;
}

std::vector<double> random_y(int64_t n, uint64_t seed) {
  Rng r(seed, Purpose::test);
  std::vector<double> y(2 * n);
  for (int64_t i = 0; i < 2 * n; ++i) y[i] = 3 * r.normal(static_cast<uint32_t>(i));
  return y;
}

}  // namespace

TEST(Tsne, AffinitiesAreSymmetricAndSumToOne) {
  std::vector<float> x = blobs(3, 30, 5, 1, nullptr);
  SparseP p = tsne_affinities(x.data(), 90, 5, 10);
  double total = 0;
  for (int64_t i = 0; i < p.n; ++i)
    for (int64_t t = p.row[i]; t < p.row[i + 1]; ++t) {
      total += p.val[t];
      int64_t j = p.col[t];
      EXPECT_NE(i, j);
      double back = -1;
      for (int64_t u = p.row[j]; u < p.row[j + 1]; ++u)
        if (p.col[u] == i) back = p.val[u];
      EXPECT_DOUBLE_EQ(back, p.val[t]);
    }
  EXPECT_NEAR(total, 1.0, 1e-12);
}

TEST(Tsne, ExactGradientMatchesFiniteDifferencesOfKl) {
  std::vector<float> x = blobs(2, 20, 4, 2, nullptr);
  SparseP p = tsne_affinities(x.data(), 40, 4, 5);
  std::vector<double> y = random_y(40, 3);
  std::vector<double> g = tsne_gradient(p, y, 0.0);
  const double h = 1e-6;
  for (int t : {0, 1, 17, 40, 79}) {
    std::vector<double> a = y, b = y;
    a[t] += h, b[t] -= h;
    double fd = (tsne_kl(p, a, 0.0) - tsne_kl(p, b, 0.0)) / (2 * h);
    EXPECT_NEAR(g[t], fd, 1e-6 * (1 + std::fabs(fd))) << "coordinate " << t;
  }
}

TEST(Tsne, BarnesHutApproximatesTheExactGradient) {
  std::vector<float> x = blobs(4, 100, 8, 4, nullptr);
  SparseP p = tsne_affinities(x.data(), 400, 8, 30);
  std::vector<double> y = random_y(400, 5);
  std::vector<double> exact = tsne_gradient(p, y, 0.0), bh = tsne_gradient(p, y, 0.5);
  double num = 0, den = 0;
  for (size_t t = 0; t < y.size(); ++t) num += (bh[t] - exact[t]) * (bh[t] - exact[t]), den += exact[t] * exact[t];
  EXPECT_LT(std::sqrt(num / den), 0.05);
  EXPECT_GT(std::sqrt(num / den), 0.0);  // θ = 0.5 really approximates
}

TEST(Tsne, LowersKlAndKeepsClustersApart) {
  std::vector<int> label;
  std::vector<float> x = blobs(4, 60, 10, 6, &label);
  const int64_t n = 240;
  TsneOptions opt;
  opt.iterations = 500;
  opt.log_every = 50;
  TsneResult r = tsne(x.data(), n, 10, opt);
  SparseP p = tsne_affinities(x.data(), n, 10, r.perplexity);
  double kl0 = tsne_kl(p, tsne_pca_init(x.data(), n, 10, 0), 0.0);
  double kl1 = tsne_kl(p, r.y, 0.0);
  EXPECT_LT(kl1, 0.5 * kl0) << "KL at PCA init " << kl0 << ", after " << kl1;
  ASSERT_FALSE(r.kl.empty());
  EXPECT_LE(r.kl.back().second, r.kl[opt.exaggeration_iters / opt.log_every].second);
  // Nearest neighbour in 2-D belongs to the same cluster: purity 1.
  int same = 0;
  for (int64_t i = 0; i < n; ++i) {
    double best = INFINITY;
    int64_t bj = -1;
    for (int64_t j = 0; j < n; ++j) {
      if (j == i) continue;
      double dx = r.y[2 * i] - r.y[2 * j], dy = r.y[2 * i + 1] - r.y[2 * j + 1];
      if (dx * dx + dy * dy < best) best = dx * dx + dy * dy, bj = j;
    }
    same += label[i] == label[bj];
  }
  EXPECT_EQ(same, n);
  // Clusters are apart: every cluster's centroid is farther from the others than its own spread.
  double cx[4] = {}, cy[4] = {}, spread[4] = {};
  for (int64_t i = 0; i < n; ++i) cx[label[i]] += r.y[2 * i] / 60, cy[label[i]] += r.y[2 * i + 1] / 60;
  for (int64_t i = 0; i < n; ++i)
    spread[label[i]] = std::max(spread[label[i]], std::hypot(r.y[2 * i] - cx[label[i]], r.y[2 * i + 1] - cy[label[i]]));
  for (int a = 0; a < 4; ++a)
    for (int b = a + 1; b < 4; ++b)
      EXPECT_GT(std::hypot(cx[a] - cx[b], cy[a] - cy[b]), spread[a] + spread[b]) << a << " vs " << b;
}

TEST(Tsne, PcaInitFollowsTheMainAxisAtScale1e4) {
  // Points spread along (1, 1, 0)/√2 with small noise: PC1 is that axis.
  Rng r(7, Purpose::test);
  std::vector<float> x;
  for (int i = 0; i < 100; ++i) {
    double t = r.normal(i), e = 0.01 * r.normal(1000 + i);
    x.insert(x.end(), {static_cast<float>(t + e), static_cast<float>(t - e), static_cast<float>(0.01 * r.normal(2000 + i))});
  }
  std::vector<double> y = tsne_pca_init(x.data(), 100, 3, 0);
  double m = 0, v = 0;
  for (int i = 0; i < 100; ++i) m += y[2 * i] / 100;
  for (int i = 0; i < 100; ++i) v += (y[2 * i] - m) * (y[2 * i] - m) / 100;
  EXPECT_NEAR(std::sqrt(v), 1e-4, 1e-12);
  // First coordinate proportional to the centred x0 + x1 (up to the sign convention).
  double mb = 0, c = 0, sa = 0, sb = 0;
  for (int i = 0; i < 100; ++i) mb += (x[3 * i] + x[3 * i + 1]) / 100.0;
  for (int i = 0; i < 100; ++i) {
    double a = y[2 * i], b = x[3 * i] + x[3 * i + 1] - mb;
    c += a * b, sa += a * a, sb += b * b;
  }
  EXPECT_GT(std::fabs(c) / std::sqrt(sa * sb), 0.99999);
}

TEST(Tsne, BitIdenticalAcrossRerunsAndThreadCounts) {
  // 1200 points: above the size where loops run on several threads.
  std::vector<float> x = blobs(3, 400, 6, 8, nullptr);
  TsneOptions opt;
  opt.iterations = 30;
  opt.exaggeration_iters = 15;
  int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  TsneResult a = tsne(x.data(), 1200, 6, opt);
  omp_set_num_threads(std::max(2, saved));
  TsneResult b = tsne(x.data(), 1200, 6, opt);
  TsneResult c = tsne(x.data(), 1200, 6, opt);
  omp_set_num_threads(saved);
  EXPECT_EQ(a.y, b.y);
  EXPECT_EQ(b.y, c.y);
}

TEST(Tsne, SmallSetsClampThePerplexityAndBadInputFails) {
  std::vector<float> x = blobs(2, 5, 3, 9, nullptr);
  TsneOptions opt;
  opt.iterations = 50;
  TsneResult r = tsne(x.data(), 10, 3, opt);
  EXPECT_DOUBLE_EQ(r.perplexity, 3.0);
  for (double v : r.y) EXPECT_TRUE(std::isfinite(v));
  std::vector<float> bad = {0, NAN, 1, 2};
  EXPECT_THROW(tsne(bad.data(), 2, 2, opt), std::exception);
  EXPECT_THROW(tsne(x.data(), 1, 3, opt), std::exception);
}

TEST(Tsne, IdenticalFeaturesStillGiveAFiniteMap) {
  // A collapsed encoder: no variance for PCA (Philox fallback), all neighbour distances 0.
  std::vector<float> x(50 * 4, 0.25f);
  TsneOptions opt;
  opt.iterations = 60;
  opt.exaggeration_iters = 30;
  TsneResult r = tsne(x.data(), 50, 4, opt);
  for (double v : r.y) EXPECT_TRUE(std::isfinite(v));
}

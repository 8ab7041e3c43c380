// The communicator, the cross-rank shard reductions and the all-gather op, on 1, 2 and 4 ranks
// (and as a plain process with no launcher). Every distributed result is compared bit for bit
// with one process reducing the whole global batch.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "engine/dist/gather.h"
#include "engine/dist/replicate.h"
#include "engine/shards.h"
#include "engine/tape.h"
#include "mpi/mpi_test.h"

using namespace cytocon;
using cytocon::test::ctx;

TEST(Comm, AllGatherBroadcastAllReduce) {
  Comm& c = ctx().comm();
  const int R = c.size(), me = c.rank();
  int32_t mine[2] = {me, 10 * me + 7};
  std::vector<int32_t> all(2 * R);
  c.all_gather(mine, all.data(), sizeof mine, Device::cpu);
  for (int r = 0; r < R; ++r) {
    EXPECT_EQ(all[2 * r], r);
    EXPECT_EQ(all[2 * r + 1], 10 * r + 7);
  }
  for (int root : {0, R - 1}) {
    double v[3] = {1.0 * me, 2.0 * me, -1.0};
    c.broadcast(v, sizeof v, root, Device::cpu);
    EXPECT_EQ(v[0], 1.0 * root);
    EXPECT_EQ(v[1], 2.0 * root);
  }
  float s[2] = {1.0f + me, -0.5f};
  c.all_reduce_sum(s, 2, Device::cpu);
  EXPECT_EQ(s[0], R * (R + 1) / 2.0f);
  EXPECT_EQ(s[1], -0.5f * R);
  c.barrier();
}

// Eight micro-shards of partial sums with a wide dynamic range, so any change in the order of
// additions changes the bits.
static std::vector<float> shard_partials(int first, int count, int len) {
  std::vector<float> p(static_cast<size_t>(count) * len);
  for (int k = 0; k < count; ++k) {
    Rng rng(11, Purpose::test, static_cast<uint32_t>(first + k));
    for (int i = 0; i < len; ++i) p[k * len + i] = static_cast<float>(rng.normal(i) * std::pow(10.0, (i % 7) - 3));
  }
  return p;
}

TEST(Shards, SumAcrossRanksEqualsOneProcessBitwise) {
  constexpr int S = 8, len = 33;
  std::vector<float> ref = shard_partials(0, S, len);
  sum_shards(Shards::make(S, 0, 1), ref.data(), len);

  Shards sh = ctx().shards(S);
  std::vector<float> mine = shard_partials(sh.first, sh.count, len);
  sum_shards(sh, mine.data(), len);
  EXPECT_EQ(std::memcmp(mine.data(), ref.data(), len * sizeof(float)), 0);
}

// Forwards everything but all_to_all, so the default Comm::all_to_all (via all_gather) runs.
class NoAllToAll final : public Comm {
 public:
  explicit NoAllToAll(Comm& c) : c_(c) {}
  int rank() const override { return c_.rank(); }
  int size() const override { return c_.size(); }
  void all_gather(const void* s, void* r, size_t b, Device d) override { c_.all_gather(s, r, b, d); }
  void all_reduce_sum(float* p, size_t n, Device d) override { c_.all_reduce_sum(p, n, d); }
  void broadcast(void* p, size_t b, int root, Device d) override { c_.broadcast(p, b, root, d); }
  void barrier() override { c_.barrier(); }
  void abort(const std::string& m) override { c_.abort(m); }

 private:
  Comm& c_;
};

TEST(Comm, AllToAll) {
  Comm& c = ctx().comm();
  NoAllToAll fallback(c);
  const int R = c.size(), me = c.rank();
  for (Comm* comm : {&c, static_cast<Comm*>(&fallback)}) {
    std::vector<int32_t> send(2 * R), recv(2 * R, -1);
    for (int j = 0; j < R; ++j) send[2 * j] = 100 * me + j, send[2 * j + 1] = -me;
    comm->all_to_all(send.data(), recv.data(), 2 * sizeof(int32_t), Device::cpu);
    for (int i = 0; i < R; ++i) {
      EXPECT_EQ(recv[2 * i], 100 * i + me);
      EXPECT_EQ(recv[2 * i + 1], -i);
    }
  }
}

TEST(Shards, LargeSumsSliceWiseEqualOneProcessBitwise) {
  // Above 64 KiB sum_shards exchanges slices all-to-all; the bits must not change. An odd length
  // leaves the last slice short.
  constexpr int S = 8, len = 20001;
  std::vector<float> ref = shard_partials(0, S, len);
  sum_shards(Shards::make(S, 0, 1), ref.data(), len);
  Shards sh = ctx().shards(S);
  for (int variant = 0; variant < 2; ++variant) {
    NoAllToAll fallback(ctx().comm());
    if (variant == 1) sh.comm = &fallback;
    std::vector<float> mine = shard_partials(sh.first, sh.count, len);
    sum_shards(sh, mine.data(), len);
    EXPECT_EQ(std::memcmp(mine.data(), ref.data(), len * sizeof(float)), 0) << "variant " << variant;
  }
}

TEST(Shards, FastModeSumIsCloseAndReplicated) {
  constexpr int S = 8, len = 33;
  std::vector<float> ref = shard_partials(0, S, len);
  sum_shards(Shards::make(S, 0, 1), ref.data(), len);

  Shards sh = ctx().shards(S, ReduceMode::fast);
  std::vector<float> mine = shard_partials(sh.first, sh.count, len);
  sum_shards(sh, mine.data(), len);
  for (int i = 0; i < len; ++i) EXPECT_NEAR(mine[i], ref[i], 1e-5 * (std::fabs(ref[i]) + 1e-3)) << i;
  Tensor t = Tensor::from_vector(std::vector<float>(mine.begin(), mine.begin() + len), {len});
  EXPECT_NO_THROW(dist::check_replicated(ctx().comm(), {t}, "fast-mode sums"));
}

TEST(Shards, MomentsAcrossRanksEqualOneProcessBitwise) {
  // Per-shard (n, mean, M2) of 8 channels with a large offset (where Σx² − n·mean² cancels).
  constexpr int S = 8, C = 8, per_shard = 5;
  auto moments = [&](int first, int count) {
    std::vector<Moments<float>> m(static_cast<size_t>(count) * C);
    for (int k = 0; k < count; ++k)
      for (int c = 0; c < C; ++c) {
        Rng rng(12, Purpose::test, static_cast<uint32_t>(first + k), static_cast<uint32_t>(c));
        float x[per_shard], mean = 0, m2 = 0;
        for (int i = 0; i < per_shard; ++i) mean += (x[i] = 1000.0f + static_cast<float>(rng.normal(i)));
        mean /= per_shard;
        for (float v : x) m2 += (v - mean) * (v - mean);
        m[k * C + c] = {static_cast<float>(per_shard), mean, m2};
      }
    return m;
  };
  std::vector<Moments<float>> ref = moments(0, S);
  merge_moments(Shards::make(S, 0, 1), ref.data(), C);
  Shards sh = ctx().shards(S);
  std::vector<Moments<float>> mine = moments(sh.first, sh.count);
  merge_moments(sh, mine.data(), C);
  EXPECT_EQ(std::memcmp(mine.data(), ref.data(), C * sizeof(Moments<float>)), 0);
  EXPECT_EQ(mine[0].n, static_cast<float>(S * per_shard));
}

TEST(AllGatherRows, ForwardIsTheGlobalBatchInRankOrder) {
  constexpr int S = 8, per_shard = 2;
  Shards sh = ctx().shards(S);
  const int64_t n = sh.count * per_shard, first = sh.first * per_shard;
  Tensor z = test::global_normal_rows<float>(21, first, n, {3});
  Tensor Z = dist::all_gather_rows(z, sh);
  Tensor ref = test::global_normal_rows<float>(21, 0, S * per_shard, {3});
  ASSERT_EQ(Z.shape(), ref.shape());
  EXPECT_EQ(std::memcmp(Z.raw(), ref.raw(), ref.nbytes()), 0);

  std::vector<int32_t> labels(n);
  for (int64_t i = 0; i < n; ++i) labels[i] = static_cast<int32_t>((first + i) * 3 % 5);
  Tensor Y = dist::all_gather_rows(Tensor::from_vector(labels, {n}), sh);
  std::vector<int32_t> y = Y.to_vector<int32_t>();
  ASSERT_EQ(static_cast<int>(y.size()), S * per_shard);
  for (int i = 0; i < S * per_shard; ++i) EXPECT_EQ(y[i], i * 3 % 5);
}

TEST(AllGatherRows, BackwardKeepsThisRanksRowsOfTheGlobalGradient) {
  constexpr int S = 8, per_shard = 2;
  Shards sh = ctx().shards(S);
  const int64_t n = sh.count * per_shard, first = sh.first * per_shard;
  Tensor z = test::global_normal_rows<double>(22, first, n, {4});
  z.set_requires_grad(true);
  Tape tape;
  Tensor Z = dist::all_gather_rows(z, sh);
  // dL/dZ, the same on every rank (as for the redundantly computed loss).
  Tensor dZ = test::global_normal_rows<double>(23, 0, S * per_shard, {4});
  tape.backward(Z, dZ);
  Tensor expect = test::global_normal_rows<double>(23, first, n, {4});
  ASSERT_TRUE(z.grad().defined());
  EXPECT_EQ(std::memcmp(z.grad().raw(), expect.raw(), expect.nbytes()), 0);
}

TEST(AllGatherRows, RejectsUnequalShares) {
  if (ctx().size() == 1) GTEST_SKIP() << "needs two ranks";
  Shards sh = ctx().shards(8);
  const int64_t n = sh.count * (ctx().rank() == 0 ? 1 : 2);
  Tensor z = Tensor::zeros({n, 2});
  try {
    dist::all_gather_rows(z, sh);
    FAIL() << "unequal shares were accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("different shape"), std::string::npos) << e.what();
  }
}

TEST(Replicate, BroadcastMakesReplicasIdentical) {
  Comm& c = ctx().comm();
  Tensor w = test::global_normal_rows<float>(30 + c.rank(), 0, 4, {5});
  Tensor b = Tensor::full({3}, 1.0 + c.rank());
  if (c.size() > 1) {
    EXPECT_THROW(dist::check_replicated(c, {w, b}, "parameters"), std::runtime_error);
  }
  dist::broadcast_tensors(c, {w, b}, 0);
  EXPECT_NO_THROW(dist::check_replicated(c, {w, b}, "parameters"));
  Tensor w0 = test::global_normal_rows<float>(30, 0, 4, {5});
  EXPECT_EQ(std::memcmp(w.raw(), w0.raw(), w0.nbytes()), 0);
  EXPECT_EQ(b.to_vector<float>()[2], 1.0f);
}

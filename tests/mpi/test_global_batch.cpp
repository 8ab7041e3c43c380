// Ops over the global batch on 1, 2 and 4 ranks, each compared bit for bit with one process
// running the whole batch (Shards with no communicator) in the same job:
//   - BatchNorm in training mode: outputs, running statistics, dx, dγ, dβ;
//   - the SupCon loss over all-gathered z and labels, and the weight gradient through it
//     (docs/distributed.md derives why the gather's backward needs no reduction).
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "engine/dist/gather.h"
#include "engine/ops.h"
#include "engine/tape.h"
#include "mpi/mpi_test.h"

using namespace cytocon;
using cytocon::test::ctx;
using cytocon::test::global_normal_rows;

namespace {

constexpr int S = 8;          // micro-shards
constexpr int kPerShard = 2;  // samples per micro-shard: global batch 16

// Rows [first, first + n) of a global tensor, as a new tensor.
Tensor rows(const Tensor& t, int64_t first, int64_t n) {
  Shape s = t.shape();
  size_t row_bytes = t.nbytes() / s[0];
  s[0] = n;
  Tensor r = Tensor::empty(s, t.dtype());
  std::memcpy(r.raw(), static_cast<const char*>(t.raw()) + first * row_bytes, n * row_bytes);
  return r;
}

bool bit_equal(const Tensor& a, const Tensor& b) {
  return a.defined() && b.defined() && a.shape() == b.shape() && a.dtype() == b.dtype() &&
         std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0;
}

struct BnRun {
  Tensor y, dx, dgamma, dbeta, running_mean, running_var;
};

// Training-mode BN over x (this process's rows) with the given shards, backward with dy.
BnRun batch_norm_run(const Tensor& x_in, const Tensor& dy, const Shards& sh) {
  const int64_t C = x_in.dim(-1);
  Tensor x = x_in.clone();
  x.set_requires_grad(true);
  std::vector<float> g(C), b(C);
  for (int64_t c = 0; c < C; ++c) {
    g[c] = 0.5f + 0.25f * c;
    b[c] = -0.125f * c;
  }
  Tensor gamma = Tensor::from_vector(g, {C}), beta = Tensor::from_vector(b, {C});
  gamma.set_requires_grad(true);
  beta.set_requires_grad(true);
  BnRun r;
  r.running_mean = Tensor::zeros({C});
  r.running_var = Tensor::full({C}, 1.0);
  Tape tape;
  r.y = ops::batch_norm(x, gamma, beta, r.running_mean, r.running_var, ops::BatchNormArgs{}, sh);
  tape.backward(r.y, dy);
  r.dx = x.grad();
  r.dgamma = gamma.grad();
  r.dbeta = beta.grad();
  return r;
}

}  // namespace

TEST(GlobalBatchNorm, EqualsOneProcessOnTheWholeBatch) {
  const int64_t N = S * kPerShard;
  // NHWC maps with an offset, so the statistics depend on the merge of (n, mean, M2).
  Tensor x_all = global_normal_rows<float>(41, 0, N, {3, 3, 5});
  {
    float* p = x_all.data<float>();
    for (int64_t i = 0; i < x_all.numel(); ++i) p[i] = 3.0f + 2.0f * p[i];
  }
  Tensor dy_all = global_normal_rows<float>(42, 0, N, {3, 3, 5});
  BnRun ref = batch_norm_run(x_all, dy_all, Shards::make(S, 0, 1));

  Shards sh = ctx().shards(S);
  const int64_t first = sh.first * kPerShard, n = sh.count * kPerShard;
  BnRun mine = batch_norm_run(rows(x_all, first, n), rows(dy_all, first, n), sh);

  EXPECT_TRUE(bit_equal(mine.y, rows(ref.y, first, n))) << "normalised outputs";
  EXPECT_TRUE(bit_equal(mine.dx, rows(ref.dx, first, n))) << "dx";
  EXPECT_TRUE(bit_equal(mine.dgamma, ref.dgamma)) << "dgamma";
  EXPECT_TRUE(bit_equal(mine.dbeta, ref.dbeta)) << "dbeta";
  EXPECT_TRUE(bit_equal(mine.running_mean, ref.running_mean)) << "running mean";
  EXPECT_TRUE(bit_equal(mine.running_var, ref.running_var)) << "running variance";
  // And it really is the global batch: a rank alone would see other statistics.
  if (ctx().size() > 1) {
    BnRun alone = batch_norm_run(rows(x_all, first, n), rows(dy_all, first, n), Shards::make(sh.count, 0, 1));
    EXPECT_FALSE(bit_equal(alone.running_mean, ref.running_mean));
  }
}

namespace {

struct SupConRun {
  Tensor loss, dw;
};

// z = l2_normalize(x·wᵀ); L = SupCon over the global batch (eqs. 1–2), all-gathered when `sh`
// spans several ranks.
SupConRun supcon_run(const Tensor& x, const Tensor& labels, const Tensor& w_in, const Shards& sh) {
  Tensor w = w_in.clone();
  w.set_requires_grad(true);
  Tape tape;
  Tensor z = ops::l2_normalize(ops::linear(x, w, Tensor(), sh));
  Tensor z_all = dist::all_gather_rows(z, sh);
  Tensor y_all = dist::all_gather_rows(labels, sh);
  SupConRun r;
  r.loss = ops::supcon_loss(z_all, y_all, 0.07);
  tape.backward(r.loss);
  r.dw = w.grad();
  return r;
}

Tensor global_labels(int64_t first, int64_t n) {
  std::vector<int32_t> y(n);
  for (int64_t i = 0; i < n; ++i) y[i] = static_cast<int32_t>((first + i) * 7 % 3);  // 3 classes
  return Tensor::from_vector(y, {n});
}

}  // namespace

TEST(GlobalSupCon, LossAndGradientEqualOneProcessOnTheWholeBatch) {
  const int64_t N = S * kPerShard;
  Tensor x_all = global_normal_rows<float>(51, 0, N, {6});
  Tensor w = global_normal_rows<float>(52, 0, 5, {6});
  SupConRun ref = supcon_run(x_all, global_labels(0, N), w, Shards::make(S, 0, 1));

  Shards sh = ctx().shards(S);
  const int64_t first = sh.first * kPerShard, n = sh.count * kPerShard;
  SupConRun mine = supcon_run(rows(x_all, first, n), global_labels(first, n), w, sh);
  EXPECT_TRUE(bit_equal(mine.loss, ref.loss)) << mine.loss.to_vector<float>()[0] << " vs "
                                              << ref.loss.to_vector<float>()[0];
  EXPECT_TRUE(bit_equal(mine.dw, ref.dw)) << "weight gradient through the all-gathered loss";
  // The gradient is not trivially zero.
  double norm = 0;
  for (float v : ref.dw.to_vector<float>()) norm += double(v) * v;
  EXPECT_GT(norm, 1e-6);
}

// Every Backend kernel on CUDA against the CPU reference (engine/cpu/), same float32 inputs.
// Tolerances, per op (bound: max|gpu − cpu| ≤ atol + rtol·max|cpu|, gpu_test.h):
//   * exact (0): add, scale, ReLU, max-pool, top-k (one IEEE operation or a pure selection per
//     element); linear layers, l2-normalisation, BN inference, running statistics, SGD and
//     non-adapted LARS — the CUDA kernels sum in the CPU's order with IEEE-rounded intrinsics
//     (no fused multiply-add), and sqrt/division are correctly rounded on both sides;
//   * 1e-6 relative: adapted LARS — its norms are summed in double in a different order, which
//     can move the float trust ratio by an ulp;
//   * 1e-4 relative: convolutions, BatchNorm training, SupCon, cross-entropy — sums of up to
//     ~10⁴–10⁵ float32 terms in a different (blocked/tree) order than the CPU's; the relative
//     error of such a sum is ~√K·2⁻²⁴ ≈ 2e-5 for K = 10⁴, with margin; exp/log differ by ≤ 2 ulp.
// The tests also check the determinism of the reductions: a second call gives the same bits, and
// that a bad argument gets the same error on both backends (one check for both, engine/op_checks.h).
#include <functional>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "common/errors.h"
#include "engine/shards.h"
#include "gpu_test.h"

using namespace cytocon;
using namespace cytocon::gputest;

namespace {

using GpuOps = KernelTest;

TEST_F(GpuOps, AddScaleRelu) {
  Tensor a = cpu_f32({3, 5, 7, 4}, 1), b = cpu_f32({3, 5, 7, 4}, 2);
  EXPECT_TRUE(close(cu().add(gpu(a), gpu(b)), cpu().add(a, b), 0, 0));
  EXPECT_TRUE(close(cu().scale(gpu(a), -0.37), cpu().scale(a, -0.37), 0, 0));
  Tensor y = cpu().relu_forward(a);
  EXPECT_TRUE(close(cu().relu_forward(gpu(a)), y, 0, 0));
  EXPECT_TRUE(close(cu().relu_backward(gpu(b), gpu(y)), cpu().relu_backward(b, y), 0, 0));
  EXPECT_THROW(cu().add(gpu(a), gpu(cpu_f32({3, 5, 7, 3}, 3))), std::runtime_error);
  EXPECT_THROW(cu().add(a, gpu(b)), std::runtime_error);  // a is on the cpu
}

TEST_F(GpuOps, UpdateRunning) {
  Tensor r = cpu_f32({64}, 4), bt = cpu_f32({64}, 5);
  Tensor rg = gpu(r);
  cpu().update_running(r, bt, 0.1);
  cu().update_running(rg, gpu(bt), 0.1);
  EXPECT_TRUE(same_bits(rg, r));
}

TEST_F(GpuOps, MaxPoolFirstMaximumAndOddSizes) {
  // Integer values in a small range make ties frequent: the gradient must go to the same
  // (first, row-major) maximum as on the CPU. 7×9: the last row and column are dropped (floor).
  Tensor x = cpu_f32({2, 7, 9, 3}, 6, 0.0, 3.0);
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = std::floor(x.data<float>()[i]);
  Tensor dy = cpu_f32({2, 3, 4, 3}, 7);
  EXPECT_TRUE(close(cu().max_pool2d_forward(gpu(x)), cpu().max_pool2d_forward(x), 0, 0));
  EXPECT_TRUE(close(cu().max_pool2d_backward(gpu(dy), gpu(x)), cpu().max_pool2d_backward(dy, x), 0, 0));
}

struct ConvCase {
  int64_t n, h, w, cin, cout, k;
  int stride;
};

void check_conv(const ConvCase& c, const Shards& sh) {
  Tensor x = cpu_f32({c.n, c.h, c.w, c.cin}, 10, 0.0, 1.0), w = cpu_f32({c.cout, c.k, c.k, c.cin}, 11, -0.5, 0.5);
  Tensor y = cpu().conv2d_forward(x, w, c.stride);
  Tensor yg = cu().conv2d_forward(gpu(x), gpu(w), c.stride);
  EXPECT_TRUE(close(yg, y, 1e-6, 1e-4)) << "forward";
  EXPECT_TRUE(same_bits(yg, cu().conv2d_forward(gpu(x), gpu(w), c.stride))) << "forward rerun";
  Tensor dy = cpu_f32(y.shape(), 12);
  EXPECT_TRUE(close(cu().conv2d_backward_data(gpu(dy), gpu(w), x.shape(), c.stride),
                    cpu().conv2d_backward_data(dy, w, x.shape(), c.stride), 1e-6, 1e-4))
      << "backward data";
  Tensor dw = cpu().conv2d_backward_weight(x, dy, w.shape(), c.stride, sh);
  Tensor dwg = cu().conv2d_backward_weight(gpu(x), gpu(dy), w.shape(), c.stride, sh);
  EXPECT_TRUE(close(dwg, dw, 1e-6, 1e-4)) << "backward weight";
  EXPECT_TRUE(same_bits(dwg, cu().conv2d_backward_weight(gpu(x), gpu(dy), w.shape(), c.stride, sh)))
      << "backward weight rerun";
}

TEST_F(GpuOps, ConvFirstLayerDirectKernel) {
  // 1 input channel, 5×5, stride 4 (the paper's first conv): conv2d_direct.cu. 45 = 4·10 + 5; 47
  // leaves two input columns unused (their gradient must be 0).
  check_conv({8, 45, 47, 1, 16, 5, 4}, Shards::make(4, 0, 1));
}

TEST_F(GpuOps, ConvCudnn3x3) { check_conv({8, 12, 11, 16, 32, 3, 1}, Shards::make(4, 0, 1)); }

TEST_F(GpuOps, ConvCudnnStridedOddBatch) {
  // n = 3 is not a multiple of the deterministic call chunk (8): one sample per cuDNN call.
  check_conv({3, 13, 10, 8, 4, 3, 2}, Shards::make(1, 0, 1));
}

void check_bn(const Shape& s, const Shards& sh) {
  const int64_t c = s.back();
  Tensor x = cpu_f32(s, 20, -2.0, 3.0), gamma = cpu_f32({c}, 21, 0.5, 1.5), beta = cpu_f32({c}, 22);
  Tensor y, mean, invstd, var;
  cpu().batch_norm_forward_train(x, gamma, beta, 1e-5, sh, y, mean, invstd, var);
  Tensor yg, meang, invstdg, varg;
  cu().batch_norm_forward_train(gpu(x), gpu(gamma), gpu(beta), 1e-5, sh, yg, meang, invstdg, varg);
  EXPECT_TRUE(close(yg, y, 1e-6, 1e-4));
  EXPECT_TRUE(close(meang, mean, 1e-6, 1e-4));
  EXPECT_TRUE(close(invstdg, invstd, 0, 1e-4));
  EXPECT_TRUE(close(varg, var, 0, 1e-4));
  Tensor y2, m2, i2, v2;
  cu().batch_norm_forward_train(gpu(x), gpu(gamma), gpu(beta), 1e-5, sh, y2, m2, i2, v2);
  EXPECT_TRUE(same_bits(y2, yg));
  EXPECT_TRUE(same_bits(v2, varg));

  Tensor dy = cpu_f32(s, 23);
  Tensor dx, dgamma, dbeta, dxg, dgammag, dbetag;
  cpu().batch_norm_backward(dy, x, gamma, mean, invstd, sh, dx, dgamma, dbeta);
  cu().batch_norm_backward(gpu(dy), gpu(x), gpu(gamma), meang, invstdg, sh, dxg, dgammag, dbetag);
  EXPECT_TRUE(close(dxg, dx, 1e-6, 1e-4));
  EXPECT_TRUE(close(dgammag, dgamma, 1e-5, 1e-4));
  EXPECT_TRUE(close(dbetag, dbeta, 1e-5, 1e-4));

  Tensor rm = cpu_f32({c}, 24), rv = cpu_f32({c}, 25, 0.5, 2.0);
  EXPECT_TRUE(same_bits(cu().batch_norm_forward_infer(gpu(x), gpu(gamma), gpu(beta), gpu(rm), gpu(rv), 1e-5),
                        cpu().batch_norm_forward_infer(x, gamma, beta, rm, rv, 1e-5)));
}

TEST_F(GpuOps, BatchNormNhwcFourShards) { check_bn({8, 9, 7, 16}, Shards::make(4, 0, 1)); }
TEST_F(GpuOps, BatchNorm1dManyChannels) { check_bn({16, 40}, Shards::make(8, 0, 1)); }
TEST_F(GpuOps, BatchNormLargeOffsetMean) {
  // Values ~1000 ± 1: Σx² − n·mean² would cancel; the per-shard M2 (Chan merge) must not.
  Tensor x = cpu_f32({8, 6, 6, 4}, 26, 999.0, 1001.0), g = Tensor::full({4}, 1.0), b = Tensor::full({4}, 0.0);
  const Shards sh = Shards::make(2, 0, 1);
  Tensor y, m, is, v, yg, mg, isg, vg;
  cpu().batch_norm_forward_train(x, g, b, 1e-5, sh, y, m, is, v);
  cu().batch_norm_forward_train(gpu(x), gpu(g), gpu(b), 1e-5, sh, yg, mg, isg, vg);
  EXPECT_TRUE(close(vg, v, 0, 1e-3));
  EXPECT_TRUE(close(yg, y, 1e-3, 1e-3));
}

TEST_F(GpuOps, LinearBitIdenticalToCpu) {
  const Shards sh = Shards::make(4, 0, 1);
  Tensor x = cpu_f32({16, 128}, 30), w = cpu_f32({96, 128}, 31, -0.1, 0.1), b = cpu_f32({96}, 32);
  EXPECT_TRUE(same_bits(cu().linear_forward(gpu(x), gpu(w), gpu(b)), cpu().linear_forward(x, w, b)));
  EXPECT_TRUE(same_bits(cu().linear_forward(gpu(x), gpu(w), Tensor()), cpu().linear_forward(x, w, Tensor())));
  Tensor dy = cpu_f32({16, 96}, 33);
  EXPECT_TRUE(same_bits(cu().linear_backward_data(gpu(dy), gpu(w)), cpu().linear_backward_data(dy, w)));
  Tensor dw, db, dwg, dbg;
  cpu().linear_backward_weight(x, dy, true, sh, dw, db);
  cu().linear_backward_weight(gpu(x), gpu(dy), true, sh, dwg, dbg);
  EXPECT_TRUE(same_bits(dwg, dw));
  EXPECT_TRUE(same_bits(dbg, db));
  cu().linear_backward_weight(gpu(x), gpu(dy), false, sh, dwg, dbg);
  EXPECT_TRUE(same_bits(dwg, dw));
  EXPECT_FALSE(dbg.defined());
}

TEST_F(GpuOps, L2NormalizeWithZeroRow) {
  Tensor x = cpu_f32({6, 128}, 40);
  for (int i = 0; i < 128; ++i) x.data<float>()[3 * 128 + i] = 0.f;  // ‖x‖ = 0 < eps: dz/eps branch
  Tensor z = cpu().l2_normalize_forward(x, 1e-12), dz = cpu_f32({6, 128}, 41, -1e-13, 1e-13);
  for (int i = 0; i < 3 * 128; ++i) dz.data<float>()[i] = static_cast<float>(i % 7) - 3.f;
  EXPECT_TRUE(same_bits(cu().l2_normalize_forward(gpu(x), 1e-12), z));
  EXPECT_TRUE(same_bits(cu().l2_normalize_backward(gpu(dz), gpu(x), gpu(z), 1e-12),
                        cpu().l2_normalize_backward(dz, x, z, 1e-12)));
}

TEST_F(GpuOps, SupConWithAnchorWithoutPositive) {
  const int64_t n = 40;
  Tensor h = cpu_f32({n, 128}, 50);
  Tensor z = cpu().l2_normalize_forward(h, 1e-12);
  Tensor y = test::random_labels(n, 6, 51);
  y.data<int32_t>()[7] = 99;  // the only sample of class 99: contributes 0, counts in N
  Tensor yg = y.to(Device::cuda);
  Tensor loss = cpu().supcon_loss_forward(z, y, 0.07), lossg = cu().supcon_loss_forward(gpu(z), yg, 0.07);
  EXPECT_TRUE(close(lossg, loss, 0, 1e-5));
  Tensor dz = cpu().supcon_loss_backward(z, y, 0.07, 1.0), dzg = cu().supcon_loss_backward(gpu(z), yg, 0.07, 1.0);
  EXPECT_TRUE(close(dzg, dz, 1e-7, 1e-4));
  EXPECT_TRUE(same_bits(dzg, cu().supcon_loss_backward(gpu(z), yg, 0.07, 1.0)));
}

TEST_F(GpuOps, CrossEntropyAndTopk) {
  const Shards sh = Shards::make(4, 0, 1);
  Tensor logits = cpu_f32({16, 19}, 60, -4.0, 4.0), y = test::random_labels(16, 19, 61);
  Tensor yg = y.to(Device::cuda);
  EXPECT_TRUE(close(cu().cross_entropy_forward(gpu(logits), yg, sh), cpu().cross_entropy_forward(logits, y, sh), 0,
                    1e-5));
  EXPECT_TRUE(close(cu().cross_entropy_backward(gpu(logits), yg, sh, 0.5),
                    cpu().cross_entropy_backward(logits, y, sh, 0.5), 1e-8, 1e-5));
  Tensor bad = y.clone();
  bad.data<int32_t>()[3] = 19;
  EXPECT_THROW(cu().cross_entropy_forward(gpu(logits), bad.to(Device::cuda), sh), std::runtime_error);
  // Ties: rounded scores; the lower class index must come first, as on the CPU.
  Tensor s = cpu_f32({16, 19}, 62, 0.0, 4.0);
  for (int64_t i = 0; i < s.numel(); ++i) s.data<float>()[i] = std::floor(s.data<float>()[i]);
  EXPECT_TRUE(same_bits(cu().topk(gpu(s), 5), cpu().topk(s, 5)));
}

// The divergence check: the GPU's flags give the CPU's answer, for a NaN or an Inf anywhere in a
// large tensor (many blocks), a non-float32 tensor is skipped, a CPU tensor is refused.
TEST_F(GpuOps, FirstNonFinite) {
  std::vector<Tensor> ts = {cpu_f32({7}, 30), cpu_f32({3, 1000}, 31), cpu_f32({64, 3, 3, 16}, 32)};
  auto on_gpu = [&] {
    std::vector<Tensor> g;
    for (const Tensor& t : ts) g.push_back(gpu(t));
    return g;
  };
  EXPECT_EQ(cu().first_non_finite(on_gpu()), -1);
  ts[2].data<float>()[ts[2].numel() - 1] = std::numeric_limits<float>::infinity();
  EXPECT_EQ(cu().first_non_finite(on_gpu()), cpu().first_non_finite(ts));
  EXPECT_EQ(cu().first_non_finite(on_gpu()), 2);
  ts[1].data<float>()[1234] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(cu().first_non_finite(on_gpu()), 1);
  std::vector<Tensor> g = on_gpu();
  g.insert(g.begin(), gpu(Tensor::zeros({4}, DType::i32)));
  EXPECT_EQ(cu().first_non_finite(g), 2);
  EXPECT_THROW(cu().first_non_finite({ts[0]}), std::runtime_error);
}

TEST_F(GpuOps, LarsAndSgdSteps) {
  for (bool adapt : {true, false}) {
    Tensor w = cpu_f32({32, 3, 3, 16}, 70), g = cpu_f32({32, 3, 3, 16}, 71, -1e-2, 1e-2), v = cpu_f32(w.shape(), 72);
    Tensor wg = gpu(w), vg = gpu(v);
    const Backend::LarsArgs a{0.02, 0.9, 1e-6, 0.001, adapt};
    cpu().lars_step(w, g, v, a);
    cu().lars_step(wg, gpu(g), vg, a);
    const double rtol = adapt ? 1e-6 : 0;
    EXPECT_TRUE(close(wg, w, 0, rtol)) << "adapt " << adapt;
    EXPECT_TRUE(close(vg, v, 0, rtol)) << "adapt " << adapt;
  }
  Tensor w = cpu_f32({100}, 73), g = cpu_f32({100}, 74), v = cpu_f32({100}, 75);
  Tensor wg = gpu(w), vg = gpu(v);
  cpu().sgd_step(w, g, v, 0.1, 0.9, 1e-4);
  cu().sgd_step(wg, gpu(g), vg, 0.1, 0.9, 1e-4);
  EXPECT_TRUE(same_bits(wg, w));
  EXPECT_TRUE(same_bits(vg, v));
}

// The argument checks are written once for both backends (engine/op_checks.h): the same bad call
// gets the same message on the GPU as on the CPU.
TEST_F(GpuOps, BadArgumentsGetTheCpuMessage) {
  using testing_util::error_of;
  const Tensor a = cpu_f32({3, 5}, 80), b = cpu_f32({5, 3}, 81), x = cpu_f32({2, 4, 4, 3}, 82);
  const Tensor labels = Tensor::from_vector(std::vector<int32_t>{0, 7, 1}, {3});
  const Shards sh = Shards::make(1, 0, 1);
  const std::vector<std::pair<std::function<void()>, std::function<void()>>> calls = {
      {[&] { cpu().add(a, b); }, [&] { cu().add(gpu(a), gpu(b)); }},
      {[&] { cpu().linear_forward(a, b, Tensor()); }, [&] { cu().linear_forward(gpu(a), gpu(b), Tensor()); }},
      {[&] { cpu().max_pool2d_forward(a); }, [&] { cu().max_pool2d_forward(gpu(a)); }},
      {[&] { cpu().conv2d_forward(x, cpu_f32({4, 5, 5, 3}, 83), 1); },
       [&] { cu().conv2d_forward(gpu(x), gpu(cpu_f32({4, 5, 5, 3}, 83)), 1); }},
      {[&] { cpu().topk(a, 6); }, [&] { cu().topk(gpu(a), 6); }},
      {[&] { cpu().cross_entropy_forward(a, labels, sh); },
       [&] { cu().cross_entropy_forward(gpu(a), gpu(labels), sh); }},
      {[&] { cpu().supcon_loss_forward(a, labels, 0.0); }, [&] { cu().supcon_loss_forward(gpu(a), gpu(labels), 0.0); }},
  };
  for (const auto& [on_cpu, on_gpu] : calls) {
    const std::string expected = error_of(on_cpu);
    EXPECT_FALSE(expected.empty());
    EXPECT_EQ(error_of(on_gpu), expected);
  }
}

}  // namespace

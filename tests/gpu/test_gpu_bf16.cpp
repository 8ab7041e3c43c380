// bfloat16 activations (precision bf16, docs/cuda.md "bf16"): conv outputs, BatchNorm(+ReLU),
// max-pool and their gradients are stored as bfloat16, every sum and statistic stays float32.
// The bf16 kernels compute exactly the float32 kernels' arithmetic on the same (bf16-valued)
// inputs and round only the stored result, so each is checked BIT FOR BIT against the float32
// path followed by one rounding (Tensor::to(DType::bf16) on the host: round to nearest even), and
// the statistics and parameter gradients must be the float32 path's bits. Then the whole network
// trains in bf16 and needs markedly less device memory than in fp32.
#include <cmath>
#include <cstdio>
#include <limits>

#include "engine/ops.h"
#include "engine/tape.h"
#include "gpu_test.h"
#include "models/model.h"
#ifdef CYTOCON_HAVE_CUDA
#include "engine/cuda/cuda.h"
#endif

using namespace cytocon;
using namespace cytocon::gputest;

#ifdef CYTOCON_HAVE_CUDA
namespace {

// Host-side float32 -> bfloat16 (the reference rounding) and back.
Tensor rounded(const Tensor& t) { return t.to(Device::cpu).to(DType::bf16); }
Tensor widened(const Tensor& t) { return t.to(Device::cpu).to(DType::f32); }
// Random values that are exactly representable in bfloat16, as float32 on the host.
Tensor bf16_valued(const Shape& s, uint64_t seed, double lo = -1.0, double hi = 1.0) {
  return rounded(cpu_f32(s, seed, lo, hi)).to(DType::f32);
}

class GpuBf16 : public KernelTest {
 protected:
  void TearDown() override { set_cuda_mode(ReduceMode::deterministic, Precision::fp32); }
  static void bf16_mode() { set_cuda_mode(ReduceMode::deterministic, Precision::bf16); }
  static void fp32_mode() { set_cuda_mode(ReduceMode::deterministic, Precision::fp32); }
};

TEST_F(GpuBf16, ConvertRoundsToNearestEvenLikeTheHost) {
  bf16_mode();
  std::vector<float> v = {1.0f, 1.00390625f /* tie: to even */, 1.01171875f /* tie: up */, -2.5e-3f, 3.0e38f,
                          1e-41f, -0.0f, std::numeric_limits<float>::infinity(), std::nanf("")};
  for (int i = 0; i < 64; ++i) v.push_back(static_cast<float>(i) * 0.3173f - 9.1f);
  const Tensor x = Tensor::from_vector(v, {static_cast<int64_t>(v.size())});
  const Tensor y = cu().cast(gpu(x), DType::bf16);
  ASSERT_EQ(y.dtype(), DType::bf16);
  EXPECT_TRUE(same_bits(y, rounded(x)));
  EXPECT_TRUE(same_bits(cu().cast(y, DType::f32), rounded(x).to(DType::f32)));
}

TEST_F(GpuBf16, ConvOutputsAndGradientsAreBf16) {
  // cuDNN layer (3 input channels) and the direct first layer (1 input channel).
  for (int64_t cin : {3, 1}) {
    const int64_t k = cin == 1 ? 5 : 3, stride = cin == 1 ? 4 : 1;
    const Tensor x = bf16_valued({2, 13, 13, cin}, 80 + cin), w = bf16_valued({4, k, k, cin}, 90 + cin, -0.5, 0.5);
    bf16_mode();
    const Tensor y = cu().conv2d_forward(gpu(x), gpu(w), stride);
    ASSERT_EQ(y.dtype(), DType::bf16) << "cin " << cin;
    // bf16 operands (exact here), float sums: the float result rounded once.
    fp32_mode();
    const Tensor y32 = cu().conv2d_forward(gpu(x), gpu(w), stride);
    EXPECT_TRUE(close(widened(y), y32, 0, 1.0 / 128)) << "cin " << cin;  // one bf16 rounding: 2^-8 relative
    bf16_mode();
    const Tensor dy = gpu(rounded(cpu_f32(y.shape(), 95)));
    const Tensor dx = cu().conv2d_backward_data(dy, gpu(w), x.shape(), stride);
    EXPECT_EQ(dx.dtype(), DType::bf16) << "cin " << cin;
    const Tensor dw = cu().conv2d_backward_weight(gpu(x), dy, w.shape(), stride, Shards::make(2, 0, 1));
    EXPECT_EQ(dw.dtype(), DType::f32) << "weight gradients stay float32";
    EXPECT_EQ(dw.shape(), w.shape());
  }
}

TEST_F(GpuBf16, DirectFirstLayerIsTheFloatResultRoundedOnce) {
  // The 1-channel kernel reads the float32 image and weights in both precisions; bf16 only rounds y.
  const Tensor x = cpu_f32({3, 29, 29, 1}, 81, 0.0, 1.0), w = cpu_f32({16, 5, 5, 1}, 82, -0.3, 0.3);
  fp32_mode();
  const Tensor y32 = cu().conv2d_forward(gpu(x), gpu(w), 4);
  bf16_mode();
  EXPECT_TRUE(same_bits(cu().conv2d_forward(gpu(x), gpu(w), 4), rounded(y32)));
}

TEST_F(GpuBf16, BatchNormReluIsTheFloatPathRoundedOnce) {
  const Shape s{4, 5, 6, 16};
  const Shards sh = Shards::make(4, 0, 1);
  const Tensor x = bf16_valued(s, 83, -2.0, 3.0), gamma = cpu_f32({16}, 84, 0.5, 1.5), beta = cpu_f32({16}, 85);
  Tensor y, m, is, v, y32, m32, is32, v32;
  bf16_mode();
  cu().batch_norm_relu_forward_train(gpu(rounded(x)), gpu(gamma), gpu(beta), 1e-5, sh, y, m, is, v);
  ASSERT_EQ(y.dtype(), DType::bf16);
  fp32_mode();
  cu().batch_norm_relu_forward_train(gpu(x), gpu(gamma), gpu(beta), 1e-5, sh, y32, m32, is32, v32);
  EXPECT_TRUE(same_bits(m, m32));
  EXPECT_TRUE(same_bits(is, is32));
  EXPECT_TRUE(same_bits(v, v32));
  EXPECT_TRUE(same_bits(y, rounded(y32)));

  // Backward on the bf16 output's mask, both paths.
  const Tensor dy = bf16_valued(s, 86), mask = widened(y);
  Tensor dx, dg, db, dx32, dg32, db32;
  bf16_mode();
  cu().batch_norm_relu_backward(gpu(rounded(dy)), y, gpu(rounded(x)), gpu(gamma), m, is, sh, dx, dg, db);
  ASSERT_EQ(dx.dtype(), DType::bf16);
  fp32_mode();
  cu().batch_norm_relu_backward(gpu(dy), gpu(mask), gpu(x), gpu(gamma), m32, is32, sh, dx32, dg32, db32);
  EXPECT_TRUE(same_bits(dg, dg32));
  EXPECT_TRUE(same_bits(db, db32));
  EXPECT_TRUE(same_bits(dx, rounded(dx32)));

  // Inference.
  const Tensor rm = cpu_f32({16}, 87), rv = cpu_f32({16}, 88, 0.5, 2.0);
  bf16_mode();
  const Tensor yi = cu().batch_norm_relu_forward_infer(gpu(rounded(x)), gpu(gamma), gpu(beta), gpu(rm), gpu(rv), 1e-5);
  fp32_mode();
  EXPECT_TRUE(same_bits(yi, rounded(cu().batch_norm_relu_forward_infer(gpu(x), gpu(gamma), gpu(beta), gpu(rm),
                                                                        gpu(rv), 1e-5))));
}

TEST_F(GpuBf16, MaxPoolIsExact) {
  const Tensor x = bf16_valued({2, 7, 6, 8}, 89), dy = bf16_valued({2, 3, 3, 8}, 79);
  bf16_mode();
  const Tensor y = cu().max_pool2d_forward(gpu(rounded(x)));
  const Tensor dx = cu().max_pool2d_backward(gpu(rounded(dy)), gpu(rounded(x)));
  fp32_mode();
  EXPECT_TRUE(same_bits(y, rounded(cu().max_pool2d_forward(gpu(x)))));
  EXPECT_TRUE(same_bits(dx, rounded(cu().max_pool2d_backward(gpu(dy), gpu(x)))));
}

TEST_F(GpuBf16, Bf16TensorsNeedPrecisionBf16) {
  bf16_mode();
  const Tensor xb = cu().cast(gpu(cpu_f32({2, 4, 4, 8}, 78)), DType::bf16);
  fp32_mode();
  try {
    cu().max_pool2d_forward(xb);
    FAIL() << "a bfloat16 activation was accepted in precision fp32";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("bfloat16"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("fp32"), std::string::npos) << e.what();
  }
}

// One SupCon training step of the tiny network: loss and the peak device memory.
struct Step {
  float loss;
  size_t peak;
};
Step train_step(Precision p) {
  set_cuda_mode(ReduceMode::fast, p);
  models::NetworkConfig cfg;
  cfg.preset = "tiny";
  models::Network net(cfg);
  net.init(7);
  net.to(Device::cuda);
  const int64_t s = models::preset_by_name("tiny").input_px;
  const Tensor x = test::random_tensor({8, s, s, 1}, 3, DType::f32, 0.0, 1.0).to(Device::cuda);
  const Tensor y = Tensor::from_vector<int32_t>({0, 0, 1, 1, 2, 2, 3, 1}, {8}).to(Device::cuda);
  const Shards sh = Shards::make(4, 0, 1);
  cuda_release_cached_memory();
  cuda_reset_peak_memory();
  Tape tape;
  Tensor loss = ops::supcon_loss(net.project(net.encode(x, true, sh), true, sh), y, 0.07);
  tape.backward(loss);
  for (const Param& q : net.trainable_params()) EXPECT_EQ(q.value.grad().dtype(), DType::f32) << q.name;
  return {loss.to(Device::cpu).to_vector<float>()[0], cuda_memory_stats().peak};
}

TEST_F(GpuBf16, NetworkTrainsInBf16WithLessMemory) {
  const Step f = train_step(Precision::fp32), b = train_step(Precision::bf16);
  std::printf("peak device memory of one step: fp32 %zu bytes, bf16 %zu bytes\n", f.peak, b.peak);
  EXPECT_TRUE(std::isfinite(b.loss));
  EXPECT_NEAR(b.loss, f.loss, 5e-2 * std::fabs(f.loss));
  // Activations are most of a step's memory; bf16 halves them (weights, statistics and the
  // bf16 copies of the weights are small).
  EXPECT_LT(static_cast<double>(b.peak), 0.7 * static_cast<double>(f.peak))
      << "peak bytes: bf16 " << b.peak << ", fp32 " << f.peak;
}

}  // namespace
#endif

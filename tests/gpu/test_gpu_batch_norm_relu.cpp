// BatchNorm + ReLU fused (engine/backend.h batch_norm_relu_*) on CUDA against the CPU's fused op,
// and against CUDA's own BatchNorm followed by ReLU. Tolerances (bound as in gpu_test.h):
//   * training forward and backward: those of BatchNorm training in test_gpu_ops.cpp (1e-4
//     relative: blocked/tree sums of ~10³ float32 terms in another order than the CPU's); max(0, ·)
//     is 1-Lipschitz, so it cannot widen the forward's error. The backward runs on the CPU's y
//     (the same mask on both sides): a value within an ulp of 0 could otherwise be masked on
//     one side only, a difference of a whole dy that says nothing about the kernels;
//   * inference forward: exact, as BatchNorm inference (per-element IEEE-rounded operations);
//   * fused vs BatchNorm then ReLU on CUDA: exact, the same kernels with relu's expressions
//     inlined (engine/cuda/batch_norm.cu), as on the CPU (tests/unit/test_ops_batch_norm_relu.cpp).
#include <cmath>
#include <limits>

#include "engine/shards.h"
#include "gpu_test.h"

using namespace cytocon;
using namespace cytocon::gputest;

namespace {

using GpuBatchNormRelu = KernelTest;

void check_fused(const Shape& s, const Shards& sh) {
  const int64_t c = s.back();
  Tensor x = cpu_f32(s, 70, -2.0, 3.0), gamma = cpu_f32({c}, 71, 0.5, 1.5), beta = cpu_f32({c}, 72);
  Tensor y, mean, invstd, var, yg, meang, invstdg, varg;
  cpu().batch_norm_relu_forward_train(x, gamma, beta, 1e-5, sh, y, mean, invstd, var);
  cu().batch_norm_relu_forward_train(gpu(x), gpu(gamma), gpu(beta), 1e-5, sh, yg, meang, invstdg, varg);
  EXPECT_TRUE(close(yg, y, 1e-6, 1e-4));
  EXPECT_TRUE(close(meang, mean, 1e-6, 1e-4));
  EXPECT_TRUE(close(invstdg, invstd, 0, 1e-4));
  EXPECT_TRUE(close(varg, var, 0, 1e-4));

  // Fused on CUDA = BatchNorm then ReLU on CUDA, bit for bit; and a rerun gives the same bits.
  Tensor z, m2, i2, v2;
  cu().batch_norm_forward_train(gpu(x), gpu(gamma), gpu(beta), 1e-5, sh, z, m2, i2, v2);
  EXPECT_TRUE(same_bits(cu().relu_forward(z), yg));
  EXPECT_TRUE(same_bits(v2, varg));
  Tensor y3, m3, i3, v3;
  cu().batch_norm_relu_forward_train(gpu(x), gpu(gamma), gpu(beta), 1e-5, sh, y3, m3, i3, v3);
  EXPECT_TRUE(same_bits(y3, yg));

  // Backward, on the CPU's y (the same mask) and each side's statistics.
  Tensor dy = cpu_f32(s, 73), yc = gpu(y);
  Tensor dx, dgamma, dbeta, dxg, dgammag, dbetag;
  cpu().batch_norm_relu_backward(dy, y, x, gamma, mean, invstd, sh, dx, dgamma, dbeta);
  cu().batch_norm_relu_backward(gpu(dy), yc, gpu(x), gpu(gamma), meang, invstdg, sh, dxg, dgammag, dbetag);
  EXPECT_TRUE(close(dxg, dx, 1e-6, 1e-4));
  EXPECT_TRUE(close(dgammag, dgamma, 1e-5, 1e-4));
  EXPECT_TRUE(close(dbetag, dbeta, 1e-5, 1e-4));
  // = relu_backward then batch_norm_backward on CUDA, bit for bit; a rerun gives the same bits.
  Tensor dxu, dgu, dbu;
  cu().batch_norm_backward(cu().relu_backward(gpu(dy), yc), gpu(x), gpu(gamma), meang, invstdg, sh, dxu, dgu, dbu);
  EXPECT_TRUE(same_bits(dxu, dxg));
  EXPECT_TRUE(same_bits(dgu, dgammag));
  EXPECT_TRUE(same_bits(dbu, dbetag));
  Tensor dx2, dg2, db2;
  cu().batch_norm_relu_backward(gpu(dy), yc, gpu(x), gpu(gamma), meang, invstdg, sh, dx2, dg2, db2);
  EXPECT_TRUE(same_bits(dx2, dxg));
  EXPECT_TRUE(same_bits(dg2, dgammag));

  // Inference: exact.
  Tensor rm = cpu_f32({c}, 74), rv = cpu_f32({c}, 75, 0.5, 2.0);
  EXPECT_TRUE(same_bits(cu().batch_norm_relu_forward_infer(gpu(x), gpu(gamma), gpu(beta), gpu(rm), gpu(rv), 1e-5),
                        cpu().batch_norm_relu_forward_infer(x, gamma, beta, rm, rv, 1e-5)));
}

}  // namespace

// 16 channels divide 256 (one channel per thread in the elementwise kernels); 40 do not (the
// per-element channel index path); the shard counts cover the tree with 4 and 8 leaves.
TEST_F(GpuBatchNormRelu, NhwcFourShards) { check_fused({8, 9, 7, 16}, Shards::make(4, 0, 1)); }
TEST_F(GpuBatchNormRelu, MatrixManyChannels) { check_fused({16, 40}, Shards::make(8, 0, 1)); }

TEST_F(GpuBatchNormRelu, NaNPassesThroughInInference) {
  // As relu: a NaN input gives a NaN output, elsewhere the CPU's values. (NaN payloads may differ
  // between the host and the GPU, so this compares where the NaNs are, not their bits.)
  Tensor x = cpu_f32({4, 3, 3, 8}, 76, -1.0, 3.0), gamma = cpu_f32({8}, 77, 0.5, 1.5), beta = cpu_f32({8}, 78);
  Tensor rm = cpu_f32({8}, 79), rv = cpu_f32({8}, 80, 0.5, 2.0);
  x.data<float>()[5] = std::numeric_limits<float>::quiet_NaN();
  const Tensor yc = cpu().batch_norm_relu_forward_infer(x, gamma, beta, rm, rv, 1e-5);
  const Tensor yg = cu().batch_norm_relu_forward_infer(gpu(x), gpu(gamma), gpu(beta), gpu(rm), gpu(rv), 1e-5)
                        .to(Device::cpu);
  for (int64_t i = 0; i < x.numel(); ++i) {
    const float a = yg.data<float>()[i], b = yc.data<float>()[i];
    EXPECT_EQ(std::isnan(a), i == 5) << "element " << i;
    if (i != 5) {
      EXPECT_EQ(a, b) << "element " << i;
    }
  }
}

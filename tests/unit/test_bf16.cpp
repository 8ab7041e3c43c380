// bfloat16 storage on the host (engine/tensor.h): round to nearest even, the canonical NaN, exact
// widening, Tensor::to between float32 and bfloat16, the CPU backend's convert, and the cast op
// (identity for the same type; its gradient converted back). The GPU's conversion is checked
// against these bits in tests/gpu/test_gpu_bf16.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "engine/backend.h"
#include "engine/ops.h"
#include "engine/tape.h"
#include "engine/tensor.h"

using namespace cytocon;

namespace {

uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}
float from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

TEST(Bf16, RoundsToNearestEven) {
  EXPECT_EQ(bf16_from_float(1.0f), 0x3f80);
  EXPECT_EQ(bf16_from_float(from_bits(0x3f808000)), 0x3f80);  // tie, even neighbour below
  EXPECT_EQ(bf16_from_float(from_bits(0x3f818000)), 0x3f82);  // tie, even neighbour above
  EXPECT_EQ(bf16_from_float(from_bits(0x3f808001)), 0x3f81);  // just above the tie
  EXPECT_EQ(bf16_from_float(from_bits(0x3f807fff)), 0x3f80);  // just below
  EXPECT_EQ(bf16_from_float(-0.0f), 0x8000);
  EXPECT_EQ(bf16_from_float(std::numeric_limits<float>::infinity()), 0x7f80);
  EXPECT_EQ(bf16_from_float(from_bits(0x7f7fffff)), 0x7f80);  // FLT_MAX rounds up to infinity
  EXPECT_EQ(bf16_from_float(std::nanf("")), 0x7fff);
  EXPECT_EQ(bf16_from_float(-std::nanf("")), 0x7fff);
}

TEST(Bf16, WideningIsExactAndRoundTrips) {
  for (uint32_t b = 0; b < 0x10000; b += 7) {
    const float f = float_from_bf16(static_cast<uint16_t>(b));
    EXPECT_EQ(bits(f), b << 16);
    if (!std::isnan(f)) {
      EXPECT_EQ(bf16_from_float(f), b) << b;
    }
  }
}

TEST(Bf16, TensorConversionsAndCast) {
  const Tensor x = Tensor::from_vector<float>({1.0f, from_bits(0x3f818000), -3.14159f, 0.1f}, {4});
  const Tensor b = x.to(DType::bf16);
  ASSERT_EQ(b.dtype(), DType::bf16);
  EXPECT_EQ(b.nbytes(), 8u);
  const std::vector<float> back = b.to(DType::f32).to_vector<float>();
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(bits(back[i]), static_cast<uint32_t>(bf16_from_float(x.to_vector<float>()[i])) << 16);
  EXPECT_EQ(backend(Device::cpu).cast(x, DType::bf16).nbytes(), 8u);

  // cast: the same type is the tensor itself; otherwise the gradient comes back in x's type.
  Tensor w = x.clone();
  w.set_requires_grad(true);
  EXPECT_EQ(ops::cast(w, DType::f32).raw(), w.raw());
  Tape tape;
  Tensor y = ops::cast(w, DType::f64);
  ASSERT_EQ(y.dtype(), DType::f64);
  tape.backward(y, Tensor::from_vector<double>({0.5, 1.0, 2.0, 4.0}, {4}));
  ASSERT_EQ(w.grad().dtype(), DType::f32);
  EXPECT_EQ(w.grad().to_vector<float>(), std::vector<float>({0.5f, 1.0f, 2.0f, 4.0f}));
}

}  // namespace

// Helpers of the GPU tests: skip without a GPU, CPU/CUDA copies of one input, tolerance checks.
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <sstream>
#include <string>

#include "common/gradcheck.h"
#include "engine/backend.h"
#include "engine/tensor.h"
#ifdef CYTOCON_HAVE_CUDA
#include "engine/cuda/cuda.h"
#endif

#define CYTOCON_REQUIRE_GPU()                                                    \
  do {                                                                           \
    if (!::cytocon::cuda_available()) GTEST_SKIP() << "no usable CUDA GPU here"; \
  } while (0)

namespace cytocon::gputest {

inline Tensor cpu_f32(const Shape& s, uint64_t seed, double lo = -1.0, double hi = 1.0) {
  return test::random_tensor(s, seed, DType::f32, lo, hi);
}
inline Tensor gpu(const Tensor& t) { return t.to(Device::cuda); }
inline Backend& cpu() { return backend(Device::cpu); }
inline Backend& cu() { return backend(Device::cuda); }

// Kernel tests: skipped without a GPU; each starts in the default mode, deterministic float32.
class KernelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CYTOCON_REQUIRE_GPU();
#ifdef CYTOCON_HAVE_CUDA
    set_cuda_mode(ReduceMode::deterministic, Precision::fp32);
#endif
  }
};

// Passes when max|a − b| ≤ atol + rtol·max|b| (b: the CPU reference). Scale-relative, because the
// error of a float32 sum grows with the magnitude of the sum's terms, not with each output.
inline ::testing::AssertionResult close(const Tensor& gpu_value, const Tensor& cpu_ref, double atol, double rtol) {
  const Tensor a = gpu_value.to(Device::cpu).to(DType::f64), b = cpu_ref.to(Device::cpu).to(DType::f64);
  if (a.shape() != b.shape())
    return ::testing::AssertionFailure() << "shape " << shape_str(a.shape()) << " vs " << shape_str(b.shape());
  double scale = 0, err = 0;
  int64_t worst = -1;
  for (int64_t i = 0; i < b.numel(); ++i) {
    scale = std::max(scale, std::fabs(b.data<double>()[i]));
    const double e = std::fabs(a.data<double>()[i] - b.data<double>()[i]);
    if (!(e <= err)) err = e, worst = i;  // NaN counts as the worst
  }
  const double bound = atol + rtol * scale;
  if (err <= bound) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "max |gpu − cpu| = " << err << " at element " << worst << " (gpu "
                                       << a.data<double>()[worst] << ", cpu " << b.data<double>()[worst]
                                       << "), bound " << bound << " = " << atol << " + " << rtol << "·" << scale;
}

// Bitwise equality of two tensors (any devices).
inline ::testing::AssertionResult same_bits(const Tensor& x, const Tensor& y) {
  if (x.shape() != y.shape() || x.dtype() != y.dtype())
    return ::testing::AssertionFailure() << "shape/dtype differ: " << shape_str(x.shape()) << " vs "
                                         << shape_str(y.shape());
  const Tensor a = x.to(Device::cpu), b = y.to(Device::cpu);
  if (std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "bits differ (max |diff| " << test::max_abs_diff(a, b) << ")";
}

}  // namespace cytocon::gputest

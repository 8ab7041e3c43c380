// The CUDA emulator as a memory checker (docs/cuda-emulator.md, "Out-of-bounds accesses"): in an
// AddressSanitizer build, a kernel's out-of-bounds access is reported, as compute-sanitizer's
// memcheck reports it on a GPU. Each case is one the emulator once missed:
//   - a local array overflowed after __syncthreads (ASan's swapcontext interceptor cleared the
//     suspended fiber's stack shadow on every resume);
//   - a read just past a cudaMalloc'd buffer, inside the emulator's 256-byte rounding;
//   - a read just past a tensor, or of a freed tensor, inside the caching allocator's rounding
//     or cache (engine/cuda/allocator.cu).
// Skipped in builds without AddressSanitizer.
#include <gtest/gtest.h>

#include "engine/backend.h"
#include "engine/tensor.h"
// After the project's headers: it defines threadIdx & co. as macros.
#include "emulator/cuda_emu.h"

namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAsan = true;
#else
constexpr bool kAsan = false;
#endif

volatile int g_index;  // an index the compiler cannot see is out of bounds

// One block of two threads; every thread fills a local array, waits at the barrier, then writes
// element g_index of it.
void overflow_local_after_barrier() {
  g_index = 8;
  ::cuemu::run_grid(
      [] {
        int local[8];
        for (int i = 0; i < 8; ++i) local[i] = i;
        __syncthreads();
        int* volatile p = local;  // hidden from UBSan's bounds and object-size checks: ASan's to find
        p[g_index] = 1;
        g_index = local[0];
      },
      dim3(1), dim3(2), 0);
}

// A kernel reads element g_index of p.
float read_in_kernel(const float* p, int index) {
  g_index = index;
  float out = 0.f;
  ::cuemu::run_grid([&] { out = p[g_index]; }, dim3(1), dim3(1), 0);
  return out;
}

class EmuSanitizer : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!kAsan) GTEST_SKIP() << "needs an AddressSanitizer build (-DCYTOCON_SANITIZE=address)";
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    ASSERT_TRUE(cytocon::cuda_available());  // the emulated device (also installs its allocator)
  }
};

TEST_F(EmuSanitizer, LocalOverflowAfterBarrier) {
  EXPECT_DEATH(overflow_local_after_barrier(), "stack-buffer-overflow");
}

TEST_F(EmuSanitizer, ReadPastCudaMalloc) {
  float* p = nullptr;
  ASSERT_EQ(cudaMalloc(reinterpret_cast<void**>(&p), 10 * sizeof(float)), cudaSuccess);
  ASSERT_EQ(cudaMemset(p, 0, 10 * sizeof(float)), cudaSuccess);
  EXPECT_EQ(read_in_kernel(p, 9), 0.f);
  EXPECT_DEATH(read_in_kernel(p, 10), "AddressSanitizer");
  cudaFree(p);
}

TEST_F(EmuSanitizer, ReadPastTensor) {
  cytocon::Tensor t = cytocon::Tensor::zeros({10}, cytocon::DType::f32, cytocon::Device::cuda);
  const float* p = static_cast<const float*>(t.raw());
  EXPECT_EQ(read_in_kernel(p, 9), 0.f);
  EXPECT_DEATH(read_in_kernel(p, 10), "AddressSanitizer");
}

TEST_F(EmuSanitizer, ReadOfFreedTensor) {
  const float* p = nullptr;
  {
    cytocon::Tensor t = cytocon::Tensor::zeros({10}, cytocon::DType::f32, cytocon::Device::cuda);
    p = static_cast<const float*>(t.raw());
  }
  EXPECT_DEATH(read_in_kernel(p, 0), "AddressSanitizer");
}

}  // namespace

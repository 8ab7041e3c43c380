// The CUDA runtime layer: device detection, mode/precision settings, the caching allocator and
// copies. The first tests run without a GPU (they check that a CUDA build on a machine without
// one degrades to clear errors instead of crashing or printing driver noise).
#include "gpu_test.h"
#ifdef CYTOCON_HAVE_CUDA
#include "engine/cuda/cuda.h"
#endif
#include "common/errors.h"

using namespace cytocon;
using namespace cytocon::gputest;

using cytocon::testing_util::error_of;

namespace {

TEST(GpuRuntime, NoGpuGivesClearErrors) {
  if (cuda_available()) GTEST_SKIP() << "a GPU is present";
  EXPECT_NE(error_of([] { backend(Device::cuda); }).find("no usable CUDA GPU"), std::string::npos);
  const std::string e = error_of([] { Tensor::empty({4}, DType::f32, Device::cuda); });
  EXPECT_NE(e.find("cuda"), std::string::npos) << e;
  // CPU copies keep working whatever copy function the CUDA build registered.
  Tensor a = Tensor::from_vector<float>({1, 2, 3}, {3});
  EXPECT_EQ(a.clone().to_vector<float>(), (std::vector<float>{1, 2, 3}));
}

#ifdef CYTOCON_HAVE_CUDA
TEST(GpuRuntime, DefaultModeIsDeterministicFp32AndSettable) {
  const CudaMode d = cuda_mode();
  EXPECT_EQ(d.reduce, ReduceMode::deterministic);
  EXPECT_EQ(d.precision, Precision::fp32);
  set_cuda_mode(ReduceMode::fast, Precision::bf16);
  EXPECT_EQ(cuda_mode().reduce, ReduceMode::fast);
  EXPECT_EQ(cuda_mode().precision, Precision::bf16);
  const std::string s = cuda_mode_string();
  EXPECT_NE(s.find("mode=fast"), std::string::npos) << s;
  EXPECT_NE(s.find("precision=bf16"), std::string::npos) << s;
  set_cuda_mode(ReduceMode::deterministic, Precision::fp32);
  EXPECT_NE(cuda_mode_string().find("mode=deterministic precision=fp32"), std::string::npos);
}

TEST(GpuRuntime, CachingAllocatorReusesBlocks) {
  CYTOCON_REQUIRE_GPU();
  cuda_release_cached_memory();
  const CudaMemoryStats s0 = cuda_memory_stats();
  void* first = nullptr;
  {
    Tensor t = Tensor::empty({1000, 1000}, DType::f32, Device::cuda);
    first = t.raw();
    EXPECT_GE(cuda_memory_stats().in_use, s0.in_use + 4000000);
    EXPECT_GE(cuda_memory_stats().peak, s0.in_use + 4000000);
  }
  EXPECT_EQ(cuda_memory_stats().in_use, s0.in_use);
  EXPECT_GE(cuda_memory_stats().cached, size_t(4000000));
  Tensor again = Tensor::empty({1000, 1000}, DType::f32, Device::cuda);
  EXPECT_EQ(again.raw(), first);  // the same block, from the cache
  cuda_reset_peak_memory();
  EXPECT_EQ(cuda_memory_stats().peak, cuda_memory_stats().in_use);
}

// More memory than any GPU has (1 TiB): a clear error naming the size, what is in use and the
// keys that lower the need; the allocator stays usable afterwards.
TEST(GpuRuntime, OutOfMemoryIsAClearError) {
  CYTOCON_REQUIRE_GPU();
  const std::string e = error_of([] { Tensor::empty({int64_t(1) << 38}, DType::f32, Device::cuda); });
  EXPECT_NE(e.find("out of GPU memory allocating 1099511627776 bytes"), std::string::npos) << e;
  EXPECT_NE(e.find("bytes free"), std::string::npos) << e;
  EXPECT_NE(e.find("train.batch_size"), std::string::npos) << e;
  EXPECT_NE(e.find("train.precision"), std::string::npos) << e;
  Tensor ok = Tensor::zeros({1000}, DType::f32, Device::cuda);
  EXPECT_EQ(ok.to(Device::cpu).to_vector<float>(), std::vector<float>(1000, 0.0f));
}

TEST(GpuRuntime, CopiesAndZeros) {
  CYTOCON_REQUIRE_GPU();
  Tensor a = cpu_f32({5, 7}, 3);
  Tensor g = a.to(Device::cuda);
  EXPECT_EQ(g.device(), Device::cuda);
  Tensor g2 = g.clone();  // device to device
  EXPECT_TRUE(same_bits(g2, a));
  Tensor z = Tensor::zeros({5, 7}, DType::f32, Device::cuda);
  EXPECT_EQ(z.to_vector<float>(), std::vector<float>(35, 0.f));
  z.copy_from(a);
  EXPECT_TRUE(same_bits(z, a));
  EXPECT_NE(error_of([] { Tensor x = Tensor::zeros({2}, DType::f64, Device::cuda);
                          backend(Device::cuda).relu_forward(x); })
                .find("float32"),
            std::string::npos);
}
#endif

}  // namespace

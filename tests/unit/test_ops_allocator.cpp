// The CPU backend's caching allocator reuses large freed blocks (no page faults on reuse).
#include <gtest/gtest.h>

#include "engine/backend.h"
#include "engine/cpu/caching_allocator.h"
#include "engine/tensor.h"

using namespace cytocon;

TEST(CpuCachingAllocator, ReusesALargeBlockOfTheSameSize) {
  (void)backend(Device::cpu);  // installs the allocator
  if (cpu::caching_allocator_limit() == 0) GTEST_SKIP() << "caching disabled (CYTOCON_CPU_CACHE_MB=0 or ASan build)";
  Tensor a = Tensor::empty({1 << 20});  // 4 MB
  const void* p = a.raw();
  a = Tensor();
  Tensor b = Tensor::empty({1 << 20});
  EXPECT_EQ(b.raw(), p);
  Tensor c = Tensor::zeros({1 << 20});  // a second live block: a different one, zero-filled
  EXPECT_NE(c.raw(), p);
  for (float v : c.to_vector<float>()) ASSERT_EQ(v, 0.f);
}

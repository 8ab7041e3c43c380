// What a rank takes of its node (issue 12 §4, data/node_budget.h): threads and tile cache shrink
// with the ranks on the node, never below one thread / 256 MiB.
#include <gtest/gtest.h>
#include <sched.h>

#include <thread>

#include "data/node_budget.h"

using namespace cytocon::data;

namespace {

TEST(NodeBudget, SharedByTheRanksOnANode) {
  const size_t mem = node_memory_bytes();
  EXPECT_GT(mem, size_t(64) << 20);
  const size_t floor = size_t(256) << 20;
  for (int ranks : {1, 2, 3, 8, 1000})
    EXPECT_EQ(default_tile_cache_bytes(ranks), std::max(mem / 4 / ranks, floor)) << ranks;
  bool narrowed = true;
  const int cores = usable_cores(&narrowed);
  EXPECT_GE(cores, 1);
  EXPECT_LE(cores, static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  if (!narrowed) {
    EXPECT_EQ(default_loader_threads(1), cores);
    EXPECT_EQ(default_loader_threads(2), std::max(1, cores / 2));
  }
  EXPECT_EQ(default_loader_threads(1 << 20), narrowed ? cores : 1);
}

TEST(NodeBudget, ALauncherBindingIsTheRanksOwn) {
  cpu_set_t all, one;
  ASSERT_EQ(sched_getaffinity(0, sizeof all, &all), 0);
  if (CPU_COUNT(&all) < 2) GTEST_SKIP() << "one core: nothing to narrow";
  int first = 0;
  while (!CPU_ISSET(first, &all)) ++first;
  int got = 0;
  bool narrowed = false;
  std::thread([&] {  // narrow a thread of our own, as srun --cpu-bind narrows a rank
    CPU_ZERO(&one);
    CPU_SET(first, &one);
    sched_setaffinity(0, sizeof one, &one);
    got = default_loader_threads(4);
    usable_cores(&narrowed);
  }).join();
  EXPECT_TRUE(narrowed);
  EXPECT_EQ(got, 1);
}

}  // namespace

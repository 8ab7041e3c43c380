// Node memory and cores shared by the ranks on a node (node_budget.h).
#include "data/node_budget.h"

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <thread>

namespace cytocon::data {

size_t node_memory_bytes() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  return pages > 0 && page > 0 ? static_cast<size_t>(pages) * static_cast<size_t>(page) : size_t(4) << 30;
}

int usable_cores(bool* narrowed) {
  const int node = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  cpu_set_t set;
  CPU_ZERO(&set);
  int mine = node;
  if (sched_getaffinity(0, sizeof set, &set) == 0) mine = std::max(1, CPU_COUNT(&set));
  if (narrowed) *narrowed = mine < node;
  return std::min(mine, node);
}

size_t default_tile_cache_bytes(int ranks_on_node) {
  const size_t share = node_memory_bytes() / 4 / static_cast<size_t>(std::max(1, ranks_on_node));
  return std::max(share, size_t(256) << 20);
}

int default_loader_threads(int ranks_on_node) {
  bool narrowed = false;
  const int cores = usable_cores(&narrowed);
  return narrowed ? cores : std::max(1, cores / std::max(1, ranks_on_node));
}

}  // namespace cytocon::data

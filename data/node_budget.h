// What one rank may take of its node for data loading (issue 12 §4, docs/data.md "Many ranks on
// a node"): the tile cache's bytes and the loader's threads, shared by the ranks on the node
// (`ranks_on_node`: dist::Context::local_size(), from MPI_Comm_split_type(MPI_COMM_TYPE_SHARED)).
#pragma once
#include <cstddef>

namespace cytocon::data {

size_t node_memory_bytes();  // physical memory of the node
// Cores this process may run on: its CPU affinity set when the launcher narrowed it (srun
// --cpu-bind, taskset), else the node's cores. `narrowed` says which.
int usable_cores(bool* narrowed = nullptr);

// Default tile cache per rank: a quarter of the node's memory split over its ranks, at least
// 256 MiB.
size_t default_tile_cache_bytes(int ranks_on_node);
// Default loader threads per rank: the node's cores divided by its ranks (at least 1); when the
// launcher bound this rank to its own cores, those cores.
int default_loader_threads(int ranks_on_node);

}  // namespace cytocon::data

// A caching host allocator for large tensors. Fresh large allocations come from mmap, and the
// first write to every page faults: on the 280×280×16 maps of the encoder that cost 3–4× the
// kernel itself (measured: ReLU over 40 MB, 2.5 ms into a reused buffer, 9.5 ms into a fresh one).
// Freed blocks of at least kMinCachedBytes are kept, by exact size, for the next request of that
// size (training repeats the same shapes every step); at most CYTOCON_CPU_CACHE_MB megabytes
// (default 2048; 0 in AddressSanitizer builds, so that ASan sees every use after free) are held,
// beyond that blocks go back to the system. Thread-safe.
// Blocks come from std::aligned_alloc(64, ·) like the default allocator, so a block allocated
// before this allocator was installed may be released through it.
#pragma once
#include <cstddef>

namespace cytocon::cpu {

// Registers the caching allocator for Device::cpu (once; called by cpu_backend()).
void install_caching_allocator();
// The most bytes of freed blocks the allocator keeps (CYTOCON_CPU_CACHE_MB); 0: no caching.
size_t caching_allocator_limit();

}  // namespace cytocon::cpu

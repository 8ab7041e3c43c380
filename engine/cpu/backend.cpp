// CpuBackend: the engine/backend.h interface on the CPU (the reference): the shared forwarding
// table (engine/backend_table.inc) over the kernels of this directory (kernels.h), as
// engine/cuda/backend.cu on the GPU.
#include "engine/backend.h"
#include "engine/cpu/caching_allocator.h"
#include "engine/cpu/kernels.h"
#include "engine/op_checks.h"

namespace cytocon {

namespace {

namespace kernels = cpu;
constexpr Device kDevice = Device::cpu;
#include "engine/backend_table.inc"

// Installed during static initialisation (single-threaded, before any loader thread exists) and
// again, idempotently, on first use of the backend.
const bool kCachingAllocatorInstalled = (cpu::install_caching_allocator(), true);

}  // namespace

Backend& cpu_backend() {
  static KernelBackend& b = [] () -> KernelBackend& {
    cpu::install_caching_allocator();
    static KernelBackend backend;
    return backend;
  }();
  return b;
}

}  // namespace cytocon

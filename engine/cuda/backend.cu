// CudaBackend: the engine/backend.h interface on the GPU: the shared forwarding table
// (engine/backend_table.inc) over the kernels of this directory (kernels.h), as
// engine/cpu/backend.cpp on the CPU. Created on first use of Device::cuda (engine/backend.cpp).
#include "engine/cuda/common.cuh"
#include "engine/cuda/kernels.h"
#include "engine/op_checks.h"

namespace cytocon {
namespace {

namespace kernels = cuda;
constexpr Device kDevice = Device::cuda;
#include "engine/backend_table.inc"

}  // namespace

Backend* cuda_backend() {
  if (!cuda_device_usable()) return nullptr;
  static KernelBackend* b = [] {
    cuda::install_memory();
    (void)cuda::stream();  // create the context and stream now, not inside the first op
    auto* be = new KernelBackend;  // lives for the process: tensors may be freed after static destructors
    register_backend(Device::cuda, be);
    return be;
  }();
  return b;
}

}  // namespace cytocon

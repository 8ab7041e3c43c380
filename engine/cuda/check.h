// The CUDA error check, for the backend's files and for CUDA code outside it (the GPU extractor,
// data/cuda/gpu_extract.cu): a failed call throws, naming the error, the call and where it was.
#pragma once
#include <cuda_runtime.h>

namespace cytocon::cuda {
[[noreturn]] void fail_cuda(cudaError_t e, const char* what, const char* file, int line);
}  // namespace cytocon::cuda

#define CYTOCON_CUDA_CHECK(call)                                                   \
  do {                                                                             \
    cudaError_t e_ = (call);                                                       \
    if (e_ != cudaSuccess) ::cytocon::cuda::fail_cuda(e_, #call, __FILE__, __LINE__); \
  } while (0)
// After a kernel launch: reports bad launch configurations at once (not execution errors).
#define CYTOCON_CUDA_LAUNCHED() CYTOCON_CUDA_CHECK(cudaGetLastError())

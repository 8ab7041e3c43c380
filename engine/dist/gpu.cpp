// CUDA builds only: which GPU this rank drives.
#include "engine/dist/gpu.h"

#include <cuda_runtime.h>

#include <string>

namespace cytocon::dist {

int select_gpu(int local_rank) {
  int count = 0;
  cudaError_t e = cudaGetDeviceCount(&count);
  check(e == cudaSuccess && count > 0,
        std::string("no usable CUDA device for rank ") + std::to_string(local_rank) + " on this node (" +
            (e == cudaSuccess ? "none visible" : cudaGetErrorString(e)) + "; check CUDA_VISIBLE_DEVICES)");
  // Each rank sees either all of the node's GPUs (take the local_rank-th) or only its own
  // (srun --gpus-per-task=1: take device 0). Two ranks on one GPU are reported by NCCL.
  int dev = local_rank % count;
  e = cudaSetDevice(dev);
  check(e == cudaSuccess, "cudaSetDevice(" + std::to_string(dev) + "): " + cudaGetErrorString(e));
  return dev;
}

#ifndef CYTOCON_HAVE_NCCL
std::unique_ptr<Comm> make_nccl_comm(MpiComm&, double) { return nullptr; }
#endif

}  // namespace cytocon::dist

// GPU side of start-up (CUDA builds only; engine/dist/gpu.cpp, engine/dist/nccl_comm.cpp).
#pragma once
#include <memory>

#include "engine/shards.h"

namespace cytocon::dist {

// cudaSetDevice(local_rank mod visible devices); returns the device. Fails with a clear message
// when no device is visible.
int select_gpu(int local_rank);

class MpiComm;
// A Comm that runs device-buffer collectives with NCCL (unique id broadcast over `host`) and
// hands host buffers to `host`. Null when this build has no NCCL.
std::unique_ptr<Comm> make_nccl_comm(MpiComm& host, double timeout_s);

}  // namespace cytocon::dist

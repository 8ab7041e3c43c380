// Public settings and queries of the CUDA backend (plain C++: no CUDA headers). Available only
// when the build defines CYTOCON_HAVE_CUDA; callers guard their includes with it.
//
//   set_cuda_mode(ReduceMode::deterministic, Precision::fp32);   // the default
//   set_cuda_mode(ReduceMode::fast, Precision::bf16);            // autotuned, bf16 tensor cores
//
// The trainer records cuda_mode() in its logs and checkpoint metadata (docs/cuda.md).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "engine/precision.h"
#include "engine/shards.h"

namespace cytocon {

// True when cudaGetDeviceCount succeeds and reports a device (cached; prints nothing).
bool cuda_device_usable();

// The convolutions' arithmetic: Precision (engine/precision.h).
struct CudaMode {
  ReduceMode reduce = ReduceMode::deterministic;
  Precision precision = Precision::fp32;
};
// Global for the process; set before the first step (changing it later drops cached algorithms).
// deterministic: fixed cuDNN algorithms, every conv run per micro-shard, no float atomics,
//                bit-identical reruns and rank counts. fast: cudnnFind autotuning on the whole
//                local batch (bits may differ between runs).
void set_cuda_mode(ReduceMode reduce, Precision precision);
CudaMode cuda_mode();
// One line for logs, e.g. "cuda mode=deterministic precision=fp32 device=NVIDIA H100 (sm_90) cudnn=91900".
std::string cuda_mode_string();

// Device memory held by tensors and workspaces through the caching allocator (bytes).
struct CudaMemoryStats {
  size_t in_use = 0;  // live allocations
  size_t peak = 0;    // maximum of in_use since the last reset
  size_t cached = 0;  // freed blocks kept for reuse
};
CudaMemoryStats cuda_memory_stats();
void cuda_reset_peak_memory();
void cuda_release_cached_memory();  // returns cached blocks to the driver

// The backend's stream (a cudaStream_t): every kernel and copy of this process runs on it, so
// the communicator (NCCL) enqueues on it too and no extra synchronisation is needed.
void* cuda_stream_handle();
void cuda_synchronize();  // waits for the stream; throws with the CUDA error if a kernel failed

}  // namespace cytocon

// Shared pieces of cytocon-bench: options, device selection and synchronisation, timing, memory.
#pragma once
#include <cstdint>
#include <string>

#include "engine/precision.h"
#include "engine/shards.h"
#include "engine/tensor.h"

namespace cytocon::bench {

struct Options {
  Device device = Device::cpu;
  std::string preset = "paper";  // paper | tiny
  int64_t batch = 0;             // 0: 8 (paper) or 16 (tiny), the PyTorch anchors' batches
  ReduceMode mode = ReduceMode::deterministic;
  Precision precision = Precision::fp32;  // CUDA convolutions
  int steps = 3;                   // timed steps after one warm-up step
  int shards = 0;                  // micro-shards; 0: as the trainer picks (largest 2^k ≤ 32 dividing the batch)
  bool layers = false;             // per-layer convolution profile instead of the network
};

// Resolves defaults, selects the device and its mode/precision (fails on values it cannot run).
Device setup(Options& o);
Shards make_shards(const Options& o);
void synchronize(Device d);
double now_s();
// CPU seconds used by the whole process (all threads): on a shared machine, a figure that other
// processes' load does not inflate as much as wall time.
double cpu_now_s();
// Peak memory in bytes: the CPU process's peak RSS, or the CUDA allocator's peak since the last reset.
double peak_memory_bytes(Device d);
void reset_peak_memory(Device d);
// Uniform [lo, hi) float32 tensor from Philox keyed by seed, on device d.
Tensor uniform_tensor(const Shape& shape, uint64_t seed, double lo, double hi, Device d);
// "fp32", "deterministic", "2 threads" etc. for the JSON lines.
std::string json_common(const Options& o);

}  // namespace cytocon::bench

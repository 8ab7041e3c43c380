// Deterministic reductions on the GPU: no float atomics, every sum in an order fixed by the
// geometry alone (never by the number of SMs, the scheduling, or the number of ranks).
//
// shard_column_sums: for each micro-shard s and column c, Σ_r f(s, r, c) over the shard's rows
//   r ∈ [s·rows, (s+1)·rows). The rows of a shard are cut into chunks of a fixed size; within a
//   chunk, thread row ty sums rows ty, ty+8, ... in order, the 8 thread rows are added by a fixed
//   pairwise tree, and the chunk sums are added in chunk order. Columns map to threadIdx.x so
//   reads of channels-last data are coalesced.
// combine_shards_device: the fixed binary tree of engine/shards.h over per-shard partials kept
//   on the device, then across ranks (all-gather of the subtree roots, same tree).
#pragma once
#include "engine/cuda/common.cuh"
#include "engine/shards.h"

namespace cytocon::cuda {

constexpr int kColTile = 32, kRowLanes = 8;

template <class F>
__global__ void column_chunk_sums(F f, int64_t rows_per_shard, int cols, int64_t chunk_rows, int chunks,
                                  float* partial) {
  __shared__ float acc_tile[kRowLanes][kColTile + 1];
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int c = blockIdx.x * kColTile + tx;
  const int s = blockIdx.z, k = blockIdx.y;
  const int64_t shard_end = (static_cast<int64_t>(s) + 1) * rows_per_shard;
  const int64_t begin = static_cast<int64_t>(s) * rows_per_shard + static_cast<int64_t>(k) * chunk_rows;
  const int64_t end = begin + chunk_rows < shard_end ? begin + chunk_rows : shard_end;
  float acc = 0.f;
  if (c < cols)
    for (int64_t r = begin + ty; r < end; r += kRowLanes) acc += f(s, r, c);
  acc_tile[ty][tx] = acc;
  __syncthreads();
  for (int h = kRowLanes / 2; h > 0; h >>= 1) {
    if (ty < h) acc_tile[ty][tx] += acc_tile[ty + h][tx];
    __syncthreads();
  }
  if (ty == 0 && c < cols) partial[(static_cast<int64_t>(s) * chunks + k) * cols + c] = acc_tile[0][tx];
}

__global__ void finish_chunk_sums(const float* partial, int shards, int chunks, int cols, float* out);

// out: device [shards][cols].
template <class F>
void shard_column_sums(const F& f, int shards, int64_t rows_per_shard, int cols, float* out) {
  if (shards == 0 || cols == 0) return;
  if (rows_per_shard == 0) {
    CYTOCON_CUDA_CHECK(cudaMemsetAsync(out, 0, sizeof(float) * shards * cols, stream()));
    return;
  }
  int64_t chunk_rows = 2048;
  if ((rows_per_shard + chunk_rows - 1) / chunk_rows > 65535) chunk_rows = (rows_per_shard + 65534) / 65535;
  const int chunks = static_cast<int>((rows_per_shard + chunk_rows - 1) / chunk_rows);
  check(shards <= 65535, "more than 65535 micro-shards per rank");
  Scratch partial(sizeof(float) * static_cast<size_t>(shards) * chunks * cols);
  dim3 grid((cols + kColTile - 1) / kColTile, chunks, shards), block(kColTile, kRowLanes);
  column_chunk_sums<<<grid, block, 0, stream()>>>(f, rows_per_shard, cols, chunk_rows, chunks, partial.as<float>());
  CYTOCON_CUDA_LAUNCHED();
  int64_t n = static_cast<int64_t>(shards) * cols;
  finish_chunk_sums<<<blocks_for(n), kThreads, 0, stream()>>>(partial.as<float>(), shards, chunks, cols, out);
  CYTOCON_CUDA_LAUNCHED();
}

// partials: device [sh.count][len]; on return partials[0 .. len) holds the global sum.
void combine_shards_device(const Shards& sh, float* partials, int64_t len);

}  // namespace cytocon::cuda

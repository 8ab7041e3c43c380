// Deterministic reductions on the GPU: no float atomics, every sum in an order fixed by the
// geometry alone (never by the number of SMs, the scheduling, or the number of ranks).
//
// shard_column_sums: for each micro-shard s and column c, Σ_r f(s, r, c) over the shard's rows
//   r ∈ [s·rows, (s+1)·rows). The rows of a shard are cut into chunks of a fixed size; within a
//   chunk, each of L row lanes sums rows lane, lane+L, ... in order, the lanes are added by a fixed
//   pairwise tree, and the chunk sums are added in chunk order. Columns map to threadIdx.x so
//   reads of channels-last data are coalesced. Everything depends on the geometry alone.
// combine_shards_device: the fixed binary tree of engine/shards.h over per-shard partials kept
//   on the device, then across ranks (all-gather of the subtree roots, same tree).
#pragma once
#include "engine/cuda/common.cuh"
#include "engine/shards.h"

namespace cytocon::cuda {

constexpr int kColTile = 32, kRowLanes = 8;

// Block (32, kRowLanes). A warp covers `width` columns (a power of two ≤ 32) and 32/width row
// lanes, so narrow tensors (16 channels) still read whole 128-byte lines.
template <class F>
__global__ void column_chunk_sums(F f, int64_t rows_per_shard, int cols, int width, int64_t chunk_rows, int chunks,
                                  float* partial) {
  __shared__ float acc_tile[kRowLanes][kColTile + 1];
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int lane_col = tx % width, sub = tx / width, subs = kColTile / width;
  const int c = blockIdx.x * width + lane_col;
  const int s = blockIdx.z, k = blockIdx.y;
  const int64_t shard_end = (static_cast<int64_t>(s) + 1) * rows_per_shard;
  const int64_t begin = static_cast<int64_t>(s) * rows_per_shard + static_cast<int64_t>(k) * chunk_rows;
  const int64_t end = begin + chunk_rows < shard_end ? begin + chunk_rows : shard_end;
  float acc = 0.f;
  if (c < cols)
    for (int64_t r = begin + ty * subs + sub; r < end; r += kRowLanes * subs) acc += f(s, r, c);
  acc_tile[ty][tx] = acc;
  __syncthreads();
  for (int h = kRowLanes / 2; h > 0; h >>= 1) {  // over the row lanes ty
    if (ty < h) acc_tile[ty][tx] += acc_tile[ty + h][tx];
    __syncthreads();
  }
  for (int h = subs / 2; h > 0; h >>= 1) {  // over the row lanes within a warp
    if (ty == 0 && sub < h) acc_tile[0][tx] += acc_tile[0][tx + h * width];
    __syncthreads();
  }
  if (ty == 0 && sub == 0 && c < cols) partial[(static_cast<int64_t>(s) * chunks + k) * cols + c] = acc_tile[0][tx];
}

// out[s][c] = Σ_k partial[s][k][c], chunks k in order. (A template so that each .cu file has its
// own instance: no relocatable device code needed.)
template <class T>
__global__ void finish_chunk_sums(const T* partial, int shards, int chunks, int cols, T* out) {
  const int64_t n = static_cast<int64_t>(shards) * cols;
  for (int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; t < n; t += int64_t(gridDim.x) * blockDim.x) {
    const int64_t s = t / cols, c = t % cols;
    const T* p = partial + s * chunks * cols + c;
    T acc = 0;
    for (int k = 0; k < chunks; ++k) acc += p[static_cast<int64_t>(k) * cols];
    out[t] = acc;
  }
}

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
  int width = kColTile;
  while (width / 2 >= cols && width > 1) width /= 2;
  dim3 grid((cols + width - 1) / width, chunks, shards), block(kColTile, kRowLanes);
  column_chunk_sums<<<grid, block, 0, stream()>>>(f, rows_per_shard, cols, width, chunk_rows, chunks,
                                                  partial.as<float>());
  CYTOCON_CUDA_LAUNCHED();
  int64_t n = static_cast<int64_t>(shards) * cols;
  finish_chunk_sums<<<blocks_for(n), kThreads, 0, stream()>>>(partial.as<float>(), shards, chunks, cols, out);
  CYTOCON_CUDA_LAUNCHED();
}

// partials: device [sh.count][len]; on return partials[0 .. len) holds the global sum.
void combine_shards_device(const Shards& sh, float* partials, int64_t len);

}  // namespace cytocon::cuda

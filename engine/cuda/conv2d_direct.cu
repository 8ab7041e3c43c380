#include "engine/cuda/common.cuh"
#include "engine/cuda/conv2d_direct.cuh"
#include "engine/cuda/reduce.cuh"

namespace cytocon::cuda {
namespace {

// KC: the kernel size as a compile-time constant (the window then lives in registers), or 0.
template <int KC, class T>
__global__ void forward_kernel(DirectGeom g, const float* x, const float* w, T* y) {
  extern __shared__ float w_s[];  // [cout][k][k]
  const int k = KC > 0 ? KC : static_cast<int>(g.k), kk = k * k, cout = static_cast<int>(g.cout);
  for (int t = threadIdx.x; t < cout * kk; t += blockDim.x) w_s[t] = w[t];
  __syncthreads();
  const int64_t oh = g.oh(), ow = g.ow(), total = g.n * oh * ow;
  CYTOCON_GRID_LOOP(t, total) {
    const int64_t j = t % ow, i = (t / ow) % oh, b = t / (ow * oh);
    const float* xp = x + (b * g.h + g.stride * i) * g.w + g.stride * j;
    float patch[KC > 0 ? KC * KC : kDirectMaxK * kDirectMaxK];
#pragma unroll
    for (int p = 0; p < (KC > 0 ? KC : kDirectMaxK); ++p) {
      if (KC == 0 && p >= k) break;
#pragma unroll
      for (int q = 0; q < (KC > 0 ? KC : kDirectMaxK); ++q) {
        if (KC == 0 && q >= k) break;
        patch[p * k + q] = xp[p * g.w + q];
      }
    }
    T* yp = y + t * cout;
    for (int o = 0; o < cout; ++o) {
      const float* wo = w_s + o * kk;
      float acc = 0.f;
#pragma unroll
      for (int e = 0; e < (KC > 0 ? KC * KC : kDirectMaxK * kDirectMaxK); ++e) {
        if (KC == 0 && e >= kk) break;
        acc += patch[e] * wo[e];
      }
      yp[o] = st<T>(acc);
    }
  }
}

template <class T>
__global__ void backward_data_kernel(DirectGeom g, const T* dy, const float* w, T* dx) {
  const int64_t oh = g.oh(), ow = g.ow(), total = g.n * g.h * g.w;
  const int cout = static_cast<int>(g.cout), k = static_cast<int>(g.k), s = static_cast<int>(g.stride);
  CYTOCON_GRID_LOOP(t, total) {
    const int64_t c = t % g.w, r = (t / g.w) % g.h, b = t / (g.w * g.h);
    float acc = 0.f;
    for (int p = 0; p < k; ++p) {
      const int64_t ri = r - p;
      if (ri < 0 || ri % s != 0 || ri / s >= oh) continue;
      for (int q = 0; q < k; ++q) {
        const int64_t cj = c - q;
        if (cj < 0 || cj % s != 0 || cj / s >= ow) continue;
        const T* d = dy + ((b * oh + ri / s) * ow + cj / s) * cout;
        for (int o = 0; o < cout; ++o) acc += ld(d[o]) * w[(o * k + p) * k + q];
      }
    }
    dx[t] = st<T>(acc);
  }
}

constexpr int kWeightThreads = 256, kTileRows = 64, kTilesPerChunk = 64;
constexpr int kOutPerThread = kDirectMaxWeights / kWeightThreads;

// One block per (chunk, shard): partial[shard][chunk][o·k·k + p·k + q] = Σ over the chunk's output
// pixels r (in order) of x[pixel r's window + (p,q)] · dy[r, o]. Tiles of kTileRows pixels are
// staged in shared memory: the window values [row][p·k+q] and the gradients [row][o].
template <class T>
__global__ void weight_chunks_kernel(DirectGeom g, const float* x, const T* dy, int64_t rows_per_shard, int chunks,
                                     float* partial) {
  extern __shared__ float smem[];
  const int kk = static_cast<int>(g.k * g.k), cout = static_cast<int>(g.cout), n_out = cout * kk;
  float* patch = smem;                      // [kTileRows][kk]
  float* grad = patch + kTileRows * kk;     // [kTileRows][cout]
  __shared__ int64_t base[kTileRows];       // offset of each pixel's window in x
  const int s = blockIdx.y, chunk = blockIdx.x;
  const int64_t chunk_rows = int64_t(kTileRows) * kTilesPerChunk;
  const int64_t shard_end = (int64_t(s) + 1) * rows_per_shard;
  const int64_t begin = int64_t(s) * rows_per_shard + chunk * chunk_rows;
  const int64_t end = begin + chunk_rows < shard_end ? begin + chunk_rows : shard_end;
  const int64_t oh = g.oh(), ow = g.ow();
  float acc[kOutPerThread];
  for (int u = 0; u < kOutPerThread; ++u) acc[u] = 0.f;
  for (int64_t t0 = begin; t0 < end; t0 += kTileRows) {
    const int valid = static_cast<int>(end - t0 < kTileRows ? end - t0 : kTileRows);
    for (int row = threadIdx.x; row < valid; row += blockDim.x) {
      const int64_t r = t0 + row, j = r % ow, i = (r / ow) % oh, b = r / (ow * oh);
      base[row] = (b * g.h + g.stride * i) * g.w + g.stride * j;
    }
    __syncthreads();
    for (int idx = threadIdx.x; idx < valid * kk; idx += blockDim.x) {
      const int row = idx / kk, e = idx % kk, p = e / static_cast<int>(g.k), q = e % static_cast<int>(g.k);
      patch[idx] = x[base[row] + p * g.w + q];
    }
    for (int idx = threadIdx.x; idx < valid * cout; idx += blockDim.x) grad[idx] = ld(dy[t0 * cout + idx]);
    __syncthreads();
    for (int u = 0; u < kOutPerThread; ++u) {
      const int e = threadIdx.x + u * kWeightThreads;
      if (e >= n_out) break;
      const int o = e / kk, pq = e % kk;
      float a = acc[u];
      for (int row = 0; row < valid; ++row) a += patch[row * kk + pq] * grad[row * cout + o];
      acc[u] = a;
    }
    __syncthreads();
  }
  float* out = partial + (int64_t(s) * chunks + chunk) * n_out;
  for (int u = 0; u < kOutPerThread; ++u) {
    const int e = threadIdx.x + u * kWeightThreads;
    if (e < n_out) out[e] = acc[u];
  }
}

}  // namespace

template <class T>
void direct_forward(const DirectGeom& g, const float* x, const float* w, T* y) {
  const int64_t total = g.n * g.oh() * g.ow();
  if (!total) return;
  const size_t smem = sizeof(float) * g.cout * g.k * g.k;
  if (g.k == 5)
    forward_kernel<5, T><<<blocks_for(total, 128), 128, smem, stream()>>>(g, x, w, y);
  else if (g.k == 3)
    forward_kernel<3, T><<<blocks_for(total, 128), 128, smem, stream()>>>(g, x, w, y);
  else
    forward_kernel<0, T><<<blocks_for(total, 128), 128, smem, stream()>>>(g, x, w, y);
  CYTOCON_CUDA_LAUNCHED();
}

template <class T>
void direct_backward_data(const DirectGeom& g, const T* dy, const float* w, T* dx) {
  const int64_t total = g.n * g.h * g.w;
  if (!total) return;
  backward_data_kernel<T><<<blocks_for(total), kThreads, 0, stream()>>>(g, dy, w, dx);
  CYTOCON_CUDA_LAUNCHED();
}

template <class T>
void direct_backward_weight(const DirectGeom& g, const float* x, const T* dy, int shards, float* dw_partials) {
  const int n_out = static_cast<int>(g.cout * g.k * g.k);
  const int64_t rows_per_shard = g.n / shards * g.oh() * g.ow();
  if (rows_per_shard == 0) {
    CYTOCON_CUDA_CHECK(cudaMemsetAsync(dw_partials, 0, sizeof(float) * shards * n_out, stream()));
    return;
  }
  const int64_t chunk_rows = int64_t(kTileRows) * kTilesPerChunk;
  const int64_t chunks = (rows_per_shard + chunk_rows - 1) / chunk_rows;
  check(chunks <= 2147483647 && shards <= 65535, "direct conv weight gradient: batch too large");
  Scratch partial(sizeof(float) * shards * chunks * n_out);
  const size_t smem = sizeof(float) * kTileRows * (g.k * g.k + g.cout);
  weight_chunks_kernel<T><<<dim3(static_cast<unsigned>(chunks), shards), kWeightThreads, smem, stream()>>>(
      g, x, dy, rows_per_shard, static_cast<int>(chunks), partial.as<float>());
  CYTOCON_CUDA_LAUNCHED();
  const int64_t total = int64_t(shards) * n_out;
  finish_chunk_sums<<<blocks_for(total), kThreads, 0, stream()>>>(partial.as<float>(), shards, static_cast<int>(chunks),
                                                                  n_out, dw_partials);
  CYTOCON_CUDA_LAUNCHED();
}

template void direct_forward<float>(const DirectGeom&, const float*, const float*, float*);
template void direct_forward<bf16>(const DirectGeom&, const float*, const float*, bf16*);
template void direct_backward_data<float>(const DirectGeom&, const float*, const float*, float*);
template void direct_backward_data<bf16>(const DirectGeom&, const bf16*, const float*, bf16*);
template void direct_backward_weight<float>(const DirectGeom&, const float*, const float*, int, float*);
template void direct_backward_weight<bf16>(const DirectGeom&, const float*, const bf16*, int, float*);

}  // namespace cytocon::cuda

#include "engine/cuda/common.cuh"
#include "engine/cuda/conv_direct.cuh"
#include "engine/cuda/reduce.cuh"

namespace cytocon::cuda {
namespace {

__global__ void forward_kernel(DirectGeom g, const float* x, const float* w, float* y) {
  extern __shared__ float w_s[];  // [cout][k][k]
  const int kk = static_cast<int>(g.k * g.k), cout = static_cast<int>(g.cout);
  for (int t = threadIdx.x; t < cout * kk; t += blockDim.x) w_s[t] = w[t];
  __syncthreads();
  const int64_t oh = g.oh(), ow = g.ow(), total = g.n * oh * ow;
  CYTOCON_GRID_LOOP(t, total) {
    const int64_t j = t % ow, i = (t / ow) % oh, b = t / (ow * oh);
    const float* xp = x + (b * g.h + g.stride * i) * g.w + g.stride * j;
    float patch[kDirectMaxK * kDirectMaxK];
    for (int p = 0; p < g.k; ++p)
      for (int q = 0; q < g.k; ++q) patch[p * g.k + q] = xp[p * g.w + q];
    float* yp = y + t * cout;
    for (int o = 0; o < cout; ++o) {
      const float* wo = w_s + o * kk;
      float acc = 0.f;
      for (int e = 0; e < kk; ++e) acc += patch[e] * wo[e];
      yp[o] = acc;
    }
  }
}

__global__ void backward_data_kernel(DirectGeom g, const float* dy, const float* w, float* dx) {
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
        const float* d = dy + ((b * oh + ri / s) * ow + cj / s) * cout;
        for (int o = 0; o < cout; ++o) acc += d[o] * w[(o * k + p) * k + q];
      }
    }
    dx[t] = acc;
  }
}

// Column c = (o, p, q) of the weight gradient, row r = output pixel (n, i, j).
struct WeightTerm {
  DirectGeom g;
  const float* x;
  const float* dy;
  __device__ float operator()(int, int64_t r, int c) const {
    const int64_t kk = g.k * g.k, o = c / kk, p = (c % kk) / g.k, q = c % g.k;
    const int64_t oh = g.oh(), ow = g.ow();
    const int64_t j = r % ow, i = (r / ow) % oh, b = r / (ow * oh);
    return x[(b * g.h + g.stride * i + p) * g.w + g.stride * j + q] * dy[r * g.cout + o];
  }
};

}  // namespace

void direct_forward(const DirectGeom& g, const float* x, const float* w, float* y) {
  const int64_t total = g.n * g.oh() * g.ow();
  if (!total) return;
  const size_t smem = sizeof(float) * g.cout * g.k * g.k;
  forward_kernel<<<blocks_for(total, 128), 128, smem, stream()>>>(g, x, w, y);
  CYTOCON_CUDA_LAUNCHED();
}

void direct_backward_data(const DirectGeom& g, const float* dy, const float* w, float* dx) {
  const int64_t total = g.n * g.h * g.w;
  if (!total) return;
  backward_data_kernel<<<blocks_for(total), kThreads, 0, stream()>>>(g, dy, w, dx);
  CYTOCON_CUDA_LAUNCHED();
}

void direct_backward_weight(const DirectGeom& g, const float* x, const float* dy, int shards, float* dw_partials) {
  const int64_t rows_per_shard = g.n / shards * g.oh() * g.ow();
  shard_column_sums(WeightTerm{g, x, dy}, shards, rows_per_shard, static_cast<int>(g.cout * g.k * g.k),
                    dw_partials);
}

}  // namespace cytocon::cuda

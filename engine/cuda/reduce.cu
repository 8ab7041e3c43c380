#include "engine/cuda/reduce.cuh"

namespace cytocon::cuda {

namespace {
// One tree level: item i += item i+stride for i = 0, 2·stride, 4·stride ...
__global__ void tree_level(float* items, int64_t len, int count, int stride) {
  const int pairs = (count - stride + 2 * stride - 1) / (2 * stride);
  const int64_t n = static_cast<int64_t>(pairs) * len;
  for (int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; t < n; t += int64_t(gridDim.x) * blockDim.x) {
    const int64_t i = (t / len) * 2 * stride, e = t % len;
    items[i * len + e] += items[(i + stride) * len + e];
  }
}

void tree(float* items, int64_t len, int count) {
  for (int stride = 1; stride < count; stride *= 2) {
    const int pairs = (count - stride + 2 * stride - 1) / (2 * stride);
    tree_level<<<blocks_for(pairs * len), kThreads, 0, stream()>>>(items, len, count, stride);
    CYTOCON_CUDA_LAUNCHED();
  }
}
}  // namespace

void combine_shards_device(const Shards& sh, float* partials, int64_t len) {
  check(sh.count > 0 && (sh.count & (sh.count - 1)) == 0, "local micro-shard count must be a power of two");
  tree(partials, len, sh.count);
  Comm& c = sh.communicator();
  if (c.size() == 1) return;
  const size_t bytes = sizeof(float) * static_cast<size_t>(len);
  Scratch roots(bytes * c.size());
  c.all_gather(partials, roots.get(), bytes, Device::cuda);
  tree(roots.as<float>(), len, c.size());
  CYTOCON_CUDA_CHECK(cudaMemcpyAsync(partials, roots.get(), bytes, cudaMemcpyDeviceToDevice, stream()));
}

}  // namespace cytocon::cuda

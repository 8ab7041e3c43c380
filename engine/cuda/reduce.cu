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
  const int R = c.size();
  if (R == 1) return;
  const size_t bytes = sizeof(float) * static_cast<size_t>(len);
  if (bytes < kSliceExchangeBytes) {  // small: all-gather the R subtree roots, the same tree
    Scratch roots(bytes * R);
    c.all_gather(partials, roots.get(), bytes, Device::cuda);
    tree(roots.as<float>(), len, R);
    CYTOCON_CUDA_CHECK(cudaMemcpyAsync(partials, roots.get(), bytes, cudaMemcpyDeviceToDevice, stream()));
    return;
  }
  // Large (weight gradients): as sum_shards on the host, slice by slice. Rank q receives the R
  // roots' slice q (all-to-all), adds them along the same tree, and the sums are all-gathered:
  // the same additions in the same order, all-reduce traffic instead of R-1 whole vectors.
  const int64_t slice = (len + R - 1) / R;
  const size_t slice_bytes = sizeof(float) * static_cast<size_t>(slice);
  Scratch mine(slice_bytes * R), roots(slice_bytes * R);
  CYTOCON_CUDA_CHECK(cudaMemsetAsync(mine.get(), 0, slice_bytes * R, stream()));
  CYTOCON_CUDA_CHECK(cudaMemcpyAsync(mine.get(), partials, bytes, cudaMemcpyDeviceToDevice, stream()));
  c.all_to_all(mine.get(), roots.get(), slice_bytes, Device::cuda);
  tree(roots.as<float>(), slice, R);
  c.all_gather(roots.get(), mine.get(), slice_bytes, Device::cuda);
  CYTOCON_CUDA_CHECK(cudaMemcpyAsync(partials, mine.get(), bytes, cudaMemcpyDeviceToDevice, stream()));
}

}  // namespace cytocon::cuda

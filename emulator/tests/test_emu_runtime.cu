// The execution model every kernel of engine/cuda relies on, checked on whatever runs it: the CUDA
// emulator (CYTOCON_CUDA=emulate) or a real GPU (skipped where none is usable).
//   - each (block, thread) of a grid runs exactly once, with its own indices;
//   - __syncthreads: every thread of a block has written before any reads after the barrier
//     (a shared-memory tree reduction that is wrong without it), also in later blocks;
//   - dynamic shared memory sized at launch, static __shared__ arrays;
//   - a bad launch configuration is reported by cudaGetLastError and runs nothing;
//   - (emulator only) shared memory starts every block as NaN bytes.
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace {

bool have_device() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    (void)cudaGetLastError();
    return false;
  }
  return n > 0;
}

template <class T>
struct DeviceBuffer {
  T* p = nullptr;
  size_t n;
  explicit DeviceBuffer(size_t count) : n(count) { EXPECT_EQ(cudaMalloc(&p, n * sizeof(T)), cudaSuccess); }
  ~DeviceBuffer() { cudaFree(p); }
  std::vector<T> host() const {
    std::vector<T> h(n);
    EXPECT_EQ(cudaMemcpy(h.data(), p, n * sizeof(T), cudaMemcpyDeviceToHost), cudaSuccess);
    return h;
  }
  void upload(const std::vector<T>& h) {
    EXPECT_EQ(cudaMemcpy(p, h.data(), n * sizeof(T), cudaMemcpyHostToDevice), cudaSuccess);
  }
};

__global__ void write_ids(int* out) {
  const int block = (blockIdx.z * gridDim.y + blockIdx.y) * gridDim.x + blockIdx.x;
  const int thread = (threadIdx.z * blockDim.y + threadIdx.y) * blockDim.x + threadIdx.x;
  const int threads = blockDim.x * blockDim.y * blockDim.z;
  out[block * threads + thread] += block * threads + thread + 1;  // += : a second run would show
}

// Sums 2^k values per block by a pairwise tree in static shared memory.
constexpr int kTree = 128;
__global__ void block_sums(const int* in, int* out) {
  __shared__ int s[kTree];
  s[threadIdx.x] = in[blockIdx.x * kTree + threadIdx.x];
  __syncthreads();
  for (int h = kTree / 2; h > 0; h >>= 1) {
    if (threadIdx.x < h) s[threadIdx.x] += s[threadIdx.x + h];
    __syncthreads();
  }
  if (threadIdx.x == 0) out[blockIdx.x] = s[0];
}

// Reverses each block's slice through dynamic shared memory: thread t reads what thread n−1−t wrote.
__global__ void reverse_blocks(const int* in, int* out) {
  extern __shared__ int buf[];
  const int n = blockDim.x, t = threadIdx.x, base = blockIdx.x * n;
  buf[t] = in[base + t];
  __syncthreads();
  out[base + t] = buf[n - 1 - t];
}

class EmuRuntime : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!have_device()) GTEST_SKIP() << "no CUDA device (real or emulated)";
  }
};

TEST_F(EmuRuntime, EveryThreadOfAThreeDimensionalGridRunsOnce) {
  const dim3 grid(3, 2, 2), block(4, 3, 2);
  const size_t total = 3 * 2 * 2 * 4 * 3 * 2;
  DeviceBuffer<int> out(total);
  ASSERT_EQ(cudaMemset(out.p, 0, total * sizeof(int)), cudaSuccess);
  write_ids<<<grid, block>>>(out.p);
  ASSERT_EQ(cudaGetLastError(), cudaSuccess);
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  const std::vector<int> h = out.host();
  for (size_t i = 0; i < total; ++i) ASSERT_EQ(h[i], static_cast<int>(i) + 1) << "at " << i;
}

TEST_F(EmuRuntime, BarriersOrderSharedMemoryInEveryBlock) {
  const int blocks = 5;
  std::vector<int> in(blocks * kTree);
  for (size_t i = 0; i < in.size(); ++i) in[i] = static_cast<int>((i * 7919) % 1000) - 500;
  DeviceBuffer<int> d_in(in.size()), d_out(blocks);
  d_in.upload(in);
  block_sums<<<blocks, kTree>>>(d_in.p, d_out.p);
  ASSERT_EQ(cudaGetLastError(), cudaSuccess);
  const std::vector<int> out = d_out.host();
  for (int b = 0; b < blocks; ++b) {
    int expect = 0;
    for (int t = 0; t < kTree; ++t) expect += in[b * kTree + t];
    EXPECT_EQ(out[b], expect) << "block " << b;
  }
}

TEST_F(EmuRuntime, DynamicSharedMemory) {
  const int blocks = 3, threads = 96;
  std::vector<int> in(blocks * threads);
  for (size_t i = 0; i < in.size(); ++i) in[i] = static_cast<int>(i);
  DeviceBuffer<int> d_in(in.size()), d_out(in.size());
  d_in.upload(in);
  reverse_blocks<<<blocks, threads, threads * sizeof(int)>>>(d_in.p, d_out.p);
  ASSERT_EQ(cudaGetLastError(), cudaSuccess);
  const std::vector<int> out = d_out.host();
  for (int b = 0; b < blocks; ++b)
    for (int t = 0; t < threads; ++t) EXPECT_EQ(out[b * threads + t], in[b * threads + threads - 1 - t]);
}

TEST_F(EmuRuntime, BadConfigurationIsReportedAndRunsNothing) {
  DeviceBuffer<int> out(4);
  ASSERT_EQ(cudaMemset(out.p, 0, 4 * sizeof(int)), cudaSuccess);
  write_ids<<<1, dim3(2048)>>>(out.p);  // more than 1024 threads per block
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidConfiguration);
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);  // reading the error clears it
  write_ids<<<dim3(1, 70000), 1>>>(out.p);     // gridDim.y above 65535
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidConfiguration);
  EXPECT_EQ(out.host(), std::vector<int>(4, 0));
}

#ifdef CYTOCON_CUDA_EMULATOR
// Writes what its shared array holds before any thread wrote it (undefined on a GPU).
__global__ void read_fresh_shared(unsigned* out) {
  __shared__ unsigned fresh[4];
  if (threadIdx.x == 0) out[blockIdx.x] = fresh[blockIdx.x % 4];
  __syncthreads();
  fresh[threadIdx.x % 4] = 7;
}

// The emulator's own guarantee (docs/cuda-emulator.md): shared memory starts every block as 0xFF
// bytes, so a kernel that reads before it writes sees NaN, never the previous block's values.
TEST_F(EmuRuntime, EmulatorPoisonsSharedMemoryAtEveryBlockStart) {
  DeviceBuffer<unsigned> out(3);
  read_fresh_shared<<<3, 32>>>(out.p);
  ASSERT_EQ(cudaGetLastError(), cudaSuccess);
  EXPECT_EQ(out.host(), std::vector<unsigned>(3, 0xFFFFFFFFu));
}
#endif

}  // namespace

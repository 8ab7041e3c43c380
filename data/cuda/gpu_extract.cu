// GPU patch extraction (gpu_extract.h). The host plans each batch (data/gpu_batch.h: transforms,
// tile tables, the tiles the device lacks, packed); this file uploads that in one copy, scatters
// the new tiles into their slots of the device tile cache and runs the kernels, which repeat
// extract.cpp's operations one by one, in its order and precision, and give its bits. CUDA errors
// are the engine's (engine/cuda/check.h).
//
// Streams. The engine runs every kernel on one stream and its caching allocator relies on that
// (engine/cuda/allocator.cu: a block freed by the host is reused at once, because any kernel still
// reading it was enqueued before the next user). The extractor works on a stream of its own, so
// that a batch is cut while training runs, and keeps that assumption:
//   - its buffers (tile pool, upload, filter scratch, two output buffers) are taken from the
//     allocator once and kept; when taken, its stream first waits for the engine stream's work
//     queued so far (the block may have been freed by work still pending there); before one is
//     given back, its stream is drained;
//   - a batch is cut into one of the two output buffers; the tensor handed to training is a fresh
//     allocation filled by a device-to-device copy ON THE ENGINE STREAM, after that stream waits
//     for the batch's event. Training therefore only ever sees memory used on its own stream;
//   - an output buffer is reused two batches later, after the engine stream's copy out of it
//     (an event the extractor's stream waits for), and the pinned upload buffer is rewritten only
//     after the previous upload finished (the host waits for that event).
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <string>

#include "data/cuda/gpu_extract.h"
#include "data/gpu_batch.h"
#include "engine/cuda/check.h"
#include "engine/cuda/cuda.h"

namespace cytocon::data {
namespace {

// Region pixel (xi, yi) of the CPU's read_region: the level pixel, looked up through the patch's
// tile table in the slot pool, or the background outside the level.
__device__ __forceinline__ float texel(const PatchJob& j, const int32_t* table, const uint8_t* pool, int xi, int yi,
                                       float bg) {
  const int64_t x = j.x0 + xi, y = j.y0 + yi;
  if (x < 0 || y < 0 || x >= j.width || y >= j.height) return bg;
  const int64_t k = tile_sample_index(j.tiles, table, x, y);
  const float v = j.bits == 8 ? static_cast<float>(pool[k]) : static_cast<float>(reinterpret_cast<const uint16_t*>(pool)[k]);
  return v * j.map.a + j.map.b;
}

// New tiles into their slots: block b copies staged tile b (slot_words 32-bit words) to slots[b].
__global__ void scatter_tiles_kernel(const uint32_t* staged, const int32_t* slots, int slot_words, uint32_t* pool) {
  const uint32_t* src = staged + static_cast<size_t>(blockIdx.x) * slot_words;
  uint32_t* dst = pool + static_cast<size_t>(slots[blockIdx.x]) * slot_words;
  for (int i = threadIdx.x; i < slot_words; i += blockDim.x) dst[i] = src[i];
}

// Resampling + intensity: one thread per output pixel, blockIdx.z = sample. extract_patch's
// operations in its order and precision (this file is compiled without FMA contraction), so the
// pixels are the CPU's bit for bit.
__global__ void resample_kernel(const PatchJob* jobs, const int32_t* table, const uint8_t* pool, int S, float bg,
                                float* out) {
  const int jx = blockIdx.x * blockDim.x + threadIdx.x, iy = blockIdx.y * blockDim.y + threadIdx.y;
  if (jx >= S || iy >= S) return;
  const PatchJob& J = jobs[blockIdx.z];
  const float rx = static_cast<float>(J.ox - static_cast<double>(J.x0) + J.axy * iy);
  const float ry = static_cast<float>(J.oy - static_cast<double>(J.y0) + J.ayy * iy);
  const float x = rx + J.axx * static_cast<float>(jx), y = ry + J.ayx * static_cast<float>(jx);
  const int xi = min(static_cast<int>(x), J.bw - 2), yi = min(static_cast<int>(y), J.bh - 2);
  const float tx = x - static_cast<float>(xi), ty = y - static_cast<float>(yi);
  const float p00 = texel(J, table, pool, xi, yi, bg), p01 = texel(J, table, pool, xi + 1, yi, bg);
  const float p10 = texel(J, table, pool, xi, yi + 1, bg), p11 = texel(J, table, pool, xi + 1, yi + 1, bg);
  const float top = p00 + tx * (p01 - p00), bot = p10 + tx * (p11 - p10);
  float v = top + ty * (bot - top);
  v = J.gamma == 1.0f ? clamp01(J.alpha * v + J.beta) : clamp01(J.alpha * pow01(clamp01(v), J.gamma) + J.beta);
  out[(static_cast<size_t>(blockIdx.z) * S + iy) * S + jx] = v;
}

// Horizontal Gaussian pass x → tmp (edges replicated), only for filtered samples.
__global__ void blur_rows_kernel(const PatchJob* jobs, int S, const float* x, float* tmp) {
  const PatchJob& J = jobs[blockIdx.z];
  if (J.filter == 0) return;
  const int jx = blockIdx.x * blockDim.x + threadIdx.x, iy = blockIdx.y * blockDim.y + threadIdx.y;
  if (jx >= S || iy >= S) return;
  const float* row = x + (static_cast<size_t>(blockIdx.z) * S + iy) * S;
  float acc = 0;
  for (int k = -J.radius; k <= J.radius; ++k) acc += J.taps[k + J.radius] * row[min(max(jx + k, 0), S - 1)];
  tmp[(static_cast<size_t>(blockIdx.z) * S + iy) * S + jx] = acc;
}

// Vertical pass, combined: blur x ← G(x); sharpen x ← clamp(x + δ(x − G(x))).
__global__ void blur_cols_kernel(const PatchJob* jobs, int S, const float* tmp, float* x) {
  const PatchJob& J = jobs[blockIdx.z];
  if (J.filter == 0) return;
  const int jx = blockIdx.x * blockDim.x + threadIdx.x, iy = blockIdx.y * blockDim.y + threadIdx.y;
  if (jx >= S || iy >= S) return;
  const size_t base = static_cast<size_t>(blockIdx.z) * S * S;
  float acc = 0;
  for (int k = -J.radius; k <= J.radius; ++k)
    acc += J.taps[k + J.radius] * tmp[base + static_cast<size_t>(min(max(iy + k, 0), S - 1)) * S + jx];
  float& v = x[base + static_cast<size_t>(iy) * S + jx];
  v = J.filter == 2 ? clamp01(v + J.delta * (v - acc)) : clamp01(acc);
}

size_t aligned(size_t bytes) { return (bytes + 255) / 256 * 256; }

}  // namespace

struct GpuExtractor::Impl {
  std::shared_ptr<const Dataset> ds;
  ExtractConfig cfg;
  TileStager stager;
  int device = 0;  // the GPU current at construction (the rank's, dist::select_gpu)
  cudaStream_t stream = nullptr;
  cudaEvent_t taken = nullptr, uploaded = nullptr, done = nullptr, copied[2] = {nullptr, nullptr};
  std::mutex mu;
  // Device buffers, kept (see the top of this file); capacities in bytes.
  Tensor pool, upload, tmp, out[2];
  size_t pool_cap = 0, upload_cap = 0, tmp_cap = 0, out_cap[2] = {0, 0};
  uint8_t* pinned = nullptr;  // host side of the upload
  size_t pinned_cap = 0;
  int next_out = 0;
  GpuStagingStats totals;

  Impl(std::shared_ptr<const Dataset> d, ExtractConfig c, size_t cache_bytes, int tile_px)
      : ds(std::move(d)), cfg(c), stager(tile_px, cache_bytes) {}

  ~Impl() {
    if (!stream) return;
    cudaStreamSynchronize(stream);
    for (cudaEvent_t e : copied) cudaEventSynchronize(e);  // the engine's copies out of `out`
    for (cudaEvent_t e : {taken, uploaded, done, copied[0], copied[1]}) cudaEventDestroy(e);
    cudaStreamDestroy(stream);
    if (pinned) cudaFreeHost(pinned);
  }

  // Room for `need` bytes in t (capacity cap), from the engine's allocator, growing by half but
  // not past `most` unless need is larger; keep: copy the old contents over (the tile pool).
  void ensure(Tensor& t, size_t& cap, size_t need, size_t most = SIZE_MAX, bool keep = false) {
    if (need <= cap) return;
    const size_t bytes = std::max(need, std::min(cap + cap / 2, most));
    Tensor fresh = Tensor::empty({static_cast<int64_t>(bytes)}, DType::u8, Device::cuda);
    CYTOCON_CUDA_CHECK(cudaEventRecord(taken, static_cast<cudaStream_t>(cuda_stream_handle())));
    CYTOCON_CUDA_CHECK(cudaStreamWaitEvent(stream, taken, 0));
    if (keep && cap > 0) CYTOCON_CUDA_CHECK(cudaMemcpyAsync(fresh.raw(), t.raw(), cap, cudaMemcpyDeviceToDevice, stream));
    // Nothing may still use the old block: this stream's work, and the engine's copies out of `out`.
    CYTOCON_CUDA_CHECK(cudaStreamSynchronize(stream));
    for (cudaEvent_t e : copied) CYTOCON_CUDA_CHECK(cudaEventSynchronize(e));
    t = std::move(fresh);
    cap = bytes;
  }

  Tensor cut(const std::vector<SampleRef>& refs, const std::vector<AugmentParams>& aug);
};

GpuExtractor::GpuExtractor(std::shared_ptr<const Dataset> ds, ExtractConfig cfg, size_t device_cache_bytes, int tile_px)
    : impl_(std::make_unique<Impl>(std::move(ds), cfg, device_cache_bytes, tile_px)) {
  Impl& m = *impl_;
  CYTOCON_CUDA_CHECK(cudaGetDevice(&m.device));
  (void)cuda_stream_handle();  // the engine's stream exists before this one waits on it
  CYTOCON_CUDA_CHECK(cudaStreamCreateWithFlags(&m.stream, cudaStreamNonBlocking));
  for (cudaEvent_t* e : {&m.taken, &m.uploaded, &m.done, &m.copied[0], &m.copied[1]})
    CYTOCON_CUDA_CHECK(cudaEventCreateWithFlags(e, cudaEventDisableTiming));
}

GpuExtractor::~GpuExtractor() = default;

GpuStagingStats GpuExtractor::stats() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  GpuStagingStats s = impl_->totals;
  s.tiles = impl_->stager.stats();
  s.pool_bytes = static_cast<size_t>(s.tiles.slots) * impl_->stager.slot_bytes();
  return s;
}

Tensor GpuExtractor::extract(const std::vector<SampleRef>& refs, const std::vector<AugmentParams>& aug) {
  Impl& m = *impl_;
  std::lock_guard<std::mutex> lock(m.mu);
  // The current device is per host thread: a loader worker would otherwise allocate and run the
  // kernels on GPU 0 whichever GPU this rank trains on.
  CYTOCON_CUDA_CHECK(cudaSetDevice(m.device));
  if (refs.empty()) return Tensor::empty({0, m.cfg.patch_px, m.cfg.patch_px, 1}, DType::f32, Device::cuda);
  try {
    return m.cut(refs, aug);
  } catch (...) {
    m.stager.drop_missing();  // the device did not get this batch's new tiles
    throw;
  }
}

// One batch (extract, under the lock, on the extractor's device).
Tensor GpuExtractor::Impl::cut(const std::vector<SampleRef>& refs, const std::vector<AugmentParams>& aug) {
  Impl& m = *this;
  const int S = m.cfg.patch_px;
  const size_t n = refs.size();
  std::vector<PatchJob> jobs = plan_batch(m.stager, *m.ds, refs, aug, m.cfg);
  const std::vector<int32_t>& table = m.stager.table();
  const std::vector<int32_t>& slots = m.stager.missing_slots();
  // One upload: jobs | tile tables | slots of the new tiles | the new tiles.
  const size_t at_table = aligned(n * sizeof(PatchJob));
  const size_t at_slots = at_table + aligned(std::max<size_t>(1, table.size()) * sizeof(int32_t));
  const size_t at_tiles = at_slots + aligned(std::max<size_t>(1, slots.size()) * sizeof(int32_t));
  const size_t bytes = at_tiles + m.stager.missing_bytes();
  CYTOCON_CUDA_CHECK(cudaEventSynchronize(m.uploaded));  // the last upload has left the pinned buffer
  if (m.pinned_cap < bytes) {
    if (m.pinned) CYTOCON_CUDA_CHECK(cudaFreeHost(m.pinned));
    m.pinned = nullptr;
    m.pinned_cap = 0;
    CYTOCON_CUDA_CHECK(cudaMallocHost(reinterpret_cast<void**>(&m.pinned), bytes + bytes / 2));
    m.pinned_cap = bytes + bytes / 2;
  }
  m.stager.pack(m.pinned + at_tiles);
  std::memcpy(m.pinned, jobs.data(), n * sizeof(PatchJob));
  std::memcpy(m.pinned + at_table, table.data(), table.size() * sizeof(int32_t));
  std::memcpy(m.pinned + at_slots, slots.data(), slots.size() * sizeof(int32_t));
  m.ensure(m.pool, m.pool_cap, static_cast<size_t>(m.stager.stats().slots) * m.stager.slot_bytes(),
           m.stager.capacity_bytes(), true);
  m.ensure(m.upload, m.upload_cap, bytes);
  const size_t px = n * static_cast<size_t>(S) * S;
  m.ensure(m.tmp, m.tmp_cap, px * sizeof(float));
  const int r = m.next_out;
  m.next_out ^= 1;
  m.ensure(m.out[r], m.out_cap[r], px * sizeof(float));

  uint8_t* up = static_cast<uint8_t*>(m.upload.raw());
  CYTOCON_CUDA_CHECK(cudaMemcpyAsync(up, m.pinned, bytes, cudaMemcpyHostToDevice, m.stream));
  CYTOCON_CUDA_CHECK(cudaEventRecord(m.uploaded, m.stream));
  auto* pool = static_cast<uint8_t*>(m.pool.raw());
  if (!slots.empty())
    scatter_tiles_kernel<<<static_cast<unsigned>(slots.size()), 256, 0, m.stream>>>(
        reinterpret_cast<const uint32_t*>(up + at_tiles), reinterpret_cast<const int32_t*>(up + at_slots),
        static_cast<int>(m.stager.slot_bytes() / 4), reinterpret_cast<uint32_t*>(pool));
  CYTOCON_CUDA_CHECK(cudaStreamWaitEvent(m.stream, m.copied[r], 0));  // out[r]'s last batch was copied
  const auto* d_jobs = reinterpret_cast<const PatchJob*>(up);
  const auto* d_table = reinterpret_cast<const int32_t*>(up + at_table);
  float* out = static_cast<float*>(m.out[r].raw());
  float* d_tmp = static_cast<float*>(m.tmp.raw());
  const dim3 block(32, 8), grid((S + 31) / 32, (S + 7) / 8, static_cast<unsigned>(n));
  resample_kernel<<<grid, block, 0, m.stream>>>(d_jobs, d_table, pool, S, m.cfg.background, out);
  blur_rows_kernel<<<grid, block, 0, m.stream>>>(d_jobs, S, out, d_tmp);
  blur_cols_kernel<<<grid, block, 0, m.stream>>>(d_jobs, S, d_tmp, out);
  CYTOCON_CUDA_LAUNCHED();
  CYTOCON_CUDA_CHECK(cudaEventRecord(m.done, m.stream));
  // Handed over on the engine's stream (top of this file).
  auto engine = static_cast<cudaStream_t>(cuda_stream_handle());
  Tensor x = Tensor::empty({static_cast<int64_t>(n), S, S, 1}, DType::f32, Device::cuda);
  CYTOCON_CUDA_CHECK(cudaStreamWaitEvent(engine, m.done, 0));
  CYTOCON_CUDA_CHECK(cudaMemcpyAsync(x.raw(), out, px * sizeof(float), cudaMemcpyDeviceToDevice, engine));
  CYTOCON_CUDA_CHECK(cudaEventRecord(m.copied[r], engine));
  m.totals.batches += 1;
  m.totals.patches += n;
  m.totals.uploaded_bytes += bytes;
  return x;
}

}  // namespace cytocon::data

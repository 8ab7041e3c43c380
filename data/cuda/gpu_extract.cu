// GPU patch extraction (gpu_extract.h). The kernels repeat extract.cpp's operations one by one,
// in its order and precision, and give its bits. Device memory comes from the engine's caching
// allocator (tensors on Device::cuda), CUDA errors are the engine's (engine/cuda/check.h).
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <list>
#include <map>
#include <mutex>
#include <set>
#include <string>

#include "data/cuda/gpu_extract.h"
#include "engine/cuda/check.h"

namespace cytocon::data {
namespace {

constexpr int kMaxRadius = 3;  // ⌈3σ⌉ for σ ≤ 1

// What one patch needs: its transform, the CPU's region box, its section on the device, its
// intensity and filter.
struct PatchJob {
  double ox, oy, axy, ayy;  // extract_patch's double terms
  float axx, ayx;           // ... and its float ones
  long long x0, y0;         // the CPU's region (footprint): level pixel of region pixel (0, 0)
  int bw, bh;               // ... and its size
  const void* pixels;       // device, row-major level image, native samples
  int width, height, bits;
  IntensityMap map;         // sample → intensity, as the readers (Image::intensity_map)
  float alpha, beta, gamma;
  int filter;  // Filter
  float delta;
  float taps[2 * kMaxRadius + 1];
  int radius;
};

// Region pixel (xi, yi) of the CPU's read_region: the level pixel, or the background outside it.
__device__ __forceinline__ float texel(const PatchJob& j, int xi, int yi, float bg) {
  const long long x = j.x0 + xi, y = j.y0 + yi;
  if (x < 0 || y < 0 || x >= j.width || y >= j.height) return bg;
  const size_t k = static_cast<size_t>(y) * j.width + static_cast<size_t>(x);
  const float v = j.bits == 8 ? static_cast<float>(static_cast<const uint8_t*>(j.pixels)[k])
                              : static_cast<float>(static_cast<const uint16_t*>(j.pixels)[k]);
  return v * j.map.a + j.map.b;
}

// Resampling + intensity: one thread per output pixel, blockIdx.z = sample. extract_patch's
// operations in its order and precision (this file is compiled without FMA contraction), so the
// pixels are the CPU's bit for bit.
__global__ void resample_kernel(const PatchJob* jobs, int S, float bg, float* out) {
  const int jx = blockIdx.x * blockDim.x + threadIdx.x, iy = blockIdx.y * blockDim.y + threadIdx.y;
  if (jx >= S || iy >= S) return;
  const PatchJob& J = jobs[blockIdx.z];
  const float rx = static_cast<float>(J.ox - static_cast<double>(J.x0) + J.axy * iy);
  const float ry = static_cast<float>(J.oy - static_cast<double>(J.y0) + J.ayy * iy);
  const float x = rx + J.axx * static_cast<float>(jx), y = ry + J.ayx * static_cast<float>(jx);
  const int xi = min(static_cast<int>(x), J.bw - 2), yi = min(static_cast<int>(y), J.bh - 2);
  const float tx = x - static_cast<float>(xi), ty = y - static_cast<float>(yi);
  const float p00 = texel(J, xi, yi, bg), p01 = texel(J, xi + 1, yi, bg);
  const float p10 = texel(J, xi, yi + 1, bg), p11 = texel(J, xi + 1, yi + 1, bg);
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

}  // namespace

struct GpuExtractor::Impl {
  std::shared_ptr<const Dataset> ds;
  ExtractConfig cfg;
  size_t capacity, bytes = 0;
  int device = 0;  // the GPU current at construction (the rank's, dist::select_gpu)
  struct Staged {
    Tensor pixels;  // [height, width] u8 or u16
    size_t bytes = 0;
    int width = 0, height = 0, bits = 8;
    IntensityMap map;  // sample → intensity (Image::intensity_map)
  };
  std::map<std::pair<int, int>, Staged> staged;   // (section, level) → device image
  std::list<std::pair<int, int>> lru;             // front = most recent
  std::set<std::pair<int, int>> batch;            // staged for the batch being built: never evicted
  std::mutex mu;
  Tensor d_jobs;  // u8, room for jobs_cap PatchJobs
  size_t jobs_cap = 0;
  Tensor d_tmp;  // f32, tmp_cap pixels
  size_t tmp_cap = 0;

  // Uploads level `level` of section `sec` in its native bits (band by band through the reader).
  const Staged& stage(int sec, int level) {
    const auto key = std::make_pair(sec, level);
    batch.insert(key);
    auto it = staged.find(key);
    if (it != staged.end()) {
      lru.remove(key);
      lru.push_front(key);
      return it->second;
    }
    const Image& img = ds->image(sec);
    const Level& L = img.levels()[level];
    Staged s;
    s.width = static_cast<int>(L.width);
    s.height = static_cast<int>(L.height);
    s.bits = img.bits();
    s.map = img.intensity_map();
    const size_t bpp = s.bits / 8;
    s.bytes = static_cast<size_t>(L.width) * L.height * bpp;
    // Evict least recently used sections, but none this batch's jobs already point to (the cache
    // then exceeds its capacity until the next batch).
    while (bytes + s.bytes > capacity && !lru.empty() && !batch.count(lru.back())) {
      auto old = staged.find(lru.back());
      bytes -= old->second.bytes;
      staged.erase(old);
      lru.pop_back();
    }
    s.pixels = Tensor::empty({L.height, L.width}, bpp == 1 ? DType::u8 : DType::u16, Device::cuda);
    const int64_t band = std::max<int64_t>(1, (int64_t(16) << 20) / std::max<int64_t>(1, L.width));
    std::vector<float> f;
    std::vector<uint8_t> raw;
    const long top = (1L << s.bits) - 1;
    for (int64_t y0 = 0; y0 < L.height; y0 += band) {
      const int64_t h = std::min(band, L.height - y0);
      f.resize(static_cast<size_t>(L.width * h));
      raw.resize(f.size() * bpp);
      img.read_region(level, 0, y0, L.width, h, f.data(), 0.0f);
      for (size_t k = 0; k < f.size(); ++k) {  // back to the stored sample the reader converted
        long q = std::lround(f[k] * static_cast<float>(top));
        if (img.min_is_white()) q = top - q;
        if (static_cast<float>(q) * s.map.a + s.map.b != f[k])  // the kernel's texel() must give the reader's bits
          fail("GPU extraction: " + img.path() + ": pixel value " + std::to_string(f[k]) +
               " is not a sample times 1/" + std::to_string(top) + " as the reader should give");
        if (bpp == 1) raw[k] = static_cast<uint8_t>(q);
        else reinterpret_cast<uint16_t*>(raw.data())[k] = static_cast<uint16_t>(q);
      }
      CYTOCON_CUDA_CHECK(cudaMemcpy(static_cast<uint8_t*>(s.pixels.raw()) + static_cast<size_t>(y0) * L.width * bpp,
                                    raw.data(), raw.size(), cudaMemcpyHostToDevice));
    }
    bytes += s.bytes;
    lru.push_front(key);
    return staged.emplace(key, s).first->second;
  }
};

GpuExtractor::GpuExtractor(std::shared_ptr<const Dataset> ds, ExtractConfig cfg, size_t device_cache_bytes)
    : impl_(std::make_unique<Impl>()) {
  impl_->ds = std::move(ds);
  impl_->cfg = cfg;
  impl_->capacity = device_cache_bytes;
  CYTOCON_CUDA_CHECK(cudaGetDevice(&impl_->device));
}

GpuExtractor::~GpuExtractor() = default;

size_t GpuExtractor::staged_bytes() const { return impl_->bytes; }

Tensor GpuExtractor::extract(const std::vector<SampleRef>& refs, const std::vector<AugmentParams>& aug) {
  check(refs.size() == aug.size(), "GpuExtractor::extract: refs and aug differ in length");
  std::lock_guard<std::mutex> lock(impl_->mu);
  // The current device is per host thread: a loader worker would otherwise stage, allocate the
  // batch and run the kernels on GPU 0 whichever GPU this rank trains on.
  CYTOCON_CUDA_CHECK(cudaSetDevice(impl_->device));
  const int S = impl_->cfg.patch_px;
  const size_t n = refs.size();
  Tensor x = Tensor::empty({static_cast<int64_t>(n), S, S, 1}, DType::f32, Device::cuda);
  if (n == 0) return x;
  std::vector<PatchJob> jobs(n);
  impl_->batch.clear();
  for (size_t k = 0; k < n; ++k) {
    const SampleRef& r = refs[k];
    const Image& img = impl_->ds->image(r.section);
    const PatchTransform t = patch_transform(img, impl_->ds->sections()[r.section], r, aug[k], impl_->cfg);
    const auto& s = impl_->stage(r.section, t.level);
    PatchJob& J = jobs[k];
    J = PatchJob{};
    const Box box = footprint(t, S);
    check(box.w * box.h < (int64_t(1) << 31), "patch footprint too large");
    J.ox = t.ox, J.oy = t.oy, J.axy = t.axy, J.ayy = t.ayy;
    J.axx = static_cast<float>(t.axx), J.ayx = static_cast<float>(t.ayx);
    J.x0 = box.x0, J.y0 = box.y0, J.bw = static_cast<int>(box.w), J.bh = static_cast<int>(box.h);
    J.pixels = s.pixels.raw(), J.width = s.width, J.height = s.height, J.bits = s.bits;
    J.map = s.map;
    J.alpha = aug[k].alpha, J.beta = aug[k].beta, J.gamma = aug[k].gamma;
    J.filter = static_cast<int>(aug[k].filter);
    J.delta = aug[k].delta;
    if (aug[k].filter != Filter::none) {
      const std::vector<float> w = gaussian_taps(aug[k].sigma);  // the CPU's taps, bit for bit
      J.radius = static_cast<int>(w.size() / 2);
      check(J.radius <= kMaxRadius, "GPU extraction: blur sigma above 1 px is not supported");
      std::copy(w.begin(), w.end(), J.taps);
    }
  }
  if (impl_->jobs_cap < n) {
    impl_->d_jobs = Tensor();  // back to the cache before the larger one is taken
    impl_->d_jobs = Tensor::empty({static_cast<int64_t>(n * sizeof(PatchJob))}, DType::u8, Device::cuda);
    impl_->jobs_cap = n;
  }
  const size_t px = n * static_cast<size_t>(S) * S;
  if (impl_->tmp_cap < px) {
    impl_->d_tmp = Tensor();
    impl_->d_tmp = Tensor::empty({static_cast<int64_t>(px)}, DType::f32, Device::cuda);
    impl_->tmp_cap = px;
  }
  const auto* d_jobs = static_cast<const PatchJob*>(impl_->d_jobs.raw());
  float* d_tmp = impl_->d_tmp.data<float>();
  CYTOCON_CUDA_CHECK(cudaMemcpy(impl_->d_jobs.raw(), jobs.data(), n * sizeof(PatchJob), cudaMemcpyHostToDevice));
  const dim3 block(32, 8), grid((S + 31) / 32, (S + 7) / 8, static_cast<unsigned>(n));
  float* out = x.data<float>();
  resample_kernel<<<grid, block>>>(d_jobs, S, impl_->cfg.background, out);
  blur_rows_kernel<<<grid, block>>>(d_jobs, S, out, d_tmp);
  blur_cols_kernel<<<grid, block>>>(d_jobs, S, d_tmp, out);
  CYTOCON_CUDA_LAUNCHED();
  CYTOCON_CUDA_CHECK(cudaDeviceSynchronize());
  return x;
}

}  // namespace cytocon::data

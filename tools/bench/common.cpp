#include "tools/bench/common.h"

#include <omp.h>
#include <sys/resource.h>

#include <chrono>
#include <ctime>

#include "config/choices.h"
#include "engine/rng.h"
#ifdef CYTOCON_HAVE_CUDA
#include "engine/cuda/cuda.h"
#endif

namespace cytocon::bench {

Device setup(Options& o) {
  check(o.preset == "paper" || o.preset == "tiny", "--preset " + o.preset + ": expected paper or tiny");
  check(o.steps >= 1, "--steps " + std::to_string(o.steps) + ": expected at least 1");
  if (o.batch == 0) o.batch = o.preset == "paper" ? 8 : 16;
  check(o.batch >= 2, "--batch " + std::to_string(o.batch) + ": expected at least 2 (SupCon needs pairs)");
  if (o.shards == 0) {
    o.shards = 1;
    while (o.shards < 32 && o.batch % (o.shards * 2) == 0) o.shards *= 2;
  }
  check((o.shards & (o.shards - 1)) == 0 && o.batch % o.shards == 0,
        "--shards " + std::to_string(o.shards) + ": expected a power of two dividing --batch " + std::to_string(o.batch));
  if (o.device == Device::cpu) {
    check(o.precision == Precision::fp32,
          "--precision " + config::name(o.precision) + ": the CPU backend computes in fp32 only");
    return Device::cpu;
  }
#ifdef CYTOCON_HAVE_CUDA
  check(cuda_device_usable(), "--device cuda: no usable CUDA device");
  set_cuda_mode(o.mode, o.precision);
  return Device::cuda;
#else
  fail("--device cuda: this build has no CUDA backend (configure with CYTOCON_CUDA=on)");
#endif
}

Shards make_shards(const Options& o) {
  return Shards::make(o.shards, 0, 1, nullptr, o.mode);
}

void synchronize(Device d) {
#ifdef CYTOCON_HAVE_CUDA
  if (d == Device::cuda) cuda_synchronize();
#else
  (void)d;
#endif
}

double now_s() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

double cpu_now_s() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

double peak_memory_bytes(Device d) {
#ifdef CYTOCON_HAVE_CUDA
  if (d == Device::cuda) return static_cast<double>(cuda_memory_stats().peak);
#endif
  (void)d;
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) * 1024.0;  // Linux: kilobytes
}

void reset_peak_memory(Device d) {
#ifdef CYTOCON_HAVE_CUDA
  if (d == Device::cuda) cuda_reset_peak_memory();
#endif
  (void)d;  // peak RSS cannot be reset: the CPU figure is the process's peak
}

Tensor uniform_tensor(const Shape& shape, uint64_t seed, double lo, double hi, Device d) {
  Tensor t = Tensor::empty(shape, DType::f32);
  const Rng rng(seed, Purpose::test, 2);
  float* p = t.data<float>();
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < t.numel(); ++i)
    p[i] = rng.uniform(static_cast<uint32_t>(i), static_cast<float>(lo), static_cast<float>(hi));
  return t.to(d);
}

std::string json_common(const Options& o) {
  return "\"device\": \"" + config::name(o.device) + "\", \"preset\": \"" + o.preset +
         "\", \"batch\": " + std::to_string(o.batch) + ", \"mode\": \"" + config::name(o.mode) +
         "\", \"precision\": \"" + config::name(o.precision) +
         "\", \"shards\": " + std::to_string(o.shards) + ", \"threads\": " + std::to_string(omp_get_max_threads());
}

}  // namespace cytocon::bench

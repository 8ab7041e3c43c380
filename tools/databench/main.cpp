// cytocon-databench: CPU patch extraction + augmentation throughput (docs/performance.md):
// patches/s on one core (extract_patch in a loop) and through the Loader with N threads, on a
// dataset directory (e.g. one written by cytocon-synth at 2 µm/px for the paper's 1129 px); and
// the host's share of GPU extraction (data/gpu_batch.h: transforms, tile tables, reading and
// packing the tiles the device lacks), which needs no GPU: CPU ms and upload bytes per patch.
// Prints one JSON line per measurement. Exit status: 0 done, 1 an error (one line on stderr naming
// the file and what is wrong), 2 a bad command line (engine/program.h).
#include <CLI/CLI.hpp>
#include <sys/resource.h>
#include <time.h>

#include <array>
#include <chrono>
#include <cstdio>

#include "data/extract.h"
#include "data/gpu_batch.h"
#include "data/loader.h"
#include "engine/program.h"
#ifdef CYTOCON_HAVE_CUDA
#include "data/cuda/gpu_extract.h"
#include "engine/backend.h"
#include "engine/cuda/cuda.h"
#endif

namespace {

int run(int argc, char** argv) {
  using namespace cytocon::data;
  CLI::App app{"cytocon-databench: CPU patch extraction and augmentation throughput"};
  std::string dir;
  int patch = 1129, n = 200, threads = 2, warmup = 20;
  double um = 2.0;
  bool augment = true;
  app.add_option("--data", dir, "dataset directory")->required();
  app.add_option("--patch", patch, "patch size S (px)")->check(CLI::Range(1, 8192));
  app.add_option("--um-per-px", um, "patch resolution")->check(cytocon::program::finite(cytocon::Range{0, 100, true}));
  app.add_option("--n", n, "patches to time")->check(CLI::Range(1, 10000000));
  app.add_option("--warmup", warmup, "patches extracted before timing (fills the tile cache)")->check(CLI::Range(0, 10000000));
  app.add_option("--threads", threads, "loader threads for the multi-core figure (0: skip)")->check(CLI::Range(0, 1024));
  app.add_flag("!--no-augment", augment, "extract without augmentation");
  int rounds = 1, gpu_batch = 32;
  app.add_option("--gpu-rounds", rounds, "rounds of the GPU host-path figures (0: skip)")->check(CLI::Range(0, 1000));
  app.add_option("--gpu-batch", gpu_batch, "patches per GPU batch")->check(CLI::Range(1, 100000));
  double cache_gb = 0.5;
  app.add_option("--tile-cache-gb", cache_gb, "decoded-tile cache (small: every patch decodes its tiles)")
      ->check(cytocon::program::finite(cytocon::Range{0, 1e6}));
  if (const int status = cytocon::program::parse("cytocon-databench", app, argc, argv); status >= 0) return status;
  set_tile_cache_bytes(static_cast<size_t>(cache_gb * double(size_t(1) << 30)));
  auto ds = Dataset::open(dir, DatasetOptions{});
  const ExtractConfig cfg{patch, um, 1.0f};
  Sampler sampler(ds, {Split::train, std::max<int64_t>(1, (n + warmup) / std::max(1, ds->num_classes()) + 1), 1});
  const auto refs = sampler.range(0, 0, std::min<int64_t>(sampler.size(), n + warmup));
  std::vector<float> out(static_cast<size_t>(patch) * patch);
  // Wall time, and this thread's CPU time: on a shared machine the CPU time is the per-core figure.
  auto cpu_now = [] {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
  };
  ExtractScratch scratch;
  auto run = [&](size_t a, size_t b) {
    for (size_t k = a; k < b; ++k) {
      const AugmentParams p = augment ? draw_augment(1, 0, static_cast<uint32_t>(refs[k].index)) : no_augment();
      extract_patch(*ds, refs[k], p, cfg, out.data(), scratch);
    }
  };
  const size_t w = std::min<size_t>(warmup, refs.size());
  run(0, w);
  const auto t0 = std::chrono::steady_clock::now();
  const double c0 = cpu_now();
  run(w, refs.size());
  const double cpu = cpu_now() - c0;
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const auto st = tile_cache_stats();
  std::printf("{\"bench\":\"extract\",\"cores\":1,\"patch_px\":%d,\"um_per_px\":%g,\"augment\":%s,\"patches\":%zu,"
              "\"seconds\":%.3f,\"cpu_seconds\":%.3f,\"patches_per_s\":%.1f,\"patches_per_cpu_s\":%.1f,"
              "\"cache_hits\":%llu,\"cache_misses\":%llu}\n",
              patch, um, augment ? "true" : "false", refs.size() - w, s, cpu, (refs.size() - w) / s,
              (refs.size() - w) / cpu,
              static_cast<unsigned long long>(st.hits), static_cast<unsigned long long>(st.misses));
  // GPU extraction's host path over the timed patches, in batches: cold = neither the decoded-tile
  // cache nor the device holds a tile (every tile read, decoded and packed; each batch starts with
  // an empty device cache), host-warm = the decoded tiles are cached but the device lacks them
  // (read from the cache and packed), warm = the device holds them all (planning only).
  std::vector<AugmentParams> aug;
  for (const auto& r : refs) aug.push_back(augment ? draw_augment(1, 0, static_cast<uint32_t>(r.index)) : no_augment());
  auto plan = [&](TileStager* device) {  // device: the device's cache, kept across batches; null: empty per batch
    std::vector<uint8_t> staged;
    uint64_t bytes = 0, tiles = 0;
    const double t = cpu_now();
    for (size_t a = w; a < refs.size(); a += gpu_batch) {
      TileStager empty(kDeviceTilePx, 1);
      TileStager& st = device ? *device : empty;
      const size_t b = std::min(refs.size(), a + gpu_batch);
      const std::vector<SampleRef> br(refs.begin() + a, refs.begin() + b);
      const std::vector<AugmentParams> ba(aug.begin() + a, aug.begin() + b);
      const std::vector<PatchJob> jobs = plan_batch(st, *ds, br, ba, cfg);
      staged.resize(st.missing_bytes());
      st.pack(staged.data());
      tiles += st.missing_slots().size();
      bytes += st.missing_bytes() + st.table().size() * sizeof(int32_t) + jobs.size() * sizeof(PatchJob);
    }
    const double cpu_s = cpu_now() - t;
    const double np = static_cast<double>(refs.size() - w);
    return std::array<double, 3>{cpu_s * 1e3 / np, bytes / np, tiles / np};
  };
  const size_t host_cache = static_cast<size_t>(cache_gb * double(size_t(1) << 30));
  for (int round = 0; round < rounds && refs.size() > w; ++round) {
    for (const char* mode : {"cold", "host_warm", "warm"}) {
      const bool cold = mode[0] == 'c', warm = mode[0] == 'w';
      set_tile_cache_bytes(cold ? 0 : std::max(host_cache, size_t(2) << 30));  // 0: keeps only the newest block
      TileStager device(kDeviceTilePx, size_t(64) << 30);
      if (!cold) plan(warm ? &device : nullptr);  // fills the decoded-tile cache (warm: and the device's)
      const auto r = plan(warm ? &device : nullptr);
      std::printf("{\"bench\":\"gpu_host\",\"mode\":\"%s\",\"round\":%d,\"patch_px\":%d,\"batch\":%d,\"patches\":%zu,"
                  "\"cpu_ms_per_patch\":%.3f,\"upload_bytes_per_patch\":%.0f,\"tiles_per_patch\":%.2f,\"tile_px\":%d}\n",
                  mode, round, patch, gpu_batch, refs.size() - w, r[0], r[1], r[2], kDeviceTilePx);
    }
  }
  set_tile_cache_bytes(host_cache);
  if (threads > 0) {
    LoaderConfig lc;
    lc.patch_px = patch;
    lc.um_per_px = um;
    lc.patches_per_area = sampler.config().patches_per_area;
    lc.batch_size = 32;
    lc.threads = threads;
    lc.prefetch = 2;
    lc.augment = augment;
    lc.seed = 1;
    Loader loader(ds, lc);
    loader.start(0);
    const int batches = std::max<int64_t>(1, std::min<int64_t>(loader.batches_per_epoch(), (n + 31) / 32));
    auto process_cpu = [] {  // all threads of the process
      rusage ru{};
      getrusage(RUSAGE_SELF, &ru);
      return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
    };
    const auto t1 = std::chrono::steady_clock::now();
    const double c1 = process_cpu();
    for (int b = 0; b < batches; ++b) loader.next();
    const double s2 = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
    const double cpu2 = process_cpu() - c1;
    std::printf("{\"bench\":\"loader\",\"threads\":%d,\"patch_px\":%d,\"patches\":%d,\"seconds\":%.3f,"
                "\"cpu_seconds\":%.3f,\"patches_per_s\":%.1f,\"patches_per_s_per_core\":%.1f}\n",
                threads, patch, batches * 32, s2, cpu2, batches * 32 / s2, batches * 32 / s2 / threads);
  }
#ifdef CYTOCON_HAVE_CUDA
  if (cytocon::cuda_available()) {  // GPU: one batch of 256 again and again (its tiles held after the first)
    GpuExtractor gpu(ds, cfg);
    std::vector<SampleRef> batch;
    std::vector<AugmentParams> batch_aug;
    for (int k = 0; k < 256; ++k) batch.push_back(refs[k % refs.size()]), batch_aug.push_back(aug[k % refs.size()]);
    gpu.extract(batch, batch_aug);  // uploads the batch's tiles
    const auto t2 = std::chrono::steady_clock::now();
    const int reps = 20;
    for (int i = 0; i < reps; ++i) gpu.extract(batch, batch_aug);
    cytocon::cuda_synchronize();  // the batches are handed over on the engine's stream
    const double s3 = std::chrono::duration<double>(std::chrono::steady_clock::now() - t2).count();
    std::printf("{\"bench\":\"gpu_extract\",\"patch_px\":%d,\"batch\":256,\"patches_per_s\":%.1f}\n", patch,
                reps * 256 / s3);
  }
#endif
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return cytocon::program::guard("cytocon-databench", [&] { return run(argc, argv); });
}

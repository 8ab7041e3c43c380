// cytocon-train --config FILE [--set table.key=value ...] [--overwrite] | --resume RUN_DIR [--set ...]
//
// Runs one stage (supcon | linear | ce) of the paper's experiment and writes a run directory:
// config.toml (resolved), log.jsonl, loss.png, checkpoints/, final.safetensors. Under mpiexec or
// srun every rank trains its share of the global batch (docs/distributed.md).
// Exit status: 0 done; 1 error; 2 wrong command line; 3 the loss became NaN/Inf (last good checkpoint kept);
// 128 + signal after SIGINT/SIGTERM (checkpoint written, continue with --resume).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "config/config.h"
#if defined(CYTOCON_HAVE_CUDA)
#include "data/cuda/gpu_extract.h"
#endif
#include "data/dataset.h"
#include "data/loader.h"
#include "data/node_budget.h"
#include "engine/backend.h"
#include "engine/dist/agree.h"
#include "engine/dist/context.h"
#include "engine/io/atomic_file.h"
#include "engine/program.h"
#include "models/preset.h"
#include "train/progress.h"
#include "train/stop_signal.h"
#include "train/trainer.h"

using namespace cytocon;
using namespace cytocon::train;

namespace {

// The training split through data::Loader: this rank's rows of each global batch.
class LoaderSource final : public BatchSource {
 public:
  LoaderSource(std::shared_ptr<const data::Dataset> ds, const data::LoaderConfig& lc) : loader_(std::move(ds), lc) {}
  int64_t batches_per_epoch() const override { return loader_.batches_per_epoch(); }
  int64_t samples_per_epoch() const { return loader_.samples_per_epoch(); }
  int areas() const { return loader_.sampler().num_areas_present(); }
  void start(int64_t epoch, int64_t batch) override { loader_.start(epoch, batch); }
  TrainBatch next() override {
    data::Batch b = loader_.next();
    return {b.x, b.y};
  }

 private:
  data::Loader loader_;
};

config::Config load_config(const std::string& config_path, const std::vector<std::string>& sets, const std::string& resume) {
  config::Config cfg;
  if (!resume.empty()) {
    check(config_path.empty(), "--resume " + resume + " continues with " + resume +
                                   "/config.toml: give no --config (change keys with --set)");
    config::load_file(cfg, resume + "/config.toml");
  } else {
    check(!config_path.empty(), "give --config FILE (e.g. configs/demo.toml) or --resume RUN_DIR");
    config::load_file(cfg, config_path);
  }
  for (const auto& s : sets) config::apply_override(cfg, config::parse_override(s));
  if (!resume.empty()) {
    namespace fs = std::filesystem;
    check(fs::weakly_canonical(cfg.train.out) == fs::weakly_canonical(resume),
          "--resume " + resume + " with train.out = " + cfg.train.out +
              ": a resumed run stays in its directory (if it was moved here, add --set train.out=" + resume + ")");
    cfg.train.out = resume;
  }
  config::resolve(cfg);
  const models::Preset preset = models::preset_by_name(config::name(cfg.model.preset));
  if (cfg.data.patch_px == 0) cfg.data.patch_px = preset.input_px;
  models::check_input_size(preset, cfg.data.patch_px);
  return cfg;
}

// What identifies the dataset for the agreement of ranks: its areas in order and its manifest.
std::string dataset_identity(const data::Dataset& ds) {
  std::string s = "\n[dataset]\nareas = [";
  for (const std::string& a : ds.labels()) s += "\"" + a + "\", ";
  char hash[32];
  const std::string manifest = io::read_file(ds.dir() + "/manifest.csv");
  std::snprintf(hash, sizeof hash, "%016llx", io::fnv1a64(manifest.data(), manifest.size()));
  return s + "]\nmanifest_fnv1a64 = \"" + hash + "\"\n";
}

// Where the loader cuts the patches (data.extractor, docs/training.md), set in lc; returns what
// was chosen and why, for the start line. The GPU extractor gives the CPU's pixels bit for bit,
// so this choice changes the speed, never the run. "auto" takes the GPU whenever training runs on
// one: its device tile cache (data.gpu_cache_gb) holds only the tiles recent batches touched, so
// any dataset size fits.
std::string choose_extractor(const config::Config& cfg, Device device, const std::shared_ptr<const data::Dataset>& ds,
                             data::LoaderConfig& lc) {
  const config::Extractor want = cfg.data.extractor;
  check(want != config::Extractor::gpu || device == Device::cuda,
        "data.extractor = \"gpu\" needs a CUDA device; this run trains on the CPU (train.device = \"" +
            config::name(cfg.train.device) + "\")");
  if (want == config::Extractor::cpu) return "cpu";
  if (device != Device::cuda) return "cpu (training on the CPU)";
#if defined(CYTOCON_HAVE_CUDA)
  auto gpu = std::make_shared<data::GpuExtractor>(ds, lc.extract_config(),
                                                  static_cast<size_t>(cfg.data.gpu_cache_gb * (1 << 30)));
  lc.batch_extractor = [gpu](const std::vector<data::SampleRef>& refs, const std::vector<data::AugmentParams>& aug) {
    return gpu->extract(refs, aug);
  };
  char why[96];
  std::snprintf(why, sizeof why, "gpu (device tile cache: data.gpu_cache_gb = %g)", cfg.data.gpu_cache_gb);
  return why;
#else
  (void)ds, (void)lc;
  return "cpu";  // not reached: without CUDA the device is the CPU
#endif
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"cytocon-train: contrastive (supcon), linear-probe and cross-entropy training"};
  std::string config_path, resume;
  std::vector<std::string> sets;
  bool quiet = false, overwrite = false;
  app.add_option("--config", config_path, "TOML configuration (configs/paper.toml, configs/demo.toml)");
  app.add_option("--set", sets, "override one key: --set table.key=value (repeatable)");
  CLI::Option* resume_opt = app.add_option("--resume", resume, "continue the run in RUN_DIR from its latest checkpoint");
  app.add_flag("--overwrite", overwrite, "replace the files of an earlier run in train.out (they are deleted)")
      ->excludes(resume_opt);
  app.add_flag("--quiet", quiet, "no progress line");
  return program::main("cytocon-train", app, argc, argv, [&] {
    const config::Config cfg = load_config(config_path, sets, resume);
    dist::Options dopt;
    dopt.gpu = cfg.train.device != config::DeviceChoice::cpu && cuda_available();
    return dist::run(
        argc, argv,
        [&](dist::Context& ctx) {
          Device device = config::pick_device(cfg.train.device, "train.device = \"cuda\"");
          data::DatasetOptions dso;
          dso.spacing_um = cfg.data.spacing_um;
          dso.centrelines = data::parse_centreline_source(config::name(cfg.data.centrelines));
          dso.test_fraction = cfg.data.test_fraction;
          dso.quiet = ctx.rank() != 0;
          auto ds = data::Dataset::open(cfg.data.dir, dso);
          // Every rank trains the same configuration on the same areas, or none does (docs/distributed.md).
          dist::agree_across_ranks(ctx.host_comm(), config::to_toml(cfg) + dataset_identity(*ds), "configuration");

          data::LoaderConfig lc;
          lc.split = data::Split::train;
          lc.patch_px = static_cast<int>(cfg.data.patch_px);
          lc.um_per_px = cfg.data.um_per_px;
          lc.patches_per_area = cfg.data.patches_per_area;
          lc.batch_size = cfg.train.batch_size;
          lc.rank = ctx.rank();
          lc.world = ctx.size();
          lc.augment = cfg.data.augment;
          lc.drop_last = true;
          lc.seed = static_cast<uint64_t>(cfg.train.seed);
          lc.background = static_cast<float>(cfg.data.background);
          // The node's cores and memory are shared by its ranks (docs/data.md, "Many ranks on a node").
          lc.threads = cfg.data.threads > 0 ? static_cast<int>(cfg.data.threads)
                                            : data::default_loader_threads(ctx.local_size());
          data::set_tile_cache_bytes(cfg.data.tile_cache_gb > 0
                                         ? static_cast<size_t>(cfg.data.tile_cache_gb * double(size_t(1) << 30))
                                         : data::default_tile_cache_bytes(ctx.local_size()));
          lc.prefetch = static_cast<int>(cfg.data.prefetch);
          const std::string extractor = choose_extractor(cfg, device, ds, lc);
          LoaderSource source(ds, lc);

          if (ctx.rank() == 0)
            std::printf(
                "cytocon-train: stage %s, preset %s, %s; %d areas x %lld patches = %lld patches/epoch, "
                "batch %lld over %d rank(s) and %lld micro-shards = %lld steps/epoch, %lld epochs; device %s, "
                "mode %s, precision %s; patches cut on the %s; loader %d thread(s), tile cache %.3g GiB per rank; run %s\n",
                config::name(cfg.train.stage).c_str(), config::name(cfg.model.preset).c_str(), ds->dir().c_str(), source.areas(),
                static_cast<long long>(cfg.data.patches_per_area), static_cast<long long>(source.samples_per_epoch()),
                static_cast<long long>(cfg.train.batch_size), ctx.size(), static_cast<long long>(cfg.train.shards),
                static_cast<long long>(source.batches_per_epoch()), static_cast<long long>(cfg.train.epochs),
                device_name(device), config::name(cfg.train.mode).c_str(), config::name(cfg.train.precision).c_str(), extractor.c_str(),
                lc.threads, data::tile_cache_stats().capacity / double(size_t(1) << 30), cfg.train.out.c_str());
          std::fflush(stdout);

          install_stop_handlers();
          TrainerEnv env;
          env.comm = &ctx.comm();
          env.device = device;
          env.progress = quiet ? nullptr : stdout;
          env.tty = Progress::is_tty(stdout);
          env.progress_interval_s = env.tty ? 0.5 : 10.0;  // a log file gets a line every 10 s
          env.overwrite = overwrite;
          env.trained_with.classes = ds->labels();
          env.trained_with.dataset = ds->dir();
          RunResult r = run_training(cfg, ds->num_classes(), source, env, resume);
          if (ctx.rank() == 0)
            std::fprintf(r.status == RunStatus::finished ? stdout : stderr, "cytocon-train: %s%s\n",
                         r.status == RunStatus::diverged ? "error: " : "", r.message.c_str());
          switch (r.status) {
            case RunStatus::finished: return 0;
            case RunStatus::interrupted: return 128 + r.signal;
            case RunStatus::diverged: return 3;
          }
          return 1;
        },
        dopt);
  });
}

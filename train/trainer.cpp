#include "train/trainer.h"

#include <cmath>
#include <csignal>
#include <memory>

#include "engine/backend.h"
#include "engine/dist/replicate.h"
#if defined(CYTOCON_HAVE_CUDA)
#include "engine/cuda/cuda.h"
#endif
#include "engine/io/atomic_file.h"
#include "engine/io/checkpoint.h"
#include "engine/io/output_dir.h"
#include "engine/optim/optimizer.h"
#include "engine/tape.h"
#include "models/weights.h"
#include "train/loss_curve.h"
#include "train/progress.h"
#include "train/run_dir.h"
#include "train/run_log.h"
#include "train/stages.h"
#include "train/stop_signal.h"

namespace cytocon::train {
namespace {

std::unique_ptr<optim::Optimizer> make_optimizer(const config::Config& cfg, std::vector<Param> params,
                                                 int64_t batches_per_epoch) {
  const auto& t = cfg.train;
  optim::LrSchedule sched;
  sched.base_lr = t.lr;
  sched.warmup_steps = static_cast<int64_t>(std::llround(t.warmup_epochs * static_cast<double>(batches_per_epoch)));
  if (t.schedule == config::Schedule::cosine)  // decay to 0 over the epochs after the warm-up (not max_steps)
    sched.cosine_steps = std::max<int64_t>(1, t.epochs * batches_per_epoch - sched.warmup_steps);
  if (t.optimizer == config::Optimizer::sgd) {
    optim::SgdConfig c;
    c.momentum = t.momentum;
    c.weight_decay = t.weight_decay;
    return std::make_unique<optim::SgdMomentum>(std::move(params), sched, c);
  }
  optim::LarsConfig c;
  c.eta = t.eta;
  c.momentum = t.momentum;
  c.weight_decay = t.weight_decay;
  return std::make_unique<optim::Lars>(std::move(params), sched, c);
}

// The first parameter or BN statistic holding a NaN/Inf, or "" if all are finite. A NaN in the
// input can vanish behind a ReLU in the forward pass and still poison the BN gradients and so the
// weights: the loss alone would notice it one step late, after a checkpoint of bad weights.
// Checked where the tensors live (Backend::first_non_finite): on the GPU a flag per tensor comes
// back, not the weights.
std::string first_non_finite(const models::Network& net) {
  std::vector<Tensor> tensors;
  std::vector<std::string> names;
  for (const Param& p : net.params()) tensors.push_back(p.value), names.push_back(p.name);
  for (const Buffer& b : net.buffers()) tensors.push_back(b.value), names.push_back(b.name);
  if (tensors.empty()) return "";
  const int64_t i = backend_of(tensors[0]).first_non_finite(tensors);
  return i < 0 ? "" : names[static_cast<size_t>(i)];
}

// The same decision on every rank: stop if any rank received SIGINT/SIGTERM.
int agreed_stop_signal(Comm* comm) {
  int32_t mine = stop_requested();
  if (!comm || comm->size() == 1) return mine;
  std::vector<int32_t> all(comm->size());
  comm->all_gather(&mine, all.data(), sizeof mine, Device::cpu);
  for (int32_t s : all)
    if (s) return s;
  return 0;
}

// What one run is computed and written with, fixed before its first step.
struct Run {
  const config::Config& cfg;
  const TrainerEnv& env;
  Comm* comm;
  int ranks;
  bool writer;              // rank 0 writes the run directory
  Shards sh;
  int64_t per_epoch, total;  // batches per epoch, steps of the whole run
  RunDir dir;
  std::string backend;       // what the numbers were computed with, for the log and the metadata
  std::string config_text;   // config.toml
  models::TrainedWith trained_with;
};

// The network and its optimiser, at `step`.
struct Model {
  std::unique_ptr<models::Network> net;
  std::unique_ptr<optim::Optimizer> opt;
  int64_t step = 0;
  double loss = 0;  // at `step` (0 for a fresh run)
};

// Checks that the device can compute in train.precision and sets the CUDA backend's mode;
// returns the backend's description.
std::string select_backend(const config::TrainConfig& t, Device device) {
  check(t.precision == Precision::fp32 || device == Device::cuda,
        "train.precision = \"" + config::name(t.precision) + "\" needs device = cuda; the CPU computes in fp32");
  std::string backend = "cpu";
#if defined(CYTOCON_HAVE_CUDA)
  if (device == Device::cuda) {
    set_cuda_mode(t.mode, t.precision);
    backend = cuda_mode_string();
  }
#endif
  return backend;
}

// Restore or initialise: the model and optimiser from the checkpoint `from` of a resumed run,
// which holds every tensor (train.init is not read again: the file may have moved since the run
// started), or fresh ones; then every rank holds rank 0's bits (docs/distributed.md).
Model restore_or_initialise(const Run& run, int num_classes, const std::string& from) {
  const auto& t = run.cfg.train;
  io::TrainingState resumed;
  if (!from.empty()) {
    resumed = io::load_checkpoint(from);
    check(resumed.stage == config::name(t.stage),
          from + ": checkpoint of stage " + resumed.stage + ", config says " + config::name(t.stage));
    models::check_trained_with(models::read_trained_with(resumed.extra, from), run.trained_with, from,
                               "the config and dataset of this resumed run");
  }
  config::Config built = run.cfg;
  if (!from.empty()) built.train.init.clear();
  Model m;
  m.net = build_network(built, num_classes);
  if (!from.empty()) {
    models::load_state(*m.net, resumed.model, from, models::LoadScope::all);
    m.step = resumed.step;
    auto l = resumed.extra.find("loss");
    auto number = [&](const std::string& key, const std::string& v) {
      char* end = nullptr;
      const double x = std::strtod(v.c_str(), &end);
      check(end != v.c_str() && *end == '\0', from + ": checkpoint metadata '" + key + "' = '" + v + "' is not a number");
      return x;
    };
    if (l != resumed.extra.end()) m.loss = number("loss", l->second);
    auto bpe = resumed.extra.find("batches_per_epoch");
    check(bpe == resumed.extra.end() || number("batches_per_epoch", bpe->second) == static_cast<double>(run.per_epoch),
          from + ": the checkpoint had " + (bpe == resumed.extra.end() ? "?" : bpe->second) +
              " batches per epoch, the data now gives " + std::to_string(run.per_epoch) +
              ": the dataset or data.* keys changed, the run cannot continue bit-identically");
  }
  m.net->to(run.env.device);
  m.opt = make_optimizer(run.cfg, m.net->trainable_params(), run.per_epoch);
  if (!from.empty()) {
    m.opt->load_state(resumed.optimizer);
    m.opt->set_steps(m.step);
  }
  if (run.ranks > 1) {
    std::vector<Tensor> state;
    for (const auto& named : models::model_state(*m.net)) state.push_back(named.value);
    dist::broadcast_tensors(*run.comm, state);
  }
  return m;
}

// Save: the checkpoint of step `s` (rank 0 writes it and prunes old ones; every rank waits for
// it). Returns its path.
std::string save(const Run& run, const Model& m, int64_t s, double loss) {
  const auto& t = run.cfg.train;
  io::TrainingState st;
  st.model = models::model_state(*m.net);
  st.optimizer = m.opt->state();
  st.optimizer_name = m.opt->name();
  st.step = s;
  st.epoch = s / run.per_epoch;
  st.seed = static_cast<uint64_t>(t.seed);
  st.stage = config::name(t.stage);
  st.mode = config::name(t.mode);
  st.precision = config::name(t.precision);
  st.config_toml = run.config_text;
  st.extra["batches_per_epoch"] = std::to_string(run.per_epoch);
  st.extra["loss"] = std::to_string(loss);
  st.extra["ranks"] = std::to_string(run.ranks);
  st.extra["backend"] = run.backend;
  for (const auto& [k, v] : models::trained_with_metadata(run.trained_with)) st.extra[k] = v;
  std::string path = run.dir.checkpoint_path(s);
  if (run.writer) {
    io::save_checkpoint(path, st);
    run.dir.prune(t.keep_checkpoints);
  }
  run.comm->barrier();  // no rank goes on before the checkpoint is complete
  return path;
}

struct StepStatus {
  double loss, lr;  // the batch's loss, the learning rate of the update
};

// One training step, on the next batch: the loss, its gradients, the optimiser's update, and its
// status. A NaN/Inf loss, or weights made NaN/Inf by the update, set res to diverged (with what to
// do) before anything of this step is saved.
StepStatus train_step(const Run& run, Model& m, BatchSource& data, RunResult& res) {
  const int64_t epoch = m.step / run.per_epoch;
  TrainBatch b = data.next();
  b.x = b.x.to(run.env.device);
  b.y = b.y.to(run.env.device);
  const double lr = m.opt->current_lr();
  Tape tape;
  Tensor loss = stage_loss(*m.net, run.cfg, b, run.sh);
  const double loss_value = static_cast<double>(loss.to_vector<float>()[0]);
  if (!std::isfinite(loss_value)) {
    res.status = RunStatus::diverged;
    res.loss = loss_value;
    res.message = "loss is " + std::string(std::isnan(loss_value) ? "NaN" : "Inf") + " at step " +
                  std::to_string(m.step + 1) + " (epoch " + std::to_string(epoch + 1) + ", lr " +
                  std::to_string(lr) + "): training stopped. " +
                  (res.checkpoint.empty() ? "No checkpoint was written before it."
                                          : "The last good checkpoint is " + res.checkpoint +
                                                "; lower train.lr and continue with --resume " + run.cfg.train.out);
    return {loss_value, lr};
  }
  tape.backward(loss);
  m.opt->step();
  m.opt->zero_grad();
  std::string poisoned = first_non_finite(*m.net);
  if (!poisoned.empty()) {
    res.status = RunStatus::diverged;
    res.loss = loss_value;
    res.message = "step " + std::to_string(m.step + 1) + " (epoch " + std::to_string(epoch + 1) + ", loss " +
                  std::to_string(loss_value) + ") made " + poisoned + " NaN/Inf: training stopped. " +
                  (res.checkpoint.empty() ? "No checkpoint was written before it."
                                          : "The last good checkpoint is " + res.checkpoint +
                                                "; check the data of this step or lower train.lr");
  }
  return {loss_value, lr};
}

// Finish: a finished run's last checkpoint (unless it has one) and final weights; then the loss
// curve of every run, whatever its status.
void finish(const Run& run, const Model& m, int64_t last_saved, std::unique_ptr<RunLog>& log, RunResult& res) {
  const auto& t = run.cfg.train;
  if (res.status == RunStatus::finished) {
    if (last_saved != m.step) res.checkpoint = save(run, m, m.step, res.loss);  // e.g. resumed at the end
    if (run.writer) {
      io::Metadata meta = {{"stage", config::name(t.stage)},         {"mode", config::name(t.mode)},
                           {"precision", config::name(t.precision)}, {"step", std::to_string(m.step)},
                           {"seed", std::to_string(t.seed)},         {"backend", run.backend},
                           {"config", run.config_text}};
      for (const auto& [k, v] : models::trained_with_metadata(run.trained_with)) meta[k] = v;
      models::save_weights(*m.net, run.dir.file("final.safetensors"), meta);
    }
    run.comm->barrier();
    res.message = config::name(t.stage) + " finished at step " + std::to_string(m.step) + ", loss " +
                  std::to_string(res.loss) + "; weights " + run.dir.file("final.safetensors");
  }
  if (run.writer) {
    log.reset();  // flush before reading it back
    write_loss_curve(run.dir.file("log.jsonl"), run.dir.file("loss.png"), config::name(t.stage));
  }
}

}  // namespace

RunResult run_training(config::Config cfg, int num_classes, BatchSource& data, const TrainerEnv& env,
                       const std::string& resume) {
  const auto& t = cfg.train;
  Comm* comm = env.comm ? env.comm : &single_process();
  const int rank = comm->rank(), ranks = comm->size();
  const Shards sh = Shards::make(static_cast<int>(t.shards), rank, ranks, comm, t.mode);
  check(t.batch_size % ranks == 0, "train.batch_size = " + std::to_string(t.batch_size) +
                                       " is not divisible by the number of ranks " + std::to_string(ranks));
  const std::string backend = select_backend(t, env.device);

  const int64_t per_epoch = data.batches_per_epoch();
  check(per_epoch > 0, "the training split yields no full batch of " + std::to_string(t.batch_size) +
                           " patches per epoch: lower train.batch_size or raise data.patches_per_area");
  int64_t total = t.epochs * per_epoch;
  if (t.max_steps > 0) total = std::min(total, t.max_steps);
  Run run{cfg, env, comm, ranks, rank == 0, sh, per_epoch, total, RunDir(t.out), backend, "", env.trained_with};

  // A new run never replaces another run's files by accident (engine/io/output_dir.h).
  if (run.writer) {
    if (resume.empty())
      io::claim_output_dir(t.out, RunDir::outputs(), env.overwrite,
                           "a new run needs a directory of its own: choose another train.out, continue this run "
                           "with --resume " + t.out + ", or give --overwrite to replace it");
    run.dir.create();
  }
  std::string from = resume.empty() ? std::string() : RunDir(resume).latest_checkpoint();
  check(resume.empty() || !from.empty(), "--resume " + resume + ": no checkpoint in " + resume + "/checkpoints");

  // What this model is trained with (models/provenance.h): stored with every checkpoint.
  run.trained_with.preset = config::name(cfg.model.preset);
  run.trained_with.um_per_px = cfg.data.um_per_px;
  run.trained_with.patch_px = cfg.data.patch_px;
  if (run.trained_with.dataset.empty()) run.trained_with.dataset = cfg.data.dir;

  Model m = restore_or_initialise(run, num_classes, from);
  run.config_text = config::to_toml(cfg);
  if (run.writer) io::write_file_atomic(run.dir.file("config.toml"), run.config_text);
  std::unique_ptr<RunLog> log;
  if (run.writer)
    log = std::make_unique<RunLog>(run.dir.file("log.jsonl"), from.empty() ? -1 : m.step, config::name(t.mode),
                                   config::name(t.precision), backend, ranks);

  RunResult res;
  res.step = m.step;
  res.loss = m.loss;
  res.checkpoint = from;
  Progress progress(env.progress ? env.progress : stdout, env.tty, env.progress_interval_s);
  const bool show = run.writer && env.progress;
  StepTimer timer;
  auto t0 = std::chrono::steady_clock::now();
  int64_t last_saved = from.empty() ? -1 : m.step;

  if (m.step < total) data.start(m.step / per_epoch, m.step % per_epoch);
  timer.start();
  while (m.step < total) {
    const int64_t epoch = m.step / per_epoch;
    const auto [loss_value, lr] = train_step(run, m, data, res);
    if (res.status == RunStatus::diverged) break;
    res.step = ++m.step;
    res.loss = m.loss = loss_value;
    timer.lap();
    double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    double rate = timer.average_step_s() > 0 ? static_cast<double>(t.batch_size) / timer.average_step_s() : 0;
    if (log && (m.step % t.log_every == 0 || m.step == total))
      log->write({config::name(t.stage), epoch + 1, m.step, loss_value, lr, rate, elapsed});
    if (show)
      progress.update({config::name(t.stage), epoch + 1, t.epochs, m.step, total, loss_value, lr, rate,
                       timer.eta_s(total - m.step)},
                      m.step == total);

    int sig = agreed_stop_signal(comm);
    bool due = t.checkpoint_every > 0 && m.step % t.checkpoint_every == 0;
    if (due || sig || m.step == total) {
      res.checkpoint = save(run, m, m.step, loss_value);
      last_saved = m.step;
    }
    if (sig) {
      res.status = RunStatus::interrupted;
      res.signal = sig;
      res.message = std::string(sig == SIGINT ? "SIGINT" : "SIGTERM") + " at step " + std::to_string(m.step) +
                    ": checkpoint " + res.checkpoint + " written; continue with --resume " + t.out;
      break;
    }
  }
  if (show) progress.finish();
  finish(run, m, last_saved, log, res);
  return res;
}

}  // namespace cytocon::train

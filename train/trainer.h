// The training loop of cytocon-train, shared by the three stages (paper §2):
//   supcon: encoder f + projection g, SupCon loss (eqs. 1-2) over the global batch;
//   linear: f frozen and run in inference mode (running BN statistics, no tape), a linear
//           classifier on h trained with cross-entropy;
//   ce:     f + classifier end to end with cross-entropy, BN in training mode, from random
//           weights ("scratch") or from `train.init` ("distance" with the user's weights).
//
// Restartable (docs/design.md, "Determinism"): step s of a run always trains on global batch
// s mod B of epoch s div B (B batches per epoch), whose samples and augmentation are functions of
// (seed, epoch, global index); a checkpoint holds parameters, BN statistics, optimiser velocities
// and the step, so resuming from it continues with the same bits as a run never interrupted.
#pragma once
#include <cstdint>
#include <cstdio>
#include <string>

#include "config/config.h"
#include "engine/shards.h"
#include "engine/tensor.h"
#include "models/provenance.h"

namespace cytocon::train {

// This rank's rows of one global batch: x float32 NHWC [n,S,S,1], y int32 [n].
struct TrainBatch {
  Tensor x, y;
};

// Where batches come from (the data loader in cytocon-train; in-memory tensors in tests).
class BatchSource {
 public:
  virtual ~BatchSource() = default;
  virtual int64_t batches_per_epoch() const = 0;
  // Position at global batch `batch` of `epoch`; next() then yields it and the ones after it.
  virtual void start(int64_t epoch, int64_t batch) = 0;
  virtual TrainBatch next() = 0;
};

struct TrainerEnv {
  Comm* comm = nullptr;  // null: a single process
  Device device = Device::cpu;
  FILE* progress = stdout;  // null: no progress line
  bool tty = false;         // rewrite the progress line in place
  double progress_interval_s = 1.0;
  // A new run may replace the outputs of an earlier one in train.out (--overwrite; without it a
  // directory holding a run's files is refused: engine/io/output_dir.h).
  bool overwrite = false;
  // What the model is trained with (the dataset's class names, ...): stored in every checkpoint and
  // in final.safetensors, and checked against a resumed checkpoint. Preset, resolution and patch
  // size are filled in from the config.
  models::TrainedWith trained_with;
};

enum class RunStatus {
  finished,     // all epochs (or max_steps) done; final weights written
  interrupted,  // SIGINT/SIGTERM: checkpoint written, resumable
  diverged,     // NaN/Inf loss: stopped, the last good checkpoint kept
};

struct RunResult {
  RunStatus status = RunStatus::finished;
  int64_t step = 0;              // optimiser steps done
  double loss = 0;               // last loss
  std::string checkpoint;        // the newest checkpoint on disk
  std::string message;           // what happened, for people
  int signal = 0;                // interrupted: the signal
};

// Runs `cfg` (resolved) with `num_classes` classes. `resume`: a run directory to continue
// (its latest checkpoint), or "" for a fresh run (the run directory must not hold checkpoints).
// Rank 0 writes the run directory; every rank must call this with the same arguments.
RunResult run_training(config::Config cfg, int num_classes, BatchSource& data, const TrainerEnv& env,
                       const std::string& resume = "");

}  // namespace cytocon::train

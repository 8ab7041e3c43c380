// The configuration of one cytocon-train run: TOML tables [model], [data], [train]
// (docs/training.md, "Configuration"). Every key can also be set as `--set table.key=value`.
// Unknown keys, wrongly typed values and values outside their allowed set are errors that name
// the key, the source (file or --set) and what was expected. Choice keys are read into enums
// (config/choices.h).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "config/choices.h"

namespace cytocon::config {

struct ModelConfig {
  ModelPreset preset = ModelPreset::tiny;  // "paper" (B=6, 1129 px) | "tiny" (B=5, 561 px)
};

struct DataConfig {
  std::string dir;                   // dataset directory (manifest.csv, labels.txt)
  double um_per_px = 4.0;            // patch resolution (paper: 2 µm/px)
  int64_t patch_px = 0;              // patch side S; 0 = the preset's input size
  int64_t patches_per_area = 1200;   // patches drawn per area and epoch (paper §3)
  double spacing_um = 100.0;         // spacing of sample points along the cortical centreline
  Centrelines centrelines = Centrelines::automatic;  // "auto" | "annotated" | "derived" (docs/data.md)
  double test_fraction = 0.2;        // sections of the training brains held out as X_te
  int64_t threads = 0;               // loader threads per rank (0 = the node's cores / its ranks)
  double tile_cache_gb = 0;          // decoded-tile cache per rank (0 = a quarter of the node's memory / its ranks)
  int64_t prefetch = 2;              // batches prepared ahead
  Extractor extractor = Extractor::automatic;  // where patches are cut: "cpu" | "gpu" | "auto" (docs/training.md)
  double gpu_cache_gb = 8.0;         // device memory for the GPU extractor's staged sections
  double background = 1.0;           // value outside the image (bright background of the stain)
  bool augment = true;               // training augmentation (docs/design.md "Augmentation")
};

struct TrainConfig {
  Stage stage = Stage::supcon;         // "supcon" | "linear" | "ce"
  int64_t epochs = 1;
  int64_t max_steps = 0;               // 0 = no limit
  int64_t batch_size = 256;            // global batch N over all ranks
  double lr = 0.0;                     // 0 = 0.01·N/128 (paper)
  double temperature = 0.07;           // τ (eq. 2)
  double weight_decay = 1e-6;
  double momentum = 0.9;
  double eta = 0.001;                  // LARS trust coefficient
  Optimizer optimizer = Optimizer::lars;  // "lars" | "sgd"
  Schedule schedule = Schedule::constant;  // "constant" | "cosine" (over all steps of all epochs)
  double warmup_epochs = 0.0;          // linear warm-up from 0, in epochs
  int64_t seed = 1;
  ReduceMode mode = ReduceMode::deterministic;     // "deterministic" | "fast"
  Precision precision = Precision::fp32;          // "fp32" | "tf32" | "bf16"
  DeviceChoice device = DeviceChoice::automatic;  // "auto" | "cpu" | "cuda"
  std::string init;                    // safetensors or checkpoint to start from ("" = random)
  std::string out = "runs/run";        // run directory
  int64_t checkpoint_every = 100;      // steps; 0 = only at the end
  int64_t keep_checkpoints = 3;        // the last M checkpoints are kept
  int64_t shards = 0;                  // micro-shards S (power of two); 0 = chosen from N
  int64_t log_every = 1;               // steps between log.jsonl records
};

struct Config {
  ModelConfig model;
  DataConfig data;
  TrainConfig train;
};

// One `--set table.key=value` argument, already split.
struct Override {
  std::string key;    // "train.lr"
  std::string value;  // "0.32" (strings may be given with or without TOML quotes)
};
// Splits "table.key=value"; fails on a missing '=', a missing table, or an empty key.
Override parse_override(const std::string& arg);

// Reads a TOML file into `cfg` (keys it does not name keep their value).
void load_file(Config& cfg, const std::string& path);
// Reads TOML text; `source` names it in errors.
void load_text(Config& cfg, const std::string& text, const std::string& source);
// Applies one override (source "--set").
void apply_override(Config& cfg, const Override& o);
// Checks cross-key constraints (positive sizes, power-of-two shards, ...) and fills derived
// defaults (lr = 0.01·N/128, shards). Idempotent. patch_px = 0 is filled in by the trainer from
// the model preset, which also rejects sizes the encoder does not reduce to 1×1.
void resolve(Config& cfg);
// The config as TOML, every key written (what `config.toml` in a run directory holds).
std::string to_toml(const Config& cfg);
// Every key as "table.key", in file order (documentation and tests).
std::vector<std::string> all_keys();

}  // namespace cytocon::config

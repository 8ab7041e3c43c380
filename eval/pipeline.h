// cytocon-eval's work: encoder features of X_te or X_un through a trained network, predictions
// and metrics, Ward clusters, t-SNE, and every output file (docs/design.md "Interfaces").
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/choices.h"
#include "data/dataset.h"

namespace cytocon::eval {

struct EvalOptions {
  std::string checkpoint;    // weights file or training checkpoint (with a classifier)
  std::string data;          // dataset directory
  data::Split split = data::Split::test;  // test (X_te) | unseen (X_un)
  std::string out;           // output directory (created)
  config::DeviceChoice device = config::DeviceChoice::automatic;
  int64_t batch = 64;
  int clusters = 10;
  int tsne_iterations = 1000;  // 0: no t-SNE
  std::string name;            // model name in reports ("" = the checkpoint's run directory)
  int threads = 0;             // loader threads (0 = one per usable core)
  double tile_cache_gb = 0;    // decoded-tile cache (0 = a quarter of the node's memory)
  // Settings normally read from the checkpoint's resolved config; given here they override it
  // (needed for weights without one, e.g. exported from PyTorch). Empty / 0 = from the file.
  std::optional<config::ModelPreset> preset;
  double um_per_px = 0, spacing_um = 0, test_fraction = -1;
  std::optional<config::Centrelines> centrelines;  // none: from the file
  bool quiet = false;
  std::string dump_patches;  // if set: write the network's input patches here (safetensors)
  bool overwrite = false;    // replace an earlier evaluation's files in `out` (engine/io/output_dir.h)
};

// Every file an evaluation writes into its output directory.
std::vector<std::string> evaluation_outputs();

// Runs the evaluation and writes metrics.json, predictions.csv, features.safetensors,
// clusters.md, ward_linkage.csv, tsne.csv, tsne.png, tsne_areas.png, confusion.png and report.md
// into opt.out.
void run_evaluation(const EvalOptions& opt);

}  // namespace cytocon::eval

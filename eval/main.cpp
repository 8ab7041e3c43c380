// cytocon-eval: evaluate a trained network on X_te or X_un, or compare several evaluations.
//
//   cytocon-eval --checkpoint RUN/final.safetensors --data DIR --split test|unseen --out DIR
//                [--device auto|cpu|cuda] [--batch N] [--clusters K] [--tsne-iterations N]
//                [--name NAME] [--preset P --um-per-px U --spacing-um S --test-fraction F]
//   cytocon-eval --compare OUT.md EVAL_DIR...   (the paper's Fig. 2 table from metrics.json files)
//
//                [--overwrite]
// Exit status: 0 done, 1 error (the message names the file and what was expected), 2 wrong command
// line (unknown flag, malformed value or one outside its range).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>
#include <vector>

#include "engine/io/atomic_file.h"
#include "engine/io/output_dir.h"
#include "engine/program.h"
#include "engine/tensor.h"
#include "eval/pipeline.h"
#include "eval/report.h"

using namespace cytocon;

int main(int argc, char** argv) {
  CLI::App app{"cytocon-eval: metrics, Ward clusters, t-SNE and report of a trained network"};
  eval::EvalOptions o;
  std::string compare, split = "test", device = "auto", preset, centrelines;  // the choices, parsed into o below
  std::vector<std::string> dirs;
  app.add_option("--checkpoint", o.checkpoint, "weights (final.safetensors) or checkpoint with a classifier");
  app.add_option("--data", o.data, "dataset directory (manifest.csv, labels.txt)");
  app.add_option("--split", split, "test (X_te) or unseen (X_un)")
      ->capture_default_str()
      ->check(CLI::IsMember({"test", "unseen"}));
  app.add_option("--out", o.out, "output directory");
  app.add_option("--device", device, "auto, cpu or cuda")->capture_default_str()->check(CLI::IsMember(config::names<config::DeviceChoice>()));
  app.add_option("--batch", o.batch, "patches per forward pass")->capture_default_str()->check(CLI::Range(1, 65536));
  app.add_option("--clusters", o.clusters, "Ward clusters k")->capture_default_str()->check(CLI::Range(1, 100000));
  app.add_option("--tsne-iterations", o.tsne_iterations, "t-SNE iterations (0: no t-SNE)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1000000));
  app.add_option("--name", o.name, "model name in reports (default: the run directory)");
  app.add_option("--threads", o.threads, "patch extraction threads (0: one per core)")->check(CLI::Range(0, 1024));
  app.add_option("--tile-cache-gb", o.tile_cache_gb, "decoded-tile cache in GiB (0: a quarter of the node's memory)")
      ->check(program::finite(Range{0, 1e6}));
  // The overrides' ranges are the config keys' (docs/training.md); given, they must match what the
  // model was trained with where the checkpoint records it (models/provenance.h).
  app.add_option("--preset", preset, "model preset (paper|tiny), for weights without a stored config")
      ->check(CLI::IsMember(config::names<config::ModelPreset>()));
  app.add_option("--um-per-px", o.um_per_px, "patch resolution, for weights without a stored config")
      ->check(program::finite(Range{0, 100, true}));
  app.add_option("--spacing-um", o.spacing_um, "centreline spacing (default: the training run's)")
      ->check(program::finite(Range{1, 1e5}));
  app.add_option("--test-fraction", o.test_fraction, "X_te fraction (default: the training run's)")
      ->check(program::finite(Range{0, 1, false, true}));
  app.add_option("--centrelines", centrelines, "override the stored config: auto, annotated or derived")
      ->check(CLI::IsMember(config::names<config::Centrelines>()));
  app.add_flag("--overwrite", o.overwrite,
               "replace the results of an earlier evaluation in --out (and the --compare / --dump-patches file)");
  app.add_flag("--quiet", o.quiet, "no progress lines");
  app.add_option("--dump-patches", o.dump_patches,
                 "also write the input patches (x [n,S,S,1] float32, index [n]) to this safetensors file");
  app.add_option("--compare", compare, "write the model x dataset table of the given evaluations to this file");
  app.add_option("dirs", dirs, "evaluation directories for --compare");
  return program::main("cytocon-eval", app, argc, argv, [&] {
    if (!compare.empty()) {
      if (dirs.empty()) fail("--compare " + compare + ": give the evaluation directories to compare");
      io::claim_output_file(compare, o.overwrite, "choose another --compare file or give --overwrite to replace it");
      std::vector<eval::RunSummary> runs;
      for (const std::string& d : dirs) runs.push_back(eval::read_metrics_json(d + "/metrics.json"));
      std::string md = "# Model x dataset (paper Fig. 2)\n\n" + eval::compare_markdown(runs);
      io::write_file_atomic(compare, md);
      std::printf("%s\ncytocon-eval: table written to %s\n", md.c_str(), compare.c_str());
      return 0;
    }
    if (!dirs.empty()) program::usage_error("unexpected argument " + dirs[0] + " (directories go with --compare)");
    if (o.checkpoint.empty() || o.data.empty() || o.out.empty())
      fail("give --checkpoint FILE --data DIR --out DIR (or --compare OUT.md DIR...)");
    o.split = data::parse_split(split);  // CLI11 checked both
    o.device = config::parse_choice<config::DeviceChoice>("--device", device);
    if (!preset.empty()) o.preset = config::parse_choice<config::ModelPreset>("--preset", preset);
    if (!centrelines.empty()) o.centrelines = config::parse_choice<config::Centrelines>("--centrelines", centrelines);
    eval::run_evaluation(o);
    return 0;
  });
}

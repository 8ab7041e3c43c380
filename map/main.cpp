// cytocon-map: predict an area at every sample point of new sections and write maps that QuPath
// opens (docs/map.md).
//
//   cytocon-map --checkpoint CKPT --data DIR [--split train|test|unseen|all] --out DIR
//   cytocon-map --checkpoint CKPT --image FILE [--labels labels.txt] [--um-per-px U]
//               [--annotation FILE.geojson] --out DIR
//   [--overwrite] [--spacing-um S] [--grid-um G] [--smooth viterbi|none] [--penalty L] [--device auto|cpu|cuda]
//   [--batch N] [--threads T] [--name NAME] [--quiet]
//
// Exit status: 0 done, 1 error (the message names the file or flag and what was expected).
#include <CLI/CLI.hpp>
#include <cstdio>

#include "engine/program.h"
#include "map/pipeline.h"

using namespace cytocon;

int main(int argc, char** argv) {
  CLI::App app{"cytocon-map: areas along the cortical ribbon of new sections, as QuPath GeoJSON and PNG"};
  map::MapOptions o;
  std::string split = "all", smooth = "viterbi", device = "auto", preset, centrelines;  // the choices, parsed into o below
  app.add_option("--checkpoint", o.checkpoint, "classifier weights (stage linear or ce)")->required();
  app.add_option("--data", o.data, "dataset directory (manifest.csv, labels.txt)");
  app.add_option("--split", split, "sections of --data: train, test, unseen or all")
      ->capture_default_str()
      ->check(CLI::IsMember({"train", "test", "unseen", "all"}));
  app.add_option("--image", o.image, "one section image (grayscale TIFF, PNG, JPEG)");
  app.add_option("--annotation", o.annotation, "QuPath GeoJSON of --image with centrelines (else: a grid over the tissue)");
  app.add_option("--labels", o.labels, "area names of the training data (labels.txt), for --image "
                                       "(default: the names the checkpoint records)");
  app.add_option("--um-per-px", o.image_um_per_px, "full-resolution pixel size of --image (um)")
      ->check(program::finite(Range{0.01, 1000}));
  app.add_option("--out", o.out, "output directory")->required();
  app.add_flag("--overwrite", o.overwrite, "replace an earlier map in --out (its files are deleted first)");
  app.add_option("--spacing-um", o.spacing_um, "sample spacing along centrelines (default: the run's data.spacing_um)")
      ->check(program::finite(Range{1, 1e5}));
  app.add_option("--centrelines", centrelines, "auto (drawn, else derived from the outlines), annotated or derived "
                                              "(default: the run's data.centrelines)");
  app.add_option("--grid-um", o.grid_um, "grid spacing over the tissue without annotation (default: the spacing)")
      ->check(program::finite(Range{1, 1e5}));
  app.add_option("--min-tissue-mm2", o.min_tissue_mm2, "smallest tissue component kept (grid)")
      ->capture_default_str()
      ->check(program::finite(Range{0, 1e6}));
  app.add_option("--smooth", smooth, "decoding along each centreline: viterbi or none")->capture_default_str();
  app.add_option("--penalty", o.penalty, "Viterbi penalty per area switch (nats*mm)")
      ->capture_default_str()
      ->check(program::finite(Range{0, 1e15}));
  app.add_option("--sweep", o.sweep, "also score these penalties (penalty_sweep.csv), to choose --penalty on X_te")
      ->delimiter(',')
      ->check(program::finite(Range{0, 1e15}));
  app.add_option("--device", device, "auto, cpu or cuda")->capture_default_str();
  app.add_option("--batch", o.batch, "patches per forward pass")->capture_default_str()->check(CLI::Range(1, 65536));
  app.add_option("--threads", o.threads, "patch extraction threads (0: one per core)")->check(CLI::Range(0, 1024));
  app.add_option("--name", o.name, "model name in reports (default: the run directory)");
  app.add_option("--preset", preset, "override the stored config: model preset (paper|tiny)")
      ->check(CLI::IsMember(config::names<config::ModelPreset>()));
  app.add_option("--patch-um-per-px", o.patch_um_per_px, "override the stored config: patch resolution (um/px)")
      ->check(program::finite(Range{0, 100, true}));
  app.add_flag("--quiet", o.quiet, "no progress lines");
  return program::main("cytocon-map", app, argc, argv, [&] {  // exit 0 / 1 / 2 (docs/errors.md)
    if (split != "all") o.split = data::parse_split(split);  // CLI11 checked it
    o.smooth = config::parse_choice<config::Smoothing>("--smooth", smooth);
    o.device = config::parse_choice<config::DeviceChoice>("--device", device);
    if (!preset.empty()) o.preset = config::parse_choice<config::ModelPreset>("--preset", preset);
    if (!centrelines.empty()) o.centrelines = config::parse_choice<config::Centrelines>("--centrelines", centrelines);
    map::run_map(o);
    return 0;
  });
}

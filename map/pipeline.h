// cytocon-map's work (docs/map.md): a trained classifier predicts an area at every sample point
// of each section (centrelines, or a grid over the tissue), the areas are decoded along each
// centreline, and per section SECTION.geojson and SECTION.png are written, with predictions.csv,
// map.json and report.md for the run.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/choices.h"
#include "data/dataset.h"

namespace cytocon::map {

struct MapOptions {
  std::string checkpoint;
  std::string data;           // a dataset directory ...
  std::optional<data::Split> split;  // ... and which of its sections (none: all)
  std::string image;          // or one section image ...
  std::string annotation;     // ... with an optional QuPath GeoJSON
  std::string labels;         // area names for --image (labels.txt; default: the model's record of them)
  double image_um_per_px = 0; // --um-per-px: the image's full-resolution pixel size (0: from the file)
  std::string out;
  bool overwrite = false;     // replace an earlier map in --out (engine/io/output_dir.h)
  double spacing_um = 0;      // along centrelines; 0 = the run's data.spacing_um
  std::optional<config::Centrelines> centrelines;  // none: the run's data.centrelines
  double grid_um = 0;         // grid over the tissue; 0 = the spacing
  double min_tissue_mm2 = 0.5;  // smaller tissue components are dropped
  config::Smoothing smooth = config::Smoothing::viterbi;
  double penalty = 0.02;      // λ, nats·mm per area switch (map/sequence.h); the demo's X_te choice
  std::vector<double> sweep;  // penalties to score (penalty_sweep.csv), for choosing λ on X_te
  config::DeviceChoice device = config::DeviceChoice::automatic;
  int64_t batch = 64;
  int threads = 0;            // extraction threads (0: one per core)
  std::string name;           // model name in reports
  std::optional<config::ModelPreset> preset;  // overrides of the stored config (weights without one)
  double patch_um_per_px = 0;
  bool quiet = false;
};

void run_map(const MapOptions& opt);

}  // namespace cytocon::map

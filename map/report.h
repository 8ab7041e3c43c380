// What cytocon-map writes besides the per-section maps: predictions.csv, map.json and report.md
// (docs/map.md "Outputs"), and the scores behind them (top-1, weighted F1, border error).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "map/section.h"

namespace cytocon::map {

// Scores of one decoding over the points with a reference area.
struct MapScores {
  int64_t n = 0;                // points with a reference area
  double top1 = 0, f1_weighted = 0;
  std::vector<double> border_mm;    // one per reference border (map/sequence.h border_errors)
  std::vector<double> spurious_mm;  // one per predicted border (spurious_border_errors)
  double border_mean() const;
  double border_median() const;
  double spurious_mean() const;
  // Mean over both lists together: the average symmetric border distance (what the penalty is
  // chosen by, docs/map.md).
  double symmetric_mean() const;
};
// pred: s.raw or s.pred, per point. Several sections: pass them all (borders never cross lines).
MapScores score(const std::vector<const SectionMap*>& sections, bool smoothed, int num_classes);

struct MapRun {
  std::string model, checkpoint, source;  // source: the data directory + split, or the image
  std::vector<std::string> names;
  std::string smooth;
  double penalty = 0, spacing_um = 0, grid_um = 0, patch_um_per_px = 0, footprint_px = 0;
  int patch_px = 0;
  std::string device;
  double seconds_total = 0, seconds_inference = 0, patches_per_s = 0;
  double cpu_seconds_inference = 0;  // process CPU time (all threads) of extraction + inference
  int64_t patches = 0;
};

// brain,section,x,y,centreline,position_mm,true,pred,argmax,top3,p:<area>... ("" where unknown).
void write_predictions_csv(const std::string& path, const std::vector<SectionMap>& sections,
                           const std::vector<std::string>& names);
void write_map_json(const std::string& path, const MapRun& run, const std::vector<SectionMap>& sections);
std::string report_markdown(const MapRun& run, const std::vector<SectionMap>& sections);

// The file name stem of a section's outputs: "brain_section" (characters outside [A-Za-z0-9._-]
// become '_').
std::string section_stem(const SectionMap& s);

// Every name a run over `sections` writes into `out` (for io::claim_output_dir): map.json,
// predictions.csv, report.md, penalty_sweep.csv and each section's .geojson, .png and .svg; plus
// the section files an earlier run's out/map.json lists, so that --overwrite leaves none of them
// behind. Fails when two sections would write the same files (their stems are equal).
std::vector<std::string> map_outputs(const std::vector<SectionMap>& sections, const std::string& out);

}  // namespace cytocon::map

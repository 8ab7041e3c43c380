// A dataset directory (docs/design.md, "Dataset directory"): manifest.csv, labels.txt, section images
// and their annotations, turned into labelled centreline points and a train/test/unseen split
// (paper §3: 80% of the sections of the training brains train, 20% are X_te; held-out brains are
// X_un).
//
//   DatasetOptions opt;  opt.spacing_um = 100;
//   auto ds = cytocon::data::Dataset::open("synth", opt);
//   ds->points_in(Split::train)   // indices into ds->points()
#pragma once
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "data/centreline.h"
#include "data/image.h"

namespace cytocon::data {

enum class Split : uint8_t { train, test, unseen };
const char* split_name(Split s);
Split parse_split(const std::string& s);  // "train" | "test" | "unseen"

struct DatasetOptions {
  double spacing_um = 100.0;  // centreline sampling step (µm)
  // Which centrelines the points lie on (data.centrelines, docs/data.md): drawn where a section
  // has any, else derived from its area polygons (automatic); only drawn; only derived.
  CentrelineSource centrelines = CentrelineSource::automatic;
  // Sections without a manifest `split` entry: per training brain, a seeded 20% are test.
  double test_fraction = 0.2;
  uint64_t split_seed = 0;  // Philox key for the split (Purpose::split)
  // Brains whose every section is X_un (in addition to rows whose manifest split is "unseen").
  std::vector<std::string> unseen_brains;
  // Problems that are skipped with a warning by default (unknown area names, points outside the
  // image, sections without points, areas without points) become errors when strict.
  bool strict = false;
  bool quiet = false;  // do not print warnings to stderr (they are still in warnings())
};

struct Section {
  std::string brain, name;      // manifest columns brain, section
  std::string image_path;       // absolute or relative to the working directory
  std::string annotation_path;
  double um_per_px = 0;         // full-resolution level
  Split split = Split::train;
  int64_t width = 0, height = 0;  // full-resolution pixels
};

struct SamplePoint {
  int32_t section = 0;  // index into sections()
  int32_t label = 0;    // class id (line of labels.txt)
  float x = 0, y = 0;   // full-resolution pixels
};

class Dataset {
 public:
  static std::shared_ptr<Dataset> open(const std::string& dir, const DatasetOptions& opt = {});

  const std::string& dir() const { return dir_; }
  const std::vector<std::string>& labels() const { return labels_; }
  int num_classes() const { return static_cast<int>(labels_.size()); }
  const std::vector<Section>& sections() const { return sections_; }
  const std::vector<SamplePoint>& points() const { return points_; }
  // Indices of the points whose section is in split s, in (section, centreline) order.
  const std::vector<int32_t>& points_in(Split s) const { return by_split_[static_cast<int>(s)]; }
  // The image of section i, opened on first use (thread-safe).
  const Image& image(int section) const;
  const std::vector<std::string>& warnings() const { return warnings_; }

 private:
  std::string dir_;
  std::vector<std::string> labels_;
  std::vector<Section> sections_;
  std::vector<SamplePoint> points_;
  std::vector<int32_t> by_split_[3];
  std::vector<std::string> warnings_;
  mutable std::vector<std::shared_ptr<Image>> images_;
  mutable std::mutex images_mutex_;
  friend struct DatasetBuilder;
};

}  // namespace cytocon::data

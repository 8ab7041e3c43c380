// Dataset::open: manifest.csv + labels.txt → sections, labelled centreline points, splits.
#include "data/dataset.h"

#include <sys/resource.h>
#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "data/annotations.h"
#include "engine/io/atomic_file.h"
#include "engine/rng.h"
#include "engine/tensor.h"
#include "engine/validate.h"

namespace cytocon::data {

const char* split_name(Split s) {
  switch (s) {
    case Split::train: return "train";
    case Split::test: return "test";
    case Split::unseen: return "unseen";
  }
  return "?";
}

Split parse_split(const std::string& s) {
  if (s == "train") return Split::train;
  if (s == "test") return Split::test;
  if (s == "unseen") return Split::unseen;
  fail("unknown split '" + s + "' (expected train, test or unseen)");
}

namespace {

// A section's full-resolution scan: from 10 nm/px to 1 mm/px (docs/data.md, "Bad input").
const Range kSectionUmPerPx{0.01, 1000};

std::string trim(const std::string& s) {
  size_t a = 0, b = s.size();
  while (a < b && std::isspace(static_cast<unsigned char>(s[a]))) ++a;
  while (b > a && std::isspace(static_cast<unsigned char>(s[b - 1]))) --b;
  return s.substr(a, b - a);
}

// One CSV line; fields may be "quoted" with "" as an escaped quote.
std::vector<std::string> split_csv(const std::string& line, const std::string& where) {
  std::vector<std::string> out;
  std::string cur;
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') cur += '"', ++i;
      else if (c == '"') quoted = false;
      else cur += c;
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      out.push_back(trim(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (quoted) fail(where + ": unterminated quote");
  out.push_back(trim(cur));
  return out;
}

std::string join_path(const std::string& dir, const std::string& p) {
  if (p.empty() || p[0] == '/') return p;
  return dir + "/" + p;
}

uint32_t fnv1a(const std::string& s) {
  uint32_t h = 2166136261u;
  for (unsigned char c : s) h = (h ^ c) * 16777619u;
  return h;
}

struct Row {
  Section sec;
  std::string split;  // as written ("" = decide by the seeded split)
  int line = 0;
};

std::vector<Row> read_manifest(const std::string& dir) {
  const std::string path = dir + "/manifest.csv";
  io::require_regular_file(path, "manifest");
  std::ifstream f(path);
  if (!f) fail(path + ": manifest not found or unreadable");
  std::string line;
  std::map<std::string, int> col;
  std::vector<Row> rows;
  int n = 0;
  while (std::getline(f, line)) {
    ++n;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (n == 1 && line.size() >= 3 && line.compare(0, 3, "\xEF\xBB\xBF") == 0) line = line.substr(3);
    if (trim(line).empty() || trim(line)[0] == '#') continue;
    const std::string where = path + ":" + std::to_string(n);
    auto fields = split_csv(line, where);
    if (col.empty()) {
      for (size_t i = 0; i < fields.size(); ++i) col[fields[i]] = static_cast<int>(i);
      for (const char* need : {"brain", "section", "image", "annotation", "um_per_px"})
        if (!col.count(need))
          fail(path + ": header lacks column '" + need +
               "' (expected brain,section,image,annotation,um_per_px[,split])");
      continue;
    }
    auto get = [&](const char* name) -> std::string {
      auto it = col.find(name);
      if (it == col.end()) return "";
      if (it->second >= static_cast<int>(fields.size()))
        fail(where + ": " + std::to_string(fields.size()) + " fields, column '" + name + "' missing");
      return fields[it->second];
    };
    Row r;
    r.line = n;
    r.sec.brain = get("brain");
    r.sec.name = get("section");
    if (r.sec.brain.empty() || r.sec.name.empty()) fail(where + ": empty brain or section name");
    r.sec.image_path = join_path(dir, get("image"));
    r.sec.annotation_path = join_path(dir, get("annotation"));
    const std::string um = trim(get("um_per_px"));
    char* end = nullptr;
    r.sec.um_per_px = um.empty() ? 0.0 : std::strtod(um.c_str(), &end);  // empty: the image's own
    if (!um.empty() && *end != '\0') fail(where + ": um_per_px '" + um + "' is not a number");
    if (!um.empty())
      checked_number(r.sec.um_per_px, kSectionUmPerPx, where + ": um_per_px", "micrometres per pixel of the section");
    r.split = get("split");
    if (!r.split.empty()) {
      try {
        r.sec.split = parse_split(r.split);
      } catch (const std::exception& e) {
        fail(where + ": " + e.what());
      }
    }
    rows.push_back(std::move(r));
  }
  if (col.empty()) fail(path + ": empty manifest (expected a header line)");
  if (rows.empty()) fail(path + ": no sections listed");
  std::map<std::pair<std::string, std::string>, int> seen;
  for (const Row& r : rows) {
    auto [it, fresh] = seen.emplace(std::make_pair(r.sec.brain, r.sec.name), r.line);
    if (!fresh)
      fail(path + ":" + std::to_string(r.line) + ": duplicate section '" + r.sec.name + "' of brain '" +
           r.sec.brain + "' (first listed on line " + std::to_string(it->second) + ")");
  }
  return rows;
}

std::vector<std::string> read_labels(const std::string& dir) {
  const std::string path = dir + "/labels.txt";
  io::require_regular_file(path, "labels");
  std::ifstream f(path);
  if (!f) fail(path + ": labels file not found or unreadable");
  std::vector<std::string> labels;
  std::set<std::string> seen;
  std::string line;
  int n = 0;
  while (std::getline(f, line)) {
    ++n;
    line = trim(line);
    if (line.empty()) continue;
    if (!seen.insert(line).second)
      fail(path + ":" + std::to_string(n) + ": duplicate area name '" + line + "'");
    labels.push_back(line);
  }
  if (labels.empty()) fail(path + ": no area names");
  return labels;
}

// Per brain, a seeded test_fraction of the sections without an explicit split become test; the
// order is by a Philox key of (brain, section) names, so it does not depend on manifest order.
void assign_splits(std::vector<Row>& rows, const DatasetOptions& opt) {
  std::set<std::string> unseen(opt.unseen_brains.begin(), opt.unseen_brains.end());
  std::map<std::string, std::vector<size_t>> open_rows;
  for (size_t i = 0; i < rows.size(); ++i) {
    if (unseen.count(rows[i].sec.brain)) rows[i].sec.split = Split::unseen;
    else if (rows[i].split.empty()) open_rows[rows[i].sec.brain].push_back(i);
  }
  for (auto& [brain, idx] : open_rows) {
    std::vector<std::pair<uint64_t, size_t>> keyed;
    for (size_t i : idx) {
      const Rng r(opt.split_seed, Purpose::split, fnv1a(brain), fnv1a(rows[i].sec.name));
      const Philox4x32 b = r.block(0);
      keyed.emplace_back((static_cast<uint64_t>(b.v[0]) << 32) | b.v[1], i);
    }
    std::sort(keyed.begin(), keyed.end());
    const size_t n_test = static_cast<size_t>(std::llround(opt.test_fraction * keyed.size()));
    for (size_t k = 0; k < keyed.size(); ++k)
      rows[keyed[k].second].sec.split = k < n_test ? Split::test : Split::train;
  }
}

void raise_open_file_limit() {  // one libtiff handle per section stays open
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

}  // namespace

// The manifest's um_per_px against the file's (docs/data.md, "Pixel size"): an empty manifest
// entry takes the file's; both present and more than 1 % apart is a warning (the manifest wins).
template <class Warn>
void check_pixel_size(Section& s, const Image& img, const std::string& where, Warn&& warn) {
  const std::optional<double> file = img.um_per_px();
  if (s.um_per_px == 0) {
    if (!file)
      fail(where + ": um_per_px is empty and " + s.image_path +
           " states no pixel size (OME-XML PhysicalSizeX, Aperio MPP or TIFF resolution tags)");
    s.um_per_px = checked_number(*file, kSectionUmPerPx, s.image_path + ": the pixel size it states", "um/px");
    return;
  }
  if (file && std::abs(s.um_per_px / *file - 1.0) > 0.01) {
    char msg[160];
    std::snprintf(msg, sizeof msg, ": manifest um_per_px %g disagrees with the image's %g by %.1f %% (using %g)",
                  s.um_per_px, *file, 100.0 * std::abs(s.um_per_px / *file - 1.0), s.um_per_px);
    warn(where + msg + " for " + s.image_path);
  }
}

struct DatasetBuilder {
  static std::shared_ptr<Dataset> build(const std::string& dir, const DatasetOptions& opt) {
    check(opt.spacing_um > 0, "dataset option spacing_um must be > 0, got " + std::to_string(opt.spacing_um));
    check(opt.test_fraction >= 0 && opt.test_fraction <= 1,
          "dataset option test_fraction must be in [0, 1], got " + std::to_string(opt.test_fraction));
    raise_open_file_limit();
    auto ds = std::make_shared<Dataset>();
    ds->dir_ = dir;
    std::vector<Row> rows = read_manifest(dir);
    ds->labels_ = read_labels(dir);
    std::map<std::string, int> id;
    for (size_t i = 0; i < ds->labels_.size(); ++i) id[ds->labels_[i]] = static_cast<int>(i);
    assign_splits(rows, opt);
    auto warn = [&](const std::string& w) {
      if (opt.strict) fail(w + " (strict mode)");
      ds->warnings_.push_back(w);
      if (!opt.quiet) std::fprintf(stderr, "cytocon: warning: %s\n", w.c_str());
    };
    std::vector<int64_t> per_class(ds->labels_.size(), 0);
    for (Row& r : rows) {
      Section& s = r.sec;
      auto img = open_image(s.image_path);
      check_pixel_size(s, *img, dir + "/manifest.csv:" + std::to_string(r.line), warn);
      s.width = img->width();
      s.height = img->height();
      const int32_t sec_id = static_cast<int32_t>(ds->sections_.size());
      Annotations ann = read_geojson(s.annotation_path);
      for (const auto& w : ann.warnings) warn(w);
      std::map<std::string, int64_t> unknown;
      int64_t outside = 0, kept = 0;
      ann.centrelines = select_centrelines(ann, opt.centrelines, s.um_per_px,
                                           SectionSize{double(s.width), double(s.height)});
      for (const LabelledPoint& p : sample_centrelines(ann, opt.spacing_um / s.um_per_px)) {
        auto it = id.find(p.area);
        if (it == id.end()) {
          ++unknown[p.area];
          continue;
        }
        if (!(p.p.x >= 0 && p.p.y >= 0 && p.p.x < s.width && p.p.y < s.height)) {
          ++outside;
          continue;
        }
        ds->points_.push_back(SamplePoint{sec_id, it->second, static_cast<float>(p.p.x),
                                          static_cast<float>(p.p.y)});
        ++per_class[it->second];
        ++kept;
      }
      for (const auto& [name, n] : unknown)
        warn(s.annotation_path + ": area '" + name + "' is not in labels.txt; " + std::to_string(n) +
             " centreline points skipped");
      if (outside)
        warn(s.annotation_path + ": " + std::to_string(outside) +
             " centreline points lie outside the image (" + std::to_string(s.width) + "x" +
             std::to_string(s.height) + " px), skipped");
      if (kept == 0) warn(s.annotation_path + ": section has no usable centreline points");
      ds->sections_.push_back(s);
      ds->images_.push_back(std::move(img));
    }
    for (size_t c = 0; c < per_class.size(); ++c)
      if (per_class[c] == 0) warn(dir + "/labels.txt: area '" + ds->labels_[c] + "' has no centreline points");
    for (size_t i = 0; i < ds->points_.size(); ++i) {
      const Split sp = ds->sections_[ds->points_[i].section].split;
      ds->by_split_[static_cast<int>(sp)].push_back(static_cast<int32_t>(i));
    }
    return ds;
  }
};

std::shared_ptr<Dataset> Dataset::open(const std::string& dir, const DatasetOptions& opt) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) fail("dataset directory " + dir + ": not found");
  if (!S_ISDIR(st.st_mode)) fail("dataset directory " + dir + ": not a directory");
  return DatasetBuilder::build(dir, opt);
}

const Image& Dataset::image(int section) const {
  check(section >= 0 && section < static_cast<int>(sections_.size()),
        "section index " + std::to_string(section) + " out of range");
  std::lock_guard<std::mutex> lock(images_mutex_);
  if (!images_[section]) images_[section] = open_image(sections_[section].image_path);
  return *images_[section];
}

}  // namespace cytocon::data

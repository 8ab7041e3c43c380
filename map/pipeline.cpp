#include "map/pipeline.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include "data/centreline.h"
#include "data/dataset.h"
#include "data/extract.h"
#include "data/node_budget.h"
#include "engine/io/atomic_file.h"
#include "engine/io/output_dir.h"
#include "eval/inference.h"
#include "eval/report.h"
#include "map/figure.h"
#include "map/geojson.h"
#include "map/points.h"
#include "map/report.h"
#include "map/sequence.h"
#include "map/tissue.h"

namespace cytocon::map {

namespace fs = std::filesystem;

namespace {

constexpr int kThumbnailSide = 1000;

double process_cpu_s() {  // all threads; under a loaded machine the fairer measure than wall time
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::string fmt_g(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

std::vector<std::string> read_labels_file(const std::string& path) {
  std::ifstream f(path);
  check(static_cast<bool>(f), path + ": labels file not found or unreadable (expected one area name per line)");
  std::vector<std::string> names;
  for (std::string line; std::getline(f, line);) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
    if (!line.empty()) names.push_back(line);
  }
  check(!names.empty(), path + ": no area names");
  return names;
}

// Progress and results on stdout, unless --quiet.
void say(const MapOptions& opt, const std::string& s) {
  if (!opt.quiet) std::printf("cytocon-map: %s\n", s.c_str()), std::fflush(stdout);
}

// The flags that need no file to be checked.
void check_options(const MapOptions& opt) {
  check(opt.data.empty() != opt.image.empty(), "give either --data DIR or --image FILE");
  check(opt.penalty >= 0, "--penalty " + fmt_g(opt.penalty) + ": expected >= 0");
  for (double lam : opt.sweep) check(lam >= 0, "--sweep " + fmt_g(lam) + ": penalties must be >= 0");
  check(opt.batch >= 1, "--batch " + std::to_string(opt.batch) + ": expected >= 1");
  check(!opt.out.empty(), "give --out DIR");
  check(opt.image.empty() || (opt.annotation.empty() || fs::exists(opt.annotation)),
        opt.annotation + ": annotation file not found");
}

// Where the points go: the command line's settings, else the training run's.
struct Sampling {
  double spacing_um = 0;  // along centrelines
  double grid_um = 0;     // over the tissue of sections without annotation
  data::CentrelineSource lines_from = data::CentrelineSource::automatic;
};

Sampling sampling(const MapOptions& opt, const config::Config& cfg) {
  Sampling p;
  p.spacing_um = opt.spacing_um > 0 ? opt.spacing_um : cfg.data.spacing_um;
  p.grid_um = opt.grid_um > 0 ? opt.grid_um : p.spacing_um;
  check(p.spacing_um > 0, "--spacing-um " + fmt_g(p.spacing_um) + ": expected > 0");
  p.lines_from = data::parse_centreline_source(config::name(opt.centrelines.value_or(cfg.data.centrelines)));
  return p;
}

// The section's sample points from its annotation (centrelines), or a grid over its tissue when
// it has none.
void add_points(SectionMap& s, const data::Annotations* a, const data::Image& img, const std::vector<std::string>& names,
                const MapOptions& opt, const Sampling& at) {
  if (a) {
    check(!a->centrelines.empty() || !a->polygons.empty(),
          s.annotation_path + ": no usable geometry (expected LineString centrelines or Polygon area outlines, "
                              "QuPath GeoJSON in full-resolution pixels)");
    const std::vector<data::Centreline> lines = data::select_centrelines(
        *a, at.lines_from, s.um_per_px, {static_cast<double>(s.width), static_cast<double>(s.height)});
    check(!lines.empty(), s.annotation_path + ": no centrelines (--centrelines " +
                              data::centreline_source_name(at.lines_from) + "); draw them, or use auto or derived");
    s.reference = a->polygons;
    const bool drawn = at.lines_from != data::CentrelineSource::derived && !a->centrelines.empty();
    s.sampling = drawn ? "centrelines (drawn)" : "centrelines (derived from the outlines)";
    sample_centreline_points(s, lines, a->polygons, names, at.spacing_um);
    check(!s.points.empty(), s.annotation_path + ": no centreline point lies inside the image (" +
                                 std::to_string(s.width) + "x" + std::to_string(s.height) + " px)");
    return;
  }
  const Thumbnail t = read_thumbnail(img, kThumbnailSide);
  sample_grid_points(s, t, find_tissue(t, s.um_per_px, opt.min_tissue_mm2, s.image_path), at.grid_um);
}

// What a run maps: the sections with their sample points, their images (in the same order), the
// model's area names and where the sections came from (for the reports).
struct Plan {
  std::vector<SectionMap> sections;
  std::vector<std::shared_ptr<data::Image>> images;
  std::vector<std::string> names;
  std::string source;
};

// --data: the sections of --split, whose labels.txt must be the model's areas in order.
Plan plan_dataset(const MapOptions& opt, const eval::Predictor& net, const Sampling& at) {
  Plan plan;
  data::DatasetOptions dso;
  dso.spacing_um = at.spacing_um;
  dso.test_fraction = net.config().data.test_fraction;
  dso.centrelines = at.lines_from;
  dso.quiet = opt.quiet;
  auto ds = data::Dataset::open(opt.data, dso);
  plan.names = ds->labels();
  // The model's areas, in order (docs/errors.md); failures here are one line, so no warning for
  // files that record none.
  net.check_classes(plan.names, opt.data + "/labels.txt", /*warn=*/false);
  check(ds->num_classes() == net.num_classes(),
        opt.checkpoint + ": classifier has " + std::to_string(net.num_classes()) + " classes but " + opt.data +
            "/labels.txt lists " + std::to_string(ds->num_classes()) + " areas");
  const std::string split = opt.split ? data::split_name(*opt.split) : "all";
  plan.source = opt.data + " (" + split + ")";
  for (size_t k = 0; k < ds->sections().size(); ++k) {
    const data::Section& d = ds->sections()[k];
    if (opt.split && d.split != *opt.split) continue;
    SectionMap s;
    s.brain = d.brain, s.section = d.name, s.image_path = d.image_path, s.annotation_path = d.annotation_path;
    s.um_per_px = d.um_per_px, s.width = d.width, s.height = d.height;
    const data::Annotations a = data::read_geojson(d.annotation_path);
    plan.images.push_back(data::open_image(d.image_path));
    add_points(s, &a, *plan.images.back(), plan.names, opt, at);
    plan.sections.push_back(std::move(s));
  }
  check(!plan.sections.empty(), opt.data + ": no section in split " + split);
  return plan;
}

// --image: one section, its area names from --labels or the model's own record of them.
Plan plan_image(const MapOptions& opt, const eval::Predictor& net, const Sampling& at) {
  Plan plan;
  // The area names: --labels, else the model's own record of them (docs/errors.md).
  if (!opt.labels.empty()) {
    plan.names = read_labels_file(opt.labels);
    net.check_classes(plan.names, opt.labels, /*warn=*/false);
  } else {
    plan.names = net.trained_with().classes;
    check(!plan.names.empty(), opt.checkpoint + " does not record the area names it was trained on (written before "
                               "2026-12-07): give --labels FILE (the training data's labels.txt) or map with --data DIR");
  }
  const std::string names_from = opt.labels.empty() ? opt.checkpoint + " (its area names)" : opt.labels;
  check(static_cast<int64_t>(plan.names.size()) == net.num_classes(),
        opt.checkpoint + ": classifier has " + std::to_string(net.num_classes()) + " classes but " + names_from +
            " lists " + std::to_string(plan.names.size()) + " areas");
  plan.images.push_back(data::open_image(opt.image));
  const data::Image& img = *plan.images[0];
  const double um = opt.image_um_per_px > 0 ? opt.image_um_per_px : img.um_per_px().value_or(0);
  check(um > 0, opt.image + ": no pixel size (no OME-XML PhysicalSizeX, Aperio MPP or TIFF resolution tags): "
                            "give --um-per-px (µm per full-resolution pixel)");
  SectionMap s;
  s.section = fs::path(opt.image).stem().string();
  s.image_path = opt.image, s.annotation_path = opt.annotation, s.um_per_px = um;
  s.width = img.width(), s.height = img.height();
  if (opt.annotation.empty()) {
    add_points(s, nullptr, img, plan.names, opt, at);
  } else {
    const data::Annotations a = data::read_geojson(opt.annotation);
    add_points(s, &a, img, plan.names, opt, at);
  }
  plan.source = opt.image;
  plan.sections.push_back(std::move(s));
  return plan;
}

// Nothing written is replaced by accident (docs/errors.md): refused before any work, and never
// over one of this run's inputs.
void claim_outputs(const MapOptions& opt, const Plan& plan) {
  std::vector<std::string> inputs{opt.checkpoint, opt.labels, opt.image, opt.annotation};
  if (!opt.data.empty()) inputs.insert(inputs.end(), {opt.data + "/manifest.csv", opt.data + "/labels.txt"});
  for (const SectionMap& s : plan.sections) inputs.insert(inputs.end(), {s.image_path, s.annotation_path});
  io::claim_output_dir(opt.out, map_outputs(plan.sections, opt.out), opt.overwrite,
                       "choose another --out or give --overwrite to replace them", inputs);
}

// The patches of all sections' points as one flat list, cut in batches by `threads` threads.
class Patches {
 public:
  // On a GPU (`overlap`) the next batch is extracted by `threads` threads while the device runs
  // this one. On the CPU, extraction and the network share the cores: one after the other, both on
  // the OpenMP team, so that no idle OpenMP thread spins against the extraction threads (measured,
  // docs/map.md "Throughput"). The patches are the same bits either way.
  Patches(const Plan& plan, const data::ExtractConfig& ec, int threads, bool overlap)
      : plan_(plan), ec_(ec), threads_(threads), overlap_(overlap), scratch_(static_cast<size_t>(threads)) {
    for (size_t k = 0; k < plan.sections.size(); ++k)
      for (size_t i = 0; i < plan.sections[k].points.size(); ++i)
        refs_.push_back({static_cast<int32_t>(k), static_cast<int64_t>(i)});
    records_.resize(plan.sections.size());
    for (size_t k = 0; k < plan.sections.size(); ++k) {
      const SectionMap& s = plan.sections[k];
      records_[k].brain = s.brain, records_[k].name = s.section;
      records_[k].image_path = s.image_path, records_[k].um_per_px = s.um_per_px;
      records_[k].width = s.width, records_[k].height = s.height;
    }
  }
  int64_t size() const { return static_cast<int64_t>(refs_.size()); }

  // Patches [a, b) of the list: float32 [b − a, S, S, 1].
  Tensor extract(int64_t a, int64_t b) {
    const int S = ec_.patch_px;
    Tensor x = Tensor::empty({b - a, S, S, 1}, DType::f32);
    float* px = x.data<float>();
    std::vector<std::exception_ptr> errors(static_cast<size_t>(threads_));
    auto work = [&](int t) {  // patches a + t, a + t + threads, ...
      try {
        for (int64_t i = a + t; i < b; i += threads_) {
          const Ref& r = refs_[i];
          const MapPoint& p = plan_.sections[r.section].points[r.point];
          data::SampleRef sr;
          sr.x = static_cast<float>(p.p.x);
          sr.y = static_cast<float>(p.p.y);
          data::extract_patch(*plan_.images[r.section], records_[r.section], sr, data::no_augment(), ec_,
                              px + (i - a) * S * S, scratch_[t]);
        }
      } catch (...) {
        errors[t] = std::current_exception();
      }
    };
    if (overlap_) {
      std::vector<std::thread> pool;
      for (int t = 0; t < threads_; ++t) pool.emplace_back(work, t);
      for (std::thread& th : pool) th.join();
    } else {
#pragma omp parallel for schedule(static, 1) num_threads(threads_)
      for (int t = 0; t < threads_; ++t) work(t);
    }
    for (const std::exception_ptr& e : errors)
      if (e) std::rethrow_exception(e);
    return x;
  }

 private:
  struct Ref {
    int32_t section;
    int64_t point;
  };
  const Plan& plan_;
  const data::ExtractConfig ec_;
  const int threads_;
  const bool overlap_;
  std::vector<Ref> refs_;
  std::vector<data::Section> records_;
  std::vector<data::ExtractScratch> scratch_;  // kept: fresh buffers page-fault
};

// The network's class probabilities at every point, in the plan's order, and what they took.
struct Inference {
  std::vector<float> prob;  // [n, C] softmax of the class scores
  int64_t patches = 0;
  double seconds = 0, cpu_seconds = 0;
};

// Every patch through the network, batch by batch; progress lines unless --quiet.
Inference predict(const MapOptions& opt, eval::Predictor& net, const Plan& plan) {
  const config::Config& cfg = net.config();
  const int64_t C = net.num_classes();
  const int S = net.patch_px();
  const int threads = opt.threads > 0 ? opt.threads : data::default_loader_threads(1);
  const bool overlap = net.device() != Device::cpu;
  Patches patches(plan, {S, cfg.data.um_per_px, static_cast<float>(cfg.data.background)}, threads, overlap);
  const int64_t n = patches.size();
  say(opt, "mapping " + std::to_string(plan.sections.size()) + " section(s): " + std::to_string(n) + " patches of " +
               std::to_string(S) + " px at " + fmt_g(cfg.data.um_per_px) + " um/px, device " +
               device_name(net.device()) + ", " + std::to_string(threads) + " extraction threads");
  Inference inf;
  inf.patches = n;
  inf.prob.reserve(static_cast<size_t>(n * C));
  const auto t_inf = std::chrono::steady_clock::now();
  const double cpu0 = process_cpu_s();
  const bool tty = isatty(fileno(stdout));
  double last_report = 0;
  auto extract = [&patches](int64_t a, int64_t b) { return patches.extract(a, b); };
  std::future<Tensor> next;
  if (overlap && n > 0) next = std::async(std::launch::async, extract, 0, std::min(n, opt.batch));
  for (int64_t a = 0; a < n; a += opt.batch) {
    const int64_t b = std::min(n, a + opt.batch);
    Tensor x = overlap ? next.get() : extract(a, b);
    if (overlap && b < n) next = std::async(std::launch::async, extract, b, std::min(n, b + opt.batch));
    net.forward(x, nullptr, &inf.prob);
    const double el = seconds_since(t_inf);
    if (!opt.quiet && (b == n || el - last_report >= (tty ? 1.0 : 10.0))) {
      last_report = el;
      const double rate = static_cast<double>(b) / std::max(el, 1e-9);
      const double eta = static_cast<double>(n - b) / std::max(rate, 1e-9);
      std::printf("%scytocon-map: %lld/%lld patches (%.0f%%), %.1f patches/s, ETA %d:%02d%s",
                  tty ? "\r" : "", static_cast<long long>(b), static_cast<long long>(n), 100.0 * b / n, rate,
                  static_cast<int>(eta) / 60, static_cast<int>(eta) % 60, tty && b < n ? "" : "\n");
      std::fflush(stdout);
    }
  }
  inf.seconds = seconds_since(t_inf), inf.cpu_seconds = process_cpu_s() - cpu0;
  eval::softmax_rows(inf.prob, C);
  return inf;
}

// Each section's rows of `prob` and their argmax.
void assign_predictions(std::vector<SectionMap>& sections, const std::vector<float>& prob, int64_t C) {
  int64_t offset = 0;
  for (SectionMap& s : sections) {
    const int64_t m = static_cast<int64_t>(s.points.size());
    s.prob.assign(prob.begin() + offset * C, prob.begin() + (offset + m) * C);
    offset += m;
    s.raw = argmax(s.prob.data(), m, C);
  }
}

std::vector<const SectionMap*> pointers(const std::vector<SectionMap>& sections) {
  std::vector<const SectionMap*> all;
  for (const SectionMap& s : sections) all.push_back(&s);
  return all;
}

// s.pred from s.raw and s.prob: Viterbi along each centreline with `penalty`, or the argmax when
// penalty < 0 (--smooth none).
void decode(SectionMap& s, int64_t C, double spacing_mm, double penalty) {
  s.pred = s.raw;
  if (penalty < 0) return;
  for (const std::vector<int64_t>& line : points_by_line(s)) {
    std::vector<float> p;
    for (int64_t i : line) p.insert(p.end(), s.prob.begin() + i * C, s.prob.begin() + (i + 1) * C);
    const std::vector<int32_t> d = viterbi(p.data(), static_cast<int64_t>(line.size()), C, spacing_mm, penalty);
    for (size_t j = 0; j < line.size(); ++j) s.pred[line[j]] = d[j];
  }
}

// penalty_sweep.csv: the scores of each --sweep penalty, for choosing it (docs/map.md).
void write_penalty_sweep(const MapOptions& opt, std::vector<SectionMap>& sections, int64_t C, double spacing_mm) {
  std::string csv = "penalty,n,top1,f1_weighted,borders,border_mean_mm,border_median_mm,predicted_borders,"
                    "spurious_mean_mm,symmetric_mean_mm\n";
  for (double lam : opt.sweep) {
    for (SectionMap& s : sections) decode(s, C, spacing_mm, lam);
    const MapScores sc = score(pointers(sections), true, static_cast<int>(C));
    char row[200];
    std::snprintf(row, sizeof row, "%.6g,%lld,%.6f,%.6f,%zu,%.6f,%.6f,%zu,%.6f,%.6f\n", lam, static_cast<long long>(sc.n),
                  sc.top1, sc.f1_weighted, sc.border_mm.size(), sc.border_mean(), sc.border_median(),
                  sc.spurious_mm.size(), sc.spurious_mean(), sc.symmetric_mean());
    csv += row;
  }
  io::write_file_atomic(opt.out + "/penalty_sweep.csv", csv);
  say(opt, "penalty sweep: " + opt.out + "/penalty_sweep.csv");
}

// The run as map.json and report.md describe it (its total time is set when the maps are written).
MapRun describe_run(const MapOptions& opt, const eval::Predictor& net, const Plan& plan, const Sampling& at,
                    const Inference& inf) {
  MapRun run;
  run.model = opt.name.empty() ? eval::default_model_name(opt.checkpoint) : opt.name;
  run.checkpoint = opt.checkpoint;
  run.source = plan.source;
  run.names = plan.names;
  run.smooth = config::name(opt.smooth);
  run.penalty = opt.smooth == config::Smoothing::viterbi ? opt.penalty : 0;
  run.spacing_um = at.spacing_um;
  run.grid_um = at.grid_um;
  run.patch_px = net.patch_px();
  run.patch_um_per_px = net.config().data.um_per_px;
  run.device = device_name(net.device());
  run.patches = inf.patches;
  run.seconds_inference = inf.seconds;
  run.cpu_seconds_inference = inf.cpu_seconds;
  run.patches_per_s = inf.seconds > 0 ? static_cast<double>(inf.patches) / inf.seconds : 0;
  return run;
}

// Per section SECTION.geojson and SECTION.png (with its .svg).
void write_section_maps(const MapOptions& opt, const Plan& plan, const MapRun& run) {
  const bool viterbi = opt.smooth == config::Smoothing::viterbi;
  const std::string decoding = viterbi ? "Viterbi, penalty " + fmt_g(opt.penalty) : "no smoothing";
  for (size_t k = 0; k < plan.sections.size(); ++k) {
    const SectionMap& s = plan.sections[k];
    const std::string stem = opt.out + "/" + section_stem(s);
    const double footprint_px = run.patch_px * run.patch_um_per_px / s.um_per_px;
    io::write_file_atomic(stem + ".geojson", section_geojson(s, plan.names, footprint_px));
    const Thumbnail t = read_thumbnail(*plan.images[k], kThumbnailSide);
    const std::string title = (s.brain.empty() ? s.section : s.brain + " / " + s.section) + ": predicted areas (" +
                              run.model + ", " + decoding + ")";
    plot_section_map(stem + ".png", title, s, t, plan.names, run.grid_um / s.um_per_px);
  }
}

// The scores against the reference areas, raw and decoded, in one line (where there are any).
void say_scores(const MapOptions& opt, const std::vector<SectionMap>& sections, int64_t C) {
  const std::vector<const SectionMap*> all = pointers(sections);
  const MapScores raw = score(all, false, static_cast<int>(C)), dec = score(all, true, static_cast<int>(C));
  if (raw.n == 0) return;
  char line[320];
  std::snprintf(line, sizeof line,
                "reference points %lld: top-1 %.1f%% raw, %.1f%% decoded; weighted F1 %.1f%% raw, %.1f%% decoded; "
                "border error %.3f mm raw, %.3f mm decoded (mean of %zu); predicted borders %zu raw, %zu decoded",
                static_cast<long long>(raw.n), 100 * raw.top1, 100 * dec.top1, 100 * raw.f1_weighted,
                100 * dec.f1_weighted, raw.border_mean(), dec.border_mean(), raw.border_mm.size(),
                raw.spurious_mm.size(), dec.spurious_mm.size());
  say(opt, line);
}

}  // namespace

void run_map(const MapOptions& opt) {
  const auto t_start = std::chrono::steady_clock::now();
  check_options(opt);
  eval::Predictor net(opt.checkpoint, {opt.preset, opt.patch_um_per_px, 0, -1, {}}, opt.device);
  const Sampling at = sampling(opt, net.config());
  Plan plan = opt.data.empty() ? plan_image(opt, net, at) : plan_dataset(opt, net, at);
  claim_outputs(opt, plan);

  const Inference inf = predict(opt, net, plan);
  const int64_t C = net.num_classes();
  assign_predictions(plan.sections, inf.prob, C);
  const double spacing_mm = at.spacing_um / 1000.0;
  if (!opt.sweep.empty()) write_penalty_sweep(opt, plan.sections, C, spacing_mm);
  const double penalty = opt.smooth == config::Smoothing::viterbi ? opt.penalty : -1;  // -1: --smooth none
  for (SectionMap& s : plan.sections) decode(s, C, spacing_mm, penalty);

  MapRun run = describe_run(opt, net, plan, at, inf);
  write_section_maps(opt, plan, run);
  write_predictions_csv(opt.out + "/predictions.csv", plan.sections, plan.names);
  run.seconds_total = seconds_since(t_start);
  write_map_json(opt.out + "/map.json", run, plan.sections);
  io::write_file_atomic(opt.out + "/report.md", report_markdown(run, plan.sections));
  say_scores(opt, plan.sections, C);
  say(opt, "maps: " + opt.out + "/*.png, QuPath: " + opt.out + "/*.geojson; report: " + opt.out + "/report.md");
}

}  // namespace cytocon::map

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

// The section's sample points from its annotation (centrelines), or a grid over its tissue when
// it has none.
void add_points(SectionMap& s, const data::Annotations* a, const data::Image& img, const std::vector<std::string>& names,
                const MapOptions& opt, data::CentrelineSource source, double spacing_um, double grid_um) {
  if (a) {
    check(!a->centrelines.empty() || !a->polygons.empty(),
          s.annotation_path + ": no usable geometry (expected LineString centrelines or Polygon area outlines, "
                              "QuPath GeoJSON in full-resolution pixels)");
    const std::vector<data::Centreline> lines = data::select_centrelines(
        *a, source, s.um_per_px, {static_cast<double>(s.width), static_cast<double>(s.height)});
    check(!lines.empty(), s.annotation_path + ": no centrelines (--centrelines " +
                              data::centreline_source_name(source) + "); draw them, or use auto or derived");
    s.reference = a->polygons;
    const bool drawn = source != data::CentrelineSource::derived && !a->centrelines.empty();
    s.sampling = drawn ? "centrelines (drawn)" : "centrelines (derived from the outlines)";
    sample_centreline_points(s, lines, a->polygons, names, spacing_um);
    check(!s.points.empty(), s.annotation_path + ": no centreline point lies inside the image (" +
                                 std::to_string(s.width) + "x" + std::to_string(s.height) + " px)");
    return;
  }
  const Thumbnail t = read_thumbnail(img, kThumbnailSide);
  sample_grid_points(s, t, find_tissue(t, s.um_per_px, opt.min_tissue_mm2, s.image_path), grid_um);
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

}  // namespace

void run_map(const MapOptions& opt) {
  const auto t_start = std::chrono::steady_clock::now();
  check(opt.data.empty() != opt.image.empty(), "give either --data DIR or --image FILE");
  check(opt.split == "train" || opt.split == "test" || opt.split == "unseen" || opt.split == "all",
        "--split " + opt.split + ": expected train, test, unseen or all");
  check(opt.smooth == "viterbi" || opt.smooth == "none", "--smooth " + opt.smooth + ": expected viterbi or none");
  check(opt.penalty >= 0, "--penalty " + fmt_g(opt.penalty) + ": expected >= 0");
  for (double lam : opt.sweep) check(lam >= 0, "--sweep " + fmt_g(lam) + ": penalties must be >= 0");
  check(opt.batch >= 1, "--batch " + std::to_string(opt.batch) + ": expected >= 1");
  check(!opt.out.empty(), "give --out DIR");
  check(opt.image.empty() || (opt.annotation.empty() || fs::exists(opt.annotation)),
        opt.annotation + ": annotation file not found");
  auto say = [&](const std::string& s) {
    if (!opt.quiet) std::printf("cytocon-map: %s\n", s.c_str()), std::fflush(stdout);
  };

  eval::Predictor net(opt.checkpoint, {opt.preset, opt.patch_um_per_px, 0, -1, ""}, opt.device);
  const config::Config& cfg = net.config();
  const double spacing_um = opt.spacing_um > 0 ? opt.spacing_um : cfg.data.spacing_um;
  const double grid_um = opt.grid_um > 0 ? opt.grid_um : spacing_um;
  check(spacing_um > 0, "--spacing-um " + fmt_g(spacing_um) + ": expected > 0");
  const data::CentrelineSource lines_from =
      data::parse_centreline_source(opt.centrelines.empty() ? cfg.data.centrelines : opt.centrelines);

  // Sections, their images and sample points.
  std::vector<SectionMap> sections;
  std::vector<std::shared_ptr<data::Image>> images;
  std::vector<std::string> names;
  std::string source;
  if (!opt.data.empty()) {
    data::DatasetOptions dso;
    dso.spacing_um = spacing_um;
    dso.test_fraction = cfg.data.test_fraction;
    dso.centrelines = lines_from;
    dso.quiet = opt.quiet;
    auto ds = data::Dataset::open(opt.data, dso);
    names = ds->labels();
    // The model's areas, in order (docs/errors.md); failures here are one line, so no warning for
    // files that record none.
    net.check_classes(names, opt.data + "/labels.txt", /*warn=*/false);
    check(ds->num_classes() == net.num_classes(),
          opt.checkpoint + ": classifier has " + std::to_string(net.num_classes()) + " classes but " + opt.data +
              "/labels.txt lists " + std::to_string(ds->num_classes()) + " areas");
    source = opt.data + " (" + opt.split + ")";
    for (size_t k = 0; k < ds->sections().size(); ++k) {
      const data::Section& d = ds->sections()[k];
      if (opt.split != "all" && d.split != data::parse_split(opt.split)) continue;
      SectionMap s;
      s.brain = d.brain, s.section = d.name, s.image_path = d.image_path, s.annotation_path = d.annotation_path;
      s.um_per_px = d.um_per_px, s.width = d.width, s.height = d.height;
      const data::Annotations a = data::read_geojson(d.annotation_path);
      images.push_back(data::open_image(d.image_path));
      add_points(s, &a, *images.back(), names, opt, lines_from, spacing_um, grid_um);
      sections.push_back(std::move(s));
    }
    check(!sections.empty(), opt.data + ": no section in split " + opt.split);
  } else {
    // The area names: --labels, else the model's own record of them (docs/errors.md).
    if (!opt.labels.empty()) {
      names = read_labels_file(opt.labels);
      net.check_classes(names, opt.labels, /*warn=*/false);
    } else {
      names = net.trained_with().classes;
      check(!names.empty(), opt.checkpoint + " does not record the area names it was trained on (written before "
                            "2026-12-07): give --labels FILE (the training data's labels.txt) or map with --data DIR");
    }
    const std::string names_from = opt.labels.empty() ? opt.checkpoint + " (its area names)" : opt.labels;
    check(static_cast<int64_t>(names.size()) == net.num_classes(),
          opt.checkpoint + ": classifier has " + std::to_string(net.num_classes()) + " classes but " + names_from +
              " lists " + std::to_string(names.size()) + " areas");
    images.push_back(data::open_image(opt.image));
    const double um = opt.image_um_per_px > 0 ? opt.image_um_per_px : images[0]->um_per_px().value_or(0);
    check(um > 0, opt.image + ": no pixel size (no OME-XML PhysicalSizeX, Aperio MPP or TIFF resolution tags): "
                              "give --um-per-px (µm per full-resolution pixel)");
    SectionMap s;
    s.section = fs::path(opt.image).stem().string();
    s.image_path = opt.image, s.annotation_path = opt.annotation, s.um_per_px = um;
    s.width = images[0]->width(), s.height = images[0]->height();
    if (opt.annotation.empty()) {
      add_points(s, nullptr, *images[0], names, opt, lines_from, spacing_um, grid_um);
    } else {
      const data::Annotations a = data::read_geojson(opt.annotation);
      add_points(s, &a, *images[0], names, opt, lines_from, spacing_um, grid_um);
    }
    source = opt.image;
    sections.push_back(std::move(s));
  }

  // Nothing written is replaced by accident (docs/errors.md): refused before any work, and never
  // over one of this run's inputs.
  std::vector<std::string> inputs{opt.checkpoint, opt.labels, opt.image, opt.annotation};
  if (!opt.data.empty()) inputs.insert(inputs.end(), {opt.data + "/manifest.csv", opt.data + "/labels.txt"});
  for (const SectionMap& s : sections) inputs.insert(inputs.end(), {s.image_path, s.annotation_path});
  io::claim_output_dir(opt.out, map_outputs(sections, opt.out), opt.overwrite,
                       "choose another --out or give --overwrite to replace them", inputs);

  // One flat list of patches over all sections, in batches; the next batch is extracted while the
  // network runs on this one.
  struct Ref {
    int32_t section;
    int64_t point;
  };
  std::vector<Ref> refs;
  for (size_t k = 0; k < sections.size(); ++k)
    for (size_t i = 0; i < sections[k].points.size(); ++i) refs.push_back({static_cast<int32_t>(k), static_cast<int64_t>(i)});
  const int64_t n = static_cast<int64_t>(refs.size()), C = net.num_classes();
  const int S = net.patch_px();
  const data::ExtractConfig ec{S, cfg.data.um_per_px, static_cast<float>(cfg.data.background)};
  std::vector<data::Section> records(sections.size());
  for (size_t k = 0; k < sections.size(); ++k) {
    records[k].brain = sections[k].brain, records[k].name = sections[k].section;
    records[k].image_path = sections[k].image_path, records[k].um_per_px = sections[k].um_per_px;
    records[k].width = sections[k].width, records[k].height = sections[k].height;
  }
  const int threads = opt.threads > 0 ? opt.threads : data::default_loader_threads(1);
  // On a GPU the next batch is extracted by `threads` threads while the device runs this one. On
  // the CPU, extraction and the network share the cores: one after the other, both on the OpenMP
  // team, so that no idle OpenMP thread spins against the extraction threads (measured,
  // docs/map.md "Throughput"). The patches are the same bits either way.
  const bool overlap = net.device() != Device::cpu;
  std::vector<data::ExtractScratch> scratch(static_cast<size_t>(threads));  // kept: fresh buffers page-fault
  auto extract = [&](int64_t a, int64_t b) {
    Tensor x = Tensor::empty({b - a, S, S, 1}, DType::f32);
    float* px = x.data<float>();
    std::vector<std::exception_ptr> errors(static_cast<size_t>(threads));
    auto work = [&](int t) {  // patches a + t, a + t + threads, ...
      try {
        for (int64_t i = a + t; i < b; i += threads) {
          const Ref& r = refs[i];
          data::SampleRef sr;
          sr.x = static_cast<float>(sections[r.section].points[r.point].p.x);
          sr.y = static_cast<float>(sections[r.section].points[r.point].p.y);
          data::extract_patch(*images[r.section], records[r.section], sr, data::no_augment(), ec,
                              px + (i - a) * S * S, scratch[t]);
        }
      } catch (...) {
        errors[t] = std::current_exception();
      }
    };
    if (overlap) {
      std::vector<std::thread> pool;
      for (int t = 0; t < threads; ++t) pool.emplace_back(work, t);
      for (std::thread& th : pool) th.join();
    } else {
#pragma omp parallel for schedule(static, 1) num_threads(threads)
      for (int t = 0; t < threads; ++t) work(t);
    }
    for (const std::exception_ptr& e : errors)
      if (e) std::rethrow_exception(e);
    return x;
  };
  say("mapping " + std::to_string(sections.size()) + " section(s): " + std::to_string(n) + " patches of " +
      std::to_string(S) + " px at " + fmt_g(cfg.data.um_per_px) + " um/px, device " + device_name(net.device()) +
      ", " + std::to_string(threads) + " extraction threads");
  std::vector<float> prob;
  prob.reserve(static_cast<size_t>(n * C));
  const auto t_inf = std::chrono::steady_clock::now();
  const double cpu0 = process_cpu_s();
  const bool tty = isatty(fileno(stdout));
  double last_report = 0;
  std::future<Tensor> next;
  if (overlap && n > 0) next = std::async(std::launch::async, extract, 0, std::min(n, opt.batch));
  for (int64_t a = 0; a < n; a += opt.batch) {
    const int64_t b = std::min(n, a + opt.batch);
    Tensor x = overlap ? next.get() : extract(a, b);
    if (overlap && b < n) next = std::async(std::launch::async, extract, b, std::min(n, b + opt.batch));
    net.forward(x, nullptr, &prob);
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
  const double seconds_inference = seconds_since(t_inf), cpu_inference = process_cpu_s() - cpu0;
  eval::softmax_rows(prob, C);

  // Per section: raw argmax and the decoding along each centreline.
  const double spacing_mm = spacing_um / 1000.0;
  int64_t offset = 0;
  for (SectionMap& s : sections) {
    const int64_t m = static_cast<int64_t>(s.points.size());
    s.prob.assign(prob.begin() + offset * C, prob.begin() + (offset + m) * C);
    offset += m;
    s.raw = argmax(s.prob.data(), m, C);
  }
  std::vector<const SectionMap*> all;
  for (const SectionMap& s : sections) all.push_back(&s);
  if (!opt.sweep.empty()) {  // the scores of each penalty, for choosing it (docs/map.md)
    std::string csv = "penalty,n,top1,f1_weighted,borders,border_mean_mm,border_median_mm,predicted_borders,"
                      "spurious_mean_mm,symmetric_mean_mm\n";
    for (double lam : opt.sweep) {
      for (SectionMap& s : sections) decode(s, C, spacing_mm, lam);
      const MapScores sc = score(all, true, static_cast<int>(C));
      char row[200];
      std::snprintf(row, sizeof row, "%.6g,%lld,%.6f,%.6f,%zu,%.6f,%.6f,%zu,%.6f,%.6f\n", lam, static_cast<long long>(sc.n),
                    sc.top1, sc.f1_weighted, sc.border_mm.size(), sc.border_mean(), sc.border_median(),
                    sc.spurious_mm.size(), sc.spurious_mean(), sc.symmetric_mean());
      csv += row;
    }
    io::write_file_atomic(opt.out + "/penalty_sweep.csv", csv);
    say("penalty sweep: " + opt.out + "/penalty_sweep.csv");
  }
  for (SectionMap& s : sections) decode(s, C, spacing_mm, opt.smooth == "viterbi" ? opt.penalty : -1);

  // Outputs.
  MapRun run;
  run.model = opt.name.empty() ? eval::default_model_name(opt.checkpoint) : opt.name;
  run.checkpoint = opt.checkpoint;
  run.source = source;
  run.names = names;
  run.smooth = opt.smooth;
  run.penalty = opt.smooth == "viterbi" ? opt.penalty : 0;
  run.spacing_um = spacing_um;
  run.grid_um = grid_um;
  run.patch_px = S;
  run.patch_um_per_px = cfg.data.um_per_px;
  run.device = device_name(net.device());
  run.patches = n;
  run.seconds_inference = seconds_inference;
  run.cpu_seconds_inference = cpu_inference;
  run.patches_per_s = seconds_inference > 0 ? static_cast<double>(n) / seconds_inference : 0;
  const std::string decoding = opt.smooth == "viterbi" ? "Viterbi, penalty " + fmt_g(opt.penalty) : "no smoothing";
  for (size_t k = 0; k < sections.size(); ++k) {
    const SectionMap& s = sections[k];
    const std::string stem = opt.out + "/" + section_stem(s);
    const double footprint_px = S * cfg.data.um_per_px / s.um_per_px;
    io::write_file_atomic(stem + ".geojson", section_geojson(s, names, footprint_px));
    const Thumbnail t = read_thumbnail(*images[k], kThumbnailSide);
    const std::string title = (s.brain.empty() ? s.section : s.brain + " / " + s.section) + ": predicted areas (" +
                              run.model + ", " + decoding + ")";
    plot_section_map(stem + ".png", title, s, t, names, grid_um / s.um_per_px);
  }
  write_predictions_csv(opt.out + "/predictions.csv", sections, names);
  run.seconds_total = seconds_since(t_start);
  write_map_json(opt.out + "/map.json", run, sections);
  io::write_file_atomic(opt.out + "/report.md", report_markdown(run, sections));
  const MapScores raw = score(all, false, static_cast<int>(C)), dec = score(all, true, static_cast<int>(C));
  if (raw.n > 0) {
    char line[320];
    std::snprintf(line, sizeof line,
                  "reference points %lld: top-1 %.1f%% raw, %.1f%% decoded; weighted F1 %.1f%% raw, %.1f%% decoded; "
                  "border error %.3f mm raw, %.3f mm decoded (mean of %zu); predicted borders %zu raw, %zu decoded",
                  static_cast<long long>(raw.n), 100 * raw.top1, 100 * dec.top1, 100 * raw.f1_weighted,
                  100 * dec.f1_weighted, raw.border_mean(), dec.border_mean(), raw.border_mm.size(),
                  raw.spurious_mm.size(), dec.spurious_mm.size());
    say(line);
  }
  say("maps: " + opt.out + "/*.png, QuPath: " + opt.out + "/*.geojson; report: " + opt.out + "/report.md");
}

}  // namespace cytocon::map

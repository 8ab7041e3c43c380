#include "eval/pipeline.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <thread>

#include "data/dataset.h"
#include "data/loader.h"
#include "data/node_budget.h"
#include "engine/io/atomic_file.h"
#include "engine/io/output_dir.h"
#include "engine/io/safetensors.h"
#include "eval/clusters.h"
#include "eval/inference.h"
#include "eval/metrics.h"
#include "eval/report.h"
#include "eval/tsne.h"
#include "eval/ward.h"
#include "plot/plot.h"

namespace cytocon::eval {

namespace fs = std::filesystem;

namespace {

std::string fmt_g(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// A progress line on stdout (none with --quiet).
void say(const EvalOptions& opt, const std::string& s) {
  if (!opt.quiet) std::printf("cytocon-eval: %s\n", s.c_str()), std::fflush(stdout);
}

void check_options(const EvalOptions& opt) {
  check(opt.split != data::Split::train, "--split train: expected test (X_te) or unseen (X_un)");
  check(opt.batch >= 1, "--batch " + std::to_string(opt.batch) + ": expected >= 1");
  check(opt.clusters >= 1, "--clusters " + std::to_string(opt.clusters) + ": expected >= 1");
  check(!opt.out.empty(), "give --out DIR");
}

// The dataset, read with the run's settings; its areas must be the classifier's.
std::shared_ptr<const data::Dataset> open_dataset(const EvalOptions& opt, const Predictor& net) {
  const config::Config& cfg = net.config();
  data::DatasetOptions dso;
  dso.spacing_um = cfg.data.spacing_um;
  dso.centrelines = data::parse_centreline_source(config::name(cfg.data.centrelines));
  dso.test_fraction = cfg.data.test_fraction;
  dso.quiet = opt.quiet;
  auto ds = data::Dataset::open(opt.data, dso);
  net.check_classes(ds->labels(), opt.data + "/labels.txt");
  check(ds->num_classes() == net.num_classes(),
        opt.checkpoint + ": classifier has " + std::to_string(net.num_classes()) + " classes but " + opt.data +
            "/labels.txt lists " + std::to_string(ds->num_classes()) + " areas");
  return ds;
}

// Every point of the split once, in dataset order, without augmentation: its features h, class
// scores, label, point and brain ids, and its row of predictions.csv (predictions still empty).
struct Features {
  std::vector<float> h, scores, patches;  // patches: only with --dump-patches
  std::vector<int32_t> labels, points, brain_of;
  std::vector<PredictionRow> rows;
};

// Computes the features of the n points of `split` (info: the brains in first-appearance order
// and the time taken).
Features compute_features(const EvalOptions& opt, Predictor& net, const std::shared_ptr<const data::Dataset>& ds,
                          data::Split split, int64_t n, EvalInfo& info) {
  const config::Config& cfg = net.config();
  auto t0 = std::chrono::steady_clock::now();
  data::LoaderConfig lc;
  lc.split = split;
  lc.patch_px = static_cast<int>(cfg.data.patch_px);
  lc.um_per_px = cfg.data.um_per_px;
  lc.patches_per_area = 0;
  lc.batch_size = opt.batch;
  lc.augment = false;
  lc.drop_last = false;
  lc.background = static_cast<float>(cfg.data.background);
  lc.threads = opt.threads > 0 ? opt.threads : data::default_loader_threads(1);
  data::set_tile_cache_bytes(opt.tile_cache_gb > 0 ? static_cast<size_t>(opt.tile_cache_gb * double(size_t(1) << 30))
                                                   : data::default_tile_cache_bytes(1));
  data::Loader loader(ds, lc);
  const int64_t dim = net.feature_dim(), classes = net.num_classes();
  Features f;
  std::map<std::string, int32_t> brain_id;  // brain names in first-appearance order
  for (const data::Section& s : ds->sections())
    if (brain_id.emplace(s.brain, static_cast<int32_t>(brain_id.size())).second) info.brains.push_back(s.brain);
  f.h.reserve(n * dim);
  f.scores.reserve(n * classes);
  loader.start(0, 0);
  for (int64_t b = 0; b < loader.batches_per_epoch(); ++b) {
    data::Batch batch = loader.next();
    if (!opt.dump_patches.empty()) {
      std::vector<float> xv = batch.x.to_vector<float>();
      f.patches.insert(f.patches.end(), xv.begin(), xv.end());
    }
    net.forward(batch.x, &f.h, &f.scores);
    for (const data::SampleRef& r : batch.refs) {
      const data::Section& s = ds->sections()[r.section];
      f.rows.push_back({r.point, s.brain, s.name, r.x, r.y, r.label, {}, 0});
      f.labels.push_back(r.label);
      f.points.push_back(r.point);
      f.brain_of.push_back(brain_id.at(s.brain));
    }
  }
  check(static_cast<int64_t>(f.labels.size()) == n && static_cast<int64_t>(f.h.size()) == n * dim,
        "cytocon-eval: the loader returned " + std::to_string(f.labels.size()) + " patches, expected " + std::to_string(n));
  info.seconds_features = seconds_since(t0);
  return f;
}

// The numbers' files: predictions.csv, ward_linkage.csv, features.safetensors, the patches
// (--dump-patches) and clusters.md.
void write_numbers(const EvalOptions& opt, const config::Config& cfg, const EvalInfo& info, const Features& f,
                   int64_t n, int64_t dim, int64_t classes, const std::vector<Merge>& linkage,
                   const std::vector<ClusterComposition>& comp) {
  write_predictions_csv(opt.out + "/predictions.csv", f.rows, info.names);
  write_linkage_csv(opt.out + "/ward_linkage.csv", linkage);
  io::write_safetensors(opt.out + "/features.safetensors",
                        {{"h", Tensor::from_vector(f.h, {n, dim})},
                         {"logits", Tensor::from_vector(f.scores, {n, classes})},
                         {"labels", Tensor::from_vector(f.labels, {n})}},
                        {{"model", info.model}, {"split", info.split}, {"checkpoint", opt.checkpoint}});
  if (!opt.dump_patches.empty()) {
    const int64_t px = cfg.data.patch_px;
    io::write_safetensors(opt.dump_patches,
                          {{"x", Tensor::from_vector(f.patches, {n, px, px, 1})}, {"index", Tensor::from_vector(f.points, {n})}},
                          {{"split", info.split}, {"data", opt.data}, {"um_per_px", fmt_g(cfg.data.um_per_px)},
                           {"patch_px", std::to_string(px)}});
  }
  io::write_file_atomic(opt.out + "/clusters.md", "# Ward clusters of " + info.model + " features on " +
                                                      dataset_name(info.split) + " (paper Table 1)\n\n" +
                                                      composition_markdown(comp, info.names, info.brains));
}

// t-SNE of the features (tsne.csv), drawn coloured by Ward cluster and by area.
void write_tsne(const EvalOptions& opt, EvalInfo& info, const Features& f, int64_t n, int64_t dim,
                const std::vector<int32_t>& cluster) {
  auto t0 = std::chrono::steady_clock::now();
  TsneOptions to;
  to.iterations = opt.tsne_iterations;
  to.exaggeration_iters = std::min(250, opt.tsne_iterations);
  to.log_every = 0;
  TsneResult ts = tsne(f.h.data(), n, dim, to);
  info.seconds_tsne = seconds_since(t0);
  info.tsne_perplexity = ts.perplexity;
  info.tsne_iterations = opt.tsne_iterations;
  std::vector<std::string> cluster_names;
  for (int c = 1; c <= opt.clusters; ++c) cluster_names.push_back("cluster " + std::to_string(c));
  std::vector<int32_t> cluster0(n);
  for (int64_t i = 0; i < n; ++i) cluster0[i] = cluster[i] - 1;
  write_tsne_csv(opt.out + "/tsne.csv", f.rows, ts.y, info.names);
  plot::plot_scatter(opt.out + "/tsne.png", "t-SNE of " + info.model + " features on " + dataset_name(info.split) +
                                                ", coloured by Ward cluster", ts.y, cluster0, cluster_names);
  plot::plot_scatter(opt.out + "/tsne_areas.png", "t-SNE of " + info.model + " features on " +
                                                      dataset_name(info.split) + ", coloured by area", ts.y, f.labels,
                     info.names);
  char line[200];
  std::snprintf(line, sizeof line, "t-SNE: %d iterations in %.1f s", opt.tsne_iterations, info.seconds_tsne);
  say(opt, line);
}

}  // namespace

std::vector<std::string> evaluation_outputs() {
  return {"metrics.json", "predictions.csv",  "ward_linkage.csv", "features.safetensors", "clusters.md",
          "confusion.png", "confusion.svg",   "tsne.csv",         "tsne.png",             "tsne.svg",
          "tsne_areas.png", "tsne_areas.svg", "report.md"};
}

void run_evaluation(const EvalOptions& opt) {
  check_options(opt);
  // The run's settings: stored config, then command-line overrides.
  Predictor net(opt.checkpoint, {opt.preset, opt.um_per_px, opt.spacing_um, opt.test_fraction, opt.centrelines},
                opt.device);
  const config::Config& cfg = net.config();
  if (!net.has_stored_config())
    say(opt, "note: " + opt.checkpoint + " stores no training config; using preset " + config::name(cfg.model.preset) + ", " +
                 fmt_g(cfg.data.um_per_px) + " um/px, centreline spacing " + fmt_g(cfg.data.spacing_um) +
                 " um, test fraction " + fmt_g(cfg.data.test_fraction));
  const auto ds = open_dataset(opt, net);
  const std::string split = data::split_name(opt.split);
  const int64_t n = static_cast<int64_t>(ds->points_in(opt.split).size());
  check(n >= 2, opt.data + ": split " + split + " has " + std::to_string(n) +
                    " centreline points; need at least 2 to evaluate");
  check(opt.clusters <= n, "--clusters " + std::to_string(opt.clusters) + ": more clusters than the " +
                               std::to_string(n) + " centreline points of " + dataset_name(split));
  io::claim_output_dir(opt.out, evaluation_outputs(), opt.overwrite,
                       "choose another --out or give --overwrite to replace them");
  if (!opt.dump_patches.empty())
    io::claim_output_file(opt.dump_patches, opt.overwrite, "choose another --dump-patches file or give --overwrite");

  EvalInfo info;
  info.model = opt.name.empty() ? default_model_name(opt.checkpoint) : opt.name;
  info.checkpoint = opt.checkpoint;
  info.stage = net.stage();
  info.data = opt.data;
  info.split = split;
  info.names = ds->labels();
  info.clusters = opt.clusters;
  say(opt, "evaluating " + info.model + " on " + dataset_name(info.split) + ": " + std::to_string(n) +
               " patches of " + std::to_string(cfg.data.patch_px) + " px at " + fmt_g(cfg.data.um_per_px) +
               " um/px, device " + device_name(net.device()));
  Features f = compute_features(opt, net, ds, opt.split, n, info);
  const int64_t dim = net.feature_dim(), classes = net.num_classes();

  // Predictions: the top 3 areas of each point, and the metrics.
  const int k = static_cast<int>(std::min<int64_t>(3, classes));
  std::vector<int32_t> top = top_k(f.scores.data(), n, classes, k);
  Metrics m = compute_metrics(f.labels, top, k, static_cast<int>(classes));
  for (int64_t i = 0; i < n; ++i) f.rows[i].top.assign(top.begin() + i * k, top.begin() + (i + 1) * k);
  char line[200];
  std::snprintf(line, sizeof line, "%s: weighted F1 %.1f%%, top-1 %.1f%%, top-3 %.1f%% (n = %lld, %.1f s)",
                dataset_name(info.split).c_str(), 100 * m.f1_weighted, 100 * m.top1, 100 * m.top3,
                static_cast<long long>(n), info.seconds_features);
  say(opt, line);

  // Ward clusters of the features (paper Table 1).
  auto t0 = std::chrono::steady_clock::now();
  const std::vector<Merge> linkage = ward_linkage(f.h.data(), n, dim);
  std::vector<int32_t> cluster = cut_tree(linkage, n, opt.clusters);
  info.seconds_ward = seconds_since(t0);
  for (int64_t i = 0; i < n; ++i) f.rows[i].cluster = cluster[i];
  std::vector<ClusterComposition> comp = cluster_composition(cluster, f.labels, static_cast<int>(classes), 6,
                                                             f.brain_of, static_cast<int>(info.brains.size()));
  std::snprintf(line, sizeof line, "Ward: %d clusters of %lld features in %.1f s", opt.clusters,
                static_cast<long long>(n), info.seconds_ward);
  say(opt, line);

  // Files first (the numbers), then the figures.
  write_numbers(opt, cfg, info, f, n, dim, classes, linkage, comp);
  plot::plot_confusion(opt.out + "/confusion.png", "Confusion matrix: " + info.model + " on " + dataset_name(info.split),
                       m.confusion, info.names);
  if (opt.tsne_iterations > 0) write_tsne(opt, info, f, n, dim, cluster);
  write_metrics_json(opt.out + "/metrics.json", info, m);
  io::write_file_atomic(opt.out + "/report.md", report_markdown(info, m, comp));
  say(opt, "report: " + opt.out + "/report.md");
}

}  // namespace cytocon::eval

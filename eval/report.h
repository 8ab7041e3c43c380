// What cytocon-eval writes besides figures (docs/design.md "Interfaces"): metrics.json,
// predictions.csv, report.md, and the model × dataset table of the paper's Fig. 2 built from
// several evaluation directories (`cytocon-eval --compare OUT.md DIR...`).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "eval/clusters.h"
#include "eval/metrics.h"
#include "eval/ward.h"

namespace cytocon::eval {

// A CSV field as RFC 4180 quotes it (only when it holds a comma, quote or line break).
std::string csv_field(const std::string& s);
// A Markdown table cell: '|' escaped.
std::string md_cell(std::string s);

// "test" → "X_te", "unseen" → "X_un" (the paper's names); anything else unchanged.
std::string dataset_name(const std::string& split);

// One evaluation: what was evaluated and how.
struct EvalInfo {
  std::string model;       // display name (default: the checkpoint's run directory)
  std::string checkpoint;  // path
  std::string stage;       // training stage of the checkpoint ("linear", "ce", ...) if known
  std::string data;        // dataset directory
  std::string split;       // "test" | "unseen"
  std::vector<std::string> names;  // area names, by class id
  std::vector<std::string> brains; // brain names, by the brain ids of the cluster composition
  int clusters = 10;               // Ward k
  double tsne_perplexity = 0;      // as used (0: t-SNE not run)
  int tsne_iterations = 0;
  double seconds_features = 0, seconds_ward = 0, seconds_tsne = 0;
};

// metrics.json: {"split", "dataset", "model", "checkpoint", "stage", "n", "num_classes",
// "f1_weighted", "top1", "top3", "per_class": {"<area>": {"precision", "recall", "f1",
// "support", "predicted"}}, "clusters", "timings_s": {...}}; fractions in [0,1]. Atomic write.
void write_metrics_json(const std::string& path, const EvalInfo& info, const Metrics& m);

// The fields of a metrics.json the comparison needs; fails naming the file and field.
struct RunSummary {
  std::string model, split, dir;
  int64_t n = 0;
  double f1_weighted = 0, top1 = 0, top3 = 0;
};
RunSummary read_metrics_json(const std::string& path);

// The paper's Fig. 2 as a table: one row per model (first-appearance order), for X_te and X_un
// the weighted F1, top-1 and top-3 in percent ("–" where a model lacks that dataset).
std::string compare_markdown(const std::vector<RunSummary>& runs);

// predictions.csv: index,brain,section,x,y,true,pred,top3,cluster (x, y: the patch centre in
// full-resolution pixels; area names; top3 joined by '|'; fields with commas or quotes are quoted
// as RFC 4180 says). Atomic write.
struct PredictionRow {
  int64_t index;  // the point's index in the dataset (data::Dataset::points())
  std::string brain, section;
  double x, y;    // full-resolution pixels
  int32_t label;
  std::vector<int32_t> top;  // ranked classes, best first
  int32_t cluster;           // 1..k
};
void write_predictions_csv(const std::string& path, const std::vector<PredictionRow>& rows,
                           const std::vector<std::string>& names);

// tsne.csv: index,x,y,cluster,true — the t-SNE embedding (Fig. 3), one row per predictions.csv
// row (same index), the Ward cluster and the true area. Atomic write.
void write_tsne_csv(const std::string& path, const std::vector<PredictionRow>& rows, const std::vector<double>& y,
                    const std::vector<std::string>& names);
// ward_linkage.csv: a,b,height,size — SciPy's linkage matrix Z (ids < n are the rows of
// predictions.csv in order, id n+i the cluster of merge i), so scipy.cluster.hierarchy can redraw
// the dendrogram and fcluster(Z, k, 'maxclust') re-cuts Table 1. Atomic write.
void write_linkage_csv(const std::string& path, const std::vector<Merge>& merges);

// report.md for one evaluation: metrics, per-class table, confusion matrix, cluster composition,
// t-SNE figures, and how each number was computed.
std::string report_markdown(const EvalInfo& info, const Metrics& m,
                            const std::vector<ClusterComposition>& comp);

}  // namespace cytocon::eval

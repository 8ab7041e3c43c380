#include "eval/report.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "engine/io/atomic_file.h"
#include "engine/validate.h"
#include "engine/tensor.h"

namespace cytocon::eval {

namespace {

std::string pct(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", 100.0 * v);
  return buf;
}

std::string fixed3(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  return buf;
}

}  // namespace

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

std::string md_cell(std::string s) {
  for (size_t p = 0; (p = s.find('|', p)) != std::string::npos; p += 2) s.replace(p, 1, "\\|");
  return s;
}

std::string dataset_name(const std::string& split) {
  if (split == "test") return "X_te";
  if (split == "unseen") return "X_un";
  return split;
}

void write_metrics_json(const std::string& path, const EvalInfo& info, const Metrics& m) {
  nlohmann::ordered_json j;
  j["split"] = info.split;
  j["dataset"] = dataset_name(info.split);
  j["model"] = info.model;
  j["checkpoint"] = info.checkpoint;
  j["stage"] = info.stage;
  j["data"] = info.data;
  j["n"] = m.n;
  j["num_classes"] = m.per_class.size();
  j["f1_weighted"] = m.f1_weighted;
  j["top1"] = m.top1;
  j["top3"] = m.top3;
  nlohmann::ordered_json pc = nlohmann::ordered_json::object();
  for (size_t c = 0; c < m.per_class.size(); ++c) {
    const ClassMetrics& cm = m.per_class[c];
    const std::string name = c < info.names.size() ? info.names[c] : std::to_string(c);
    pc[name] = {{"precision", cm.precision}, {"recall", cm.recall}, {"f1", cm.f1},
                {"support", cm.support}, {"predicted", cm.predicted}};
  }
  j["per_class"] = pc;
  j["clusters"] = info.clusters;
  j["tsne"] = {{"perplexity", info.tsne_perplexity}, {"iterations", info.tsne_iterations}};
  j["timings_s"] = {{"features", info.seconds_features}, {"ward", info.seconds_ward}, {"tsne", info.seconds_tsne}};
  io::write_file_atomic(path, j.dump(2) + "\n");
}

RunSummary read_metrics_json(const std::string& path) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(io::read_file(path));
  } catch (const nlohmann::json::exception& e) {
    fail(path + ": not valid JSON (" + e.what() + ")");
  }
  RunSummary r;
  r.dir = std::filesystem::path(path).parent_path().string();
  auto need = [&](const char* key) -> const nlohmann::json& {
    if (!j.contains(key)) fail(path + ": missing field '" + key + "' (expected a cytocon-eval metrics.json)");
    return j[key];
  };
  auto field = [&](const char* key, auto& out) {
    try {
      out = need(key).get<std::decay_t<decltype(out)>>();
    } catch (const nlohmann::json::exception& e) {
      fail(path + ": field '" + key + "' is wrongly typed (" + e.what() + ")");
    }
  };
  field("model", r.model);
  field("split", r.split);
  field("n", r.n);
  field("f1_weighted", r.f1_weighted);
  field("top1", r.top1);
  field("top3", r.top3);
  checked_integer(r.n, 0, INT64_MAX, path + ": n");
  for (auto [key, v] : {std::pair<const char*, double>{"f1_weighted", r.f1_weighted}, {"top1", r.top1}, {"top3", r.top3}})
    checked_number(v, Range{0, 1}, path + ": " + key, "a fraction");
  if (r.split != "test" && r.split != "unseen") fail(path + ": split '" + r.split + "': expected test or unseen");
  return r;
}

std::string compare_markdown(const std::vector<RunSummary>& runs) {
  std::vector<std::string> models;
  std::map<std::pair<std::string, std::string>, const RunSummary*> cell;
  for (const RunSummary& r : runs) {
    if (std::find(models.begin(), models.end(), r.model) == models.end()) models.push_back(r.model);
    auto key = std::make_pair(r.model, r.split);
    auto seen = cell.find(key);
    if (seen != cell.end())
      fail("--compare: two evaluations of model '" + r.model + "' on " + dataset_name(r.split) + " (" +
           seen->second->dir + ", " + r.dir + "): give each model a distinct --name");
    cell[key] = &r;
  }
  std::string md =
      "| Model | X_te F1 | X_te top-1 | X_te top-3 | X_un F1 | X_un top-1 | X_un top-3 |\n"
      "|---|---:|---:|---:|---:|---:|---:|\n";
  for (const std::string& model : models) {
    md += "| " + md_cell(model);
    for (const char* split : {"test", "unseen"}) {
      auto it = cell.find({model, split});
      if (it == cell.end()) {
        md += " | – | – | –";
        continue;
      }
      md += " | " + pct(it->second->f1_weighted) + " | " + pct(it->second->top1) + " | " + pct(it->second->top3);
    }
    md += " |\n";
  }
  md += "\nValues in percent: weighted F1 (scikit-learn `average='weighted'`), top-1 and top-3 accuracy.\n"
        "Sources:";
  for (const RunSummary& r : runs)
    md += " `" + r.dir + "` (" + r.model + ", " + dataset_name(r.split) + ", n=" + std::to_string(r.n) + ");";
  md.back() = '\n';
  return md;
}

void write_predictions_csv(const std::string& path, const std::vector<PredictionRow>& rows,
                           const std::vector<std::string>& names) {
  auto name = [&](int32_t c) { return c >= 0 && c < static_cast<int32_t>(names.size()) ? names[c] : std::to_string(c); };
  std::string out = "index,brain,section,x,y,true,pred,top3,cluster\n";
  for (const PredictionRow& r : rows) {
    check(!r.top.empty(), "write_predictions_csv: row " + std::to_string(r.index) + " has no prediction");
    std::string top3;
    for (size_t j = 0; j < r.top.size() && j < 3; ++j) top3 += (j ? "|" : "") + name(r.top[j]);
    char xy[64];
    std::snprintf(xy, sizeof xy, "%.2f,%.2f", r.x, r.y);
    out += std::to_string(r.index) + "," + csv_field(r.brain) + "," + csv_field(r.section) + "," + xy + "," +
           csv_field(name(r.label)) + "," + csv_field(name(r.top[0])) + "," + csv_field(top3) + "," +
           std::to_string(r.cluster) + "\n";
  }
  io::write_file_atomic(path, out);
}

void write_tsne_csv(const std::string& path, const std::vector<PredictionRow>& rows, const std::vector<double>& y,
                    const std::vector<std::string>& names) {
  check(y.size() == 2 * rows.size(), "write_tsne_csv: " + std::to_string(y.size() / 2) + " embedded points for " +
                                         std::to_string(rows.size()) + " rows");
  std::string out = "index,x,y,cluster,true\n";
  for (size_t i = 0; i < rows.size(); ++i) {
    char buf[96];
    std::snprintf(buf, sizeof buf, ",%.9g,%.9g,%d,", y[2 * i], y[2 * i + 1], rows[i].cluster);
    const int32_t t = rows[i].label;
    out += std::to_string(rows[i].index) + buf +
           csv_field(t >= 0 && t < static_cast<int32_t>(names.size()) ? names[t] : std::to_string(t)) + "\n";
  }
  io::write_file_atomic(path, out);
}

void write_linkage_csv(const std::string& path, const std::vector<Merge>& merges) {
  std::string out = "a,b,height,size\n";
  for (const Merge& m : merges) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "%lld,%lld,%.17g,%lld\n", static_cast<long long>(m.a), static_cast<long long>(m.b),
                  m.height, static_cast<long long>(m.size));
    out += buf;
  }
  io::write_file_atomic(path, out);
}

std::string report_markdown(const EvalInfo& info, const Metrics& m,
                            const std::vector<ClusterComposition>& comp) {
  const std::string ds = dataset_name(info.split);
  std::string md = "# cytocon-eval: " + md_cell(info.model) + " on " + ds + "\n\n";
  md += "- checkpoint: `" + info.checkpoint + "`" + (info.stage.empty() ? "" : " (stage " + info.stage + ")") + "\n";
  md += "- data: `" + info.data + "`, split `" + info.split + "` (" + ds + "), n = " + std::to_string(m.n) +
        " patches, " + std::to_string(m.per_class.size()) + " areas\n\n";
  md += "## Classification\n\n| Dataset | n | weighted F1 | top-1 | top-3 |\n|---|---:|---:|---:|---:|\n";
  md += "| " + ds + " | " + std::to_string(m.n) + " | " + pct(m.f1_weighted) + "% | " + pct(m.top1) + "% | " +
        pct(m.top3) + "% |\n\n";
  md += "Weighted F1 is scikit-learn's `f1_score(average='weighted')`: per-area F1 weighted by the "
        "area's number of true patches (areas absent from " + ds + " weigh 0; zero division gives 0). "
        "Top-k ranks the classifier's scores; equal scores rank the lower class id first.\n\n";
  md += "### Per area\n\n| Area | Support | Predicted | Precision | Recall | F1 |\n|---|---:|---:|---:|---:|---:|\n";
  for (size_t c = 0; c < m.per_class.size(); ++c) {
    const ClassMetrics& cm = m.per_class[c];
    if (cm.support == 0 && cm.predicted == 0) continue;
    md += "| " + md_cell(c < info.names.size() ? info.names[c] : std::to_string(c)) + " | " +
          std::to_string(cm.support) + " | " + std::to_string(cm.predicted) + " | " + fixed3(cm.precision) +
          " | " + fixed3(cm.recall) + " | " + fixed3(cm.f1) + " |\n";
  }
  md += "\nAreas with neither true nor predicted patches are left out.\n\n";
  md += "### Confusion matrix\n\n![confusion matrix](confusion.png)\n\n";
  md += "## Clusters of the encoder features (paper Table 1)\n\n";
  md += "Ward hierarchical clustering (exact, nearest-neighbour chain) of the features h into " +
        std::to_string(info.clusters) + " clusters; clusters are numbered by size, largest first.\n\n";
  md += composition_markdown(comp, info.names, info.brains) + "\n";
  if (info.tsne_iterations > 0) {
    char buf[160];
    std::snprintf(buf, sizeof buf,
                  "## t-SNE of the features (paper Fig. 3)\n\nBarnes-Hut t-SNE, perplexity %.1f, %d "
                  "iterations, θ = 0.5, PCA initialisation.\n\n",
                  info.tsne_perplexity, info.tsne_iterations);
    md += buf;
    md += "| coloured by cluster | coloured by area |\n|---|---|\n| ![t-SNE by cluster](tsne.png) | "
          "![t-SNE by area](tsne_areas.png) |\n\n";
  }
  char t[200];
  std::snprintf(t, sizeof t, "Timings: features %.1f s, Ward %.1f s, t-SNE %.1f s.\n", info.seconds_features,
                info.seconds_ward, info.seconds_tsne);
  md += t;
  md += "\nFiles: `metrics.json`, `predictions.csv`, `features.safetensors` (h [n,128], labels [n]), "
        "`clusters.md`, `tsne.csv` (the t-SNE coordinates), `ward_linkage.csv` (SciPy's linkage matrix).\n";
  return md;
}

}  // namespace cytocon::eval

#include "map/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "engine/io/atomic_file.h"
#include "engine/tensor.h"
#include "eval/metrics.h"
#include "eval/report.h"
#include "map/sequence.h"

namespace cytocon::map {

using json = nlohmann::ordered_json;


namespace {
double mean_of(const std::vector<double>& v) {
  double s = 0;
  for (double e : v) s += e;
  return v.empty() ? 0 : s / static_cast<double>(v.size());
}
}  // namespace

double MapScores::border_mean() const { return mean_of(border_mm); }

double MapScores::spurious_mean() const { return mean_of(spurious_mm); }

double MapScores::symmetric_mean() const {
  std::vector<double> both = border_mm;
  both.insert(both.end(), spurious_mm.begin(), spurious_mm.end());
  return mean_of(both);
}

double MapScores::border_median() const {
  if (border_mm.empty()) return 0;
  std::vector<double> v = border_mm;
  std::sort(v.begin(), v.end());
  const size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

MapScores score(const std::vector<const SectionMap*>& sections, bool smoothed, int num_classes) {
  MapScores sc;
  std::vector<int32_t> y, top;
  for (const SectionMap* s : sections) {
    const std::vector<int32_t>& pred = smoothed ? s->pred : s->raw;
    for (size_t i = 0; i < s->points.size(); ++i)
      if (s->points[i].truth >= 0) y.push_back(s->points[i].truth), top.push_back(pred[i]);
    for (const std::vector<int64_t>& line : points_by_line(*s)) {
      std::vector<double> pos;
      std::vector<int32_t> t, p;
      for (int64_t i : line) pos.push_back(s->points[i].pos_mm), t.push_back(s->points[i].truth), p.push_back(pred[i]);
      for (double e : border_errors(pos, t, p)) sc.border_mm.push_back(e);
      for (double e : spurious_border_errors(pos, t, p)) sc.spurious_mm.push_back(e);
    }
  }
  sc.n = static_cast<int64_t>(y.size());
  if (sc.n > 0) {
    const eval::Metrics m = eval::compute_metrics(y, top, 1, num_classes);
    sc.top1 = m.top1;
    sc.f1_weighted = m.f1_weighted;
  }
  return sc;
}

std::string section_stem(const SectionMap& s) {
  std::string stem = s.brain.empty() ? s.section : s.brain + "_" + s.section;
  for (char& c : stem)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_')) c = '_';
  return stem;
}

std::vector<std::string> map_outputs(const std::vector<SectionMap>& sections, const std::string& out) {
  std::vector<std::string> names{"map.json", "predictions.csv", "report.md", "penalty_sweep.csv"};
  std::map<std::string, const SectionMap*> stems;
  for (const SectionMap& s : sections) {
    const std::string stem = section_stem(s);
    const auto [it, fresh] = stems.emplace(stem, &s);
    check(fresh, "sections " + it->second->image_path + " and " + s.image_path + " would both be written as " + out +
                     "/" + stem + ".*: their brain and section names differ only in characters outside "
                     "[A-Za-z0-9._-]: rename one of them");
    for (const char* ext : {".geojson", ".png", ".svg"}) names.push_back(stem + ext);
  }
  // An earlier run's section files, as its map.json names them (plain names in `out` only).
  std::error_code ec;
  if (!std::filesystem::is_regular_file(out + "/map.json", ec)) return names;
  const json j = json::parse(io::read_file(out + "/map.json"), nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("sections") || !j["sections"].is_array()) return names;
  auto plain = [](const json& s, const char* key, const std::string& ext) {
    if (!s.is_object() || !s.contains(key) || !s[key].is_string()) return std::string();
    const std::string n = s[key].get<std::string>();
    const bool ok = n.size() > ext.size() && n.find('/') == std::string::npos &&
                    n.compare(n.size() - ext.size(), ext.size(), ext) == 0;
    return ok ? n.substr(0, n.size() - ext.size()) : std::string();
  };
  for (const json& s : j["sections"]) {
    if (const std::string g = plain(s, "geojson", ".geojson"); !g.empty()) names.push_back(g + ".geojson");
    if (const std::string p = plain(s, "png", ".png"); !p.empty()) names.push_back(p + ".png"), names.push_back(p + ".svg");
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

namespace {

std::string num(double v, const char* f = "%.6g") {
  char buf[40];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

json scores_json(const MapScores& s) {
  json j{{"n", s.n}};
  if (s.n == 0) return j;
  j["top1"] = s.top1;
  j["f1_weighted"] = s.f1_weighted;
  j["borders"] = s.border_mm.size();
  if (!s.border_mm.empty()) j["border_error_mm"] = {{"mean", s.border_mean()}, {"median", s.border_median()}};
  j["predicted_borders"] = s.spurious_mm.size();
  if (!s.spurious_mm.empty()) j["spurious_border_mm"] = {{"mean", s.spurious_mean()}};
  if (!s.border_mm.empty() || !s.spurious_mm.empty()) j["symmetric_border_mm"] = s.symmetric_mean();
  return j;
}

std::string scores_row(const std::string& what, const MapScores& raw, const MapScores& dec) {
  auto pct = [](double v) { return num(100 * v, "%.1f%%"); };
  auto mm = [](const MapScores& s) {
    return s.border_mm.empty() ? std::string("–") : num(s.border_mean(), "%.3f") + " / " + num(s.border_median(), "%.3f");
  };
  auto sym = [](const MapScores& s) { return std::to_string(s.spurious_mm.size()) + " / " + num(s.symmetric_mean(), "%.3f"); };
  if (raw.n == 0) return "| " + what + " | 0 | – | – | – | – | – | – | – | – | – |\n";
  return "| " + what + " | " + std::to_string(raw.n) + " | " + pct(raw.top1) + " | " + pct(dec.top1) + " | " +
         pct(raw.f1_weighted) + " | " + pct(dec.f1_weighted) + " | " + std::to_string(raw.border_mm.size()) + " | " +
         mm(raw) + " | " + mm(dec) + " | " + sym(raw) + " | " + sym(dec) + " |\n";
}

}  // namespace

void write_predictions_csv(const std::string& path, const std::vector<SectionMap>& sections,
                           const std::vector<std::string>& names) {
  const int64_t C = static_cast<int64_t>(names.size());
  std::string out = "brain,section,x,y,centreline,position_mm,true,pred,argmax,top3";
  for (const std::string& n : names) out += "," + eval::csv_field("p:" + n);
  out += "\n";
  for (const SectionMap& s : sections) {
    const std::vector<int32_t> top = eval::top_k(s.prob.data(), static_cast<int64_t>(s.points.size()), C,
                                                 static_cast<int>(std::min<int64_t>(3, C)));
    const size_t k = std::min<size_t>(3, static_cast<size_t>(C));
    for (size_t i = 0; i < s.points.size(); ++i) {
      const MapPoint& m = s.points[i];
      std::string top3;
      for (size_t j = 0; j < k; ++j) top3 += (j ? "|" : "") + names[top[i * k + j]];
      out += eval::csv_field(s.brain) + "," + eval::csv_field(s.section) + "," + num(m.p.x, "%.2f") + "," +
             num(m.p.y, "%.2f") + "," + (m.line >= 0 ? std::to_string(m.line + 1) : "") + "," +
             (m.line >= 0 ? num(m.pos_mm, "%.4f") : "") + "," + (m.truth >= 0 ? eval::csv_field(names[m.truth]) : "") +
             "," + eval::csv_field(names[s.pred[i]]) + "," + eval::csv_field(names[s.raw[i]]) + "," +
             eval::csv_field(top3);
      for (int64_t c = 0; c < C; ++c) out += "," + num(s.prob[i * C + c]);
      out += "\n";
    }
  }
  io::write_file_atomic(path, out);
}

void write_map_json(const std::string& path, const MapRun& run, const std::vector<SectionMap>& sections) {
  const int C = static_cast<int>(run.names.size());
  json secs = json::array();
  std::vector<const SectionMap*> all;
  for (const SectionMap& s : sections) {
    all.push_back(&s);
    const std::string stem = section_stem(s);
    secs.push_back(json{{"brain", s.brain}, {"section", s.section}, {"image", s.image_path},
                        {"annotation", s.annotation_path}, {"um_per_px", s.um_per_px}, {"sampling", s.sampling},
                        {"points", s.points.size()}, {"centrelines", s.lines},
                        {"geojson", stem + ".geojson"}, {"png", stem + ".png"},
                        {"raw", scores_json(score({&s}, false, C))},
                        {"smoothed", scores_json(score({&s}, true, C))}});
  }
  json j{{"model", run.model}, {"checkpoint", run.checkpoint}, {"source", run.source}, {"areas", run.names},
         {"smooth", {{"method", run.smooth}, {"penalty", run.penalty}}},
         {"spacing_um", run.spacing_um}, {"grid_um", run.grid_um}, {"patch_px", run.patch_px},
         {"patch_um_per_px", run.patch_um_per_px}, {"device", run.device},
         {"overall", {{"raw", scores_json(score(all, false, C))}, {"smoothed", scores_json(score(all, true, C))}}},
         {"sections", secs},
         {"timings_s", {{"total", run.seconds_total}, {"inference", run.seconds_inference},
                        {"inference_cpu", run.cpu_seconds_inference}}},
         {"patches", run.patches}, {"patches_per_s", run.patches_per_s}};
  io::write_file_atomic(path, j.dump(2) + "\n");
}

std::string report_markdown(const MapRun& run, const std::vector<SectionMap>& sections) {
  const int C = static_cast<int>(run.names.size());
  std::string md = "# cytocon-map: " + eval::md_cell(run.model) + " on " + eval::md_cell(run.source) + "\n\n";
  md += "- checkpoint: `" + run.checkpoint + "`\n";
  md += "- sample points every " + num(run.spacing_um) + " µm along the centrelines" +
        (run.grid_um > 0 ? " (grid " + num(run.grid_um) + " µm over the tissue where a section has no annotation)" : "") +
        "; patches of " + std::to_string(run.patch_px) + " px at " + num(run.patch_um_per_px) + " µm/px\n";
  md += "- decoding: " + (run.smooth == "viterbi" ? "Viterbi along each centreline, penalty λ = " + num(run.penalty) +
                                                        " nats·mm per area switch"
                                                  : std::string("none (per-patch argmax)")) + "\n";
  md += "- " + std::to_string(run.patches) + " patches in " + num(run.seconds_inference, "%.1f") + " s (" +
        num(run.patches_per_s, "%.1f") + " patches/s, extraction included), device " + run.device + "; total " +
        num(run.seconds_total, "%.1f") + " s\n\n";
  md += "## Scores where a reference exists\n\n"
        "Top-1 and weighted F1 over the points with a reference area; border error = mm along the "
        "centreline from each reference border to the nearest predicted border (mean / median; the "
        "line's ends count as predicted borders); *predicted borders / symmetric*: how many borders were "
        "predicted and the mean distance (mm) over both directions (reference to nearest predicted border, "
        "predicted to nearest reference border or line end). *raw*: per-patch argmax, *decoded*: after "
        "smoothing.\n\n"
        "| Section | n | top-1 raw | top-1 decoded | F1 raw | F1 decoded | borders | border error raw (mm) | "
        "border error decoded (mm) | predicted borders / symmetric raw | predicted borders / symmetric decoded |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  std::vector<const SectionMap*> all;
  for (const SectionMap& s : sections) {
    all.push_back(&s);
    md += scores_row(eval::md_cell(s.brain + " / " + s.section), score({&s}, false, C), score({&s}, true, C));
  }
  md += scores_row("**all**", score(all, false, C), score(all, true, C));
  md += "\n## Maps\n\n";
  for (const SectionMap& s : sections) {
    const std::string stem = section_stem(s);
    md += "### " + s.brain + " / " + s.section + "\n\n" + std::to_string(s.points.size()) + " points (" + s.sampling +
          "). QuPath: `" + stem + ".geojson` (File › Import objects).\n\n![" + stem + "](" + stem + ".png)\n\n";
  }
  return md;
}

}  // namespace cytocon::map

#include "models/provenance.h"

#include <cstdio>
#include <nlohmann/json.hpp>

#include "engine/validate.h"

namespace cytocon::models {

namespace {

std::string list(const std::vector<std::string>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + v[i];
  return s + "]";
}

}  // namespace

io::Metadata trained_with_metadata(const TrainedWith& t) {
  io::Metadata m;
  if (!t.classes.empty()) m["classes"] = nlohmann::json(t.classes).dump();
  if (!t.preset.empty()) m["preset"] = t.preset;
  if (t.um_per_px > 0) m["um_per_px"] = number_text(t.um_per_px);
  if (t.patch_px > 0) m["patch_px"] = std::to_string(t.patch_px);
  if (!t.dataset.empty()) m["dataset"] = t.dataset;
  return m;
}

TrainedWith read_trained_with(const io::Metadata& meta, const std::string& origin) {
  TrainedWith t;
  auto get = [&](const char* key) -> const std::string* {
    auto it = meta.find(key);
    return it == meta.end() ? nullptr : &it->second;
  };
  auto bad = [&](const char* key, const std::string& v, const char* expected) {
    fail(origin + ": metadata '" + key + "' = '" + v + "': expected " + expected);
  };
  if (const std::string* v = get("classes")) {
    nlohmann::json j = nlohmann::json::parse(*v, nullptr, false);
    if (!j.is_array() || j.empty()) bad("classes", *v, "a JSON array of area names");
    for (const auto& c : j) {
      if (!c.is_string()) bad("classes", *v, "a JSON array of area names");
      t.classes.push_back(c.get<std::string>());
    }
  }
  if (const std::string* v = get("preset")) t.preset = *v;
  if (const std::string* v = get("um_per_px")) {
    char* end = nullptr;
    t.um_per_px = std::strtod(v->c_str(), &end);
    if (end == v->c_str() || *end || !Range{0, 100, true}.contains(t.um_per_px))
      bad("um_per_px", *v, "a number in (0, 100]");
  }
  if (const std::string* v = get("patch_px")) {
    char* end = nullptr;
    t.patch_px = std::strtoll(v->c_str(), &end, 10);
    if (end == v->c_str() || *end || t.patch_px < 1 || t.patch_px > 8192) bad("patch_px", *v, "an integer in [1, 8192]");
  }
  if (const std::string* v = get("dataset")) t.dataset = *v;
  return t;
}

void check_trained_with(const TrainedWith& model, const TrainedWith& given, const std::string& model_file,
                        const std::string& given_source, bool warn) {
  std::string diff;
  auto add = [&](const std::string& s) { diff += (diff.empty() ? "" : "; ") + s; };
  if (!model.preset.empty() && !given.preset.empty() && model.preset != given.preset)
    add("the model is preset " + model.preset + ", " + given_source + " asks for " + given.preset);
  if (model.um_per_px > 0 && given.um_per_px > 0 && model.um_per_px != given.um_per_px)
    add("the model was trained on patches at " + number_text(model.um_per_px) + " um/px, " + given_source +
        " gives " + number_text(given.um_per_px));
  if (model.patch_px > 0 && given.patch_px > 0 && model.patch_px != given.patch_px)
    add("the model was trained on " + std::to_string(model.patch_px) + " px patches, " + given_source + " gives " +
        std::to_string(given.patch_px));
  if (!model.classes.empty() && !given.classes.empty() && model.classes != given.classes) {
    std::string s = "the model was trained on " + std::to_string(model.classes.size()) + " areas " +
                    list(model.classes) + (model.dataset.empty() ? "" : " (" + model.dataset + ")") + " but " +
                    given_source + " lists " + std::to_string(given.classes.size()) + " " + list(given.classes);
    for (size_t i = 0; i < std::min(model.classes.size(), given.classes.size()); ++i)
      if (model.classes[i] != given.classes[i]) {
        s += ": class " + std::to_string(i) + " is area '" + model.classes[i] + "' in the model, '" + given.classes[i] +
             "' here";
        break;
      }
    add(s);
  }
  if (!diff.empty()) fail(model_file + " does not match: " + diff);
  if (warn && model.classes.empty() && !given.classes.empty())
    std::fprintf(stderr,
                 "cytocon: warning: %s does not record the area names it was trained on (written before "
                 "2026-12-07): only their number is checked against %s\n",
                 model_file.c_str(), given_source.c_str());
}

}  // namespace cytocon::models

#include "eval/clusters.h"

#include <algorithm>
#include <cstdio>

#include "engine/tensor.h"

namespace cytocon::eval {

std::vector<ClusterComposition> cluster_composition(const std::vector<int32_t>& cluster,
                                                    const std::vector<int32_t>& label,
                                                    int num_classes, int top,
                                                    const std::vector<int32_t>& brain, int num_brains) {
  check(cluster.size() == label.size(), "cluster_composition: " + std::to_string(cluster.size()) +
                                            " cluster ids for " + std::to_string(label.size()) + " labels");
  int32_t k = 0;
  for (int32_t c : cluster) {
    check(c >= 1, "cluster_composition: cluster id " + std::to_string(c) + " (expected 1..k)");
    k = std::max(k, c);
  }
  std::vector<int64_t> counts(static_cast<size_t>(k) * num_classes, 0);
  for (size_t i = 0; i < cluster.size(); ++i) {
    check(label[i] >= 0 && label[i] < num_classes, "cluster_composition: label " + std::to_string(label[i]) +
                                                       " outside [0, " + std::to_string(num_classes) + ")");
    ++counts[static_cast<size_t>(cluster[i] - 1) * num_classes + label[i]];
  }
  check(brain.empty() || brain.size() == label.size(), "cluster_composition: " + std::to_string(brain.size()) +
                                                           " brain ids for " + std::to_string(label.size()) + " labels");
  std::vector<int64_t> per_brain(static_cast<size_t>(k) * std::max(num_brains, 0), 0);
  for (size_t i = 0; i < brain.size(); ++i) {
    check(brain[i] >= 0 && brain[i] < num_brains, "cluster_composition: brain " + std::to_string(brain[i]) +
                                                      " outside [0, " + std::to_string(num_brains) + ")");
    ++per_brain[static_cast<size_t>(cluster[i] - 1) * num_brains + brain[i]];
  }
  // The non-zero entries of a row, most first (ties: lower id).
  auto shares = [](const int64_t* row, int m, int64_t size) {
    std::vector<AreaShare> v;
    for (int a = 0; a < m; ++a)
      if (row[a] > 0) v.push_back({a, row[a], static_cast<double>(row[a]) / size});
    std::stable_sort(v.begin(), v.end(), [](const AreaShare& x, const AreaShare& y) { return x.count > y.count; });
    return v;
  };
  std::vector<ClusterComposition> out;
  for (int32_t c = 1; c <= k; ++c) {
    ClusterComposition cc{c, 0, {}, {}};
    const int64_t* row = &counts[static_cast<size_t>(c - 1) * num_classes];
    for (int a = 0; a < num_classes; ++a) cc.size += row[a];
    cc.areas = shares(row, num_classes, cc.size);
    if (static_cast<int>(cc.areas.size()) > top) cc.areas.resize(top);
    if (!brain.empty()) cc.brains = shares(&per_brain[static_cast<size_t>(c - 1) * num_brains], num_brains, cc.size);
    out.push_back(cc);
  }
  return out;
}

namespace {

// "name (12.3%), name (4.5%)".
std::string share_list(const std::vector<AreaShare>& v, const std::vector<std::string>& names) {
  std::string s;
  for (const AreaShare& a : v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, " (%.1f%%)", 100.0 * a.share);
    if (!s.empty()) s += ", ";
    s += (a.area < static_cast<int32_t>(names.size()) ? names[a.area] : std::to_string(a.area)) + buf;
  }
  return s;
}

}  // namespace

std::string composition_markdown(const std::vector<ClusterComposition>& comp,
                                 const std::vector<std::string>& names,
                                 const std::vector<std::string>& brain_names) {
  const bool brains = !brain_names.empty();
  std::string md = brains ? "| Cluster | Patches | Most frequent areas (share of the cluster) | Brains (share of the cluster) |\n|---:|---:|---|---|\n"
                          : "| Cluster | Patches | Most frequent areas (share of the cluster) |\n|---:|---:|---|\n";
  for (const ClusterComposition& c : comp) {
    md += "| " + std::to_string(c.cluster) + " | " + std::to_string(c.size) + " | " + share_list(c.areas, names);
    md += brains ? " | " + share_list(c.brains, brain_names) + " |\n" : " |\n";
  }
  return md;
}

}  // namespace cytocon::eval

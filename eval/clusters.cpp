#include "eval/clusters.h"

#include <algorithm>
#include <cstdio>

#include "engine/tensor.h"

namespace cytocon::eval {

std::vector<ClusterComposition> cluster_composition(const std::vector<int32_t>& cluster,
                                                    const std::vector<int32_t>& label,
                                                    int num_classes, int top) {
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
  std::vector<ClusterComposition> out;
  for (int32_t c = 1; c <= k; ++c) {
    ClusterComposition cc{c, 0, {}};
    const int64_t* row = &counts[static_cast<size_t>(c - 1) * num_classes];
    for (int a = 0; a < num_classes; ++a) cc.size += row[a];
    for (int a = 0; a < num_classes; ++a)
      if (row[a] > 0) cc.areas.push_back({a, row[a], static_cast<double>(row[a]) / cc.size});
    std::stable_sort(cc.areas.begin(), cc.areas.end(),
                     [](const AreaShare& x, const AreaShare& y) { return x.count > y.count; });
    if (static_cast<int>(cc.areas.size()) > top) cc.areas.resize(top);
    out.push_back(cc);
  }
  return out;
}

std::string composition_markdown(const std::vector<ClusterComposition>& comp,
                                 const std::vector<std::string>& names) {
  std::string md = "| Cluster | Patches | Most frequent areas (share of the cluster) |\n|---:|---:|---|\n";
  for (const ClusterComposition& c : comp) {
    std::string areas;
    for (const AreaShare& a : c.areas) {
      char buf[64];
      std::snprintf(buf, sizeof buf, " (%.1f%%)", 100.0 * a.share);
      if (!areas.empty()) areas += ", ";
      areas += (a.area < static_cast<int32_t>(names.size()) ? names[a.area] : std::to_string(a.area)) + buf;
    }
    md += "| " + std::to_string(c.cluster) + " | " + std::to_string(c.size) + " | " + areas + " |\n";
  }
  return md;
}

}  // namespace cytocon::eval

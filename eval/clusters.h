// Cluster composition (paper Table 1): for each Ward cluster, its size and its most frequent
// areas with their share of the cluster.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace cytocon::eval {

struct AreaShare {
  int32_t area;   // class id
  int64_t count;  // patches of this area in the cluster
  double share;   // count / cluster size
};

struct ClusterComposition {
  int32_t cluster;                // 1..k
  int64_t size;
  std::vector<AreaShare> areas;   // most frequent first (ties: lower class id), at most `top`
};

// cluster[i] in 1..k and label[i] in [0, num_classes) for every sample.
std::vector<ClusterComposition> cluster_composition(const std::vector<int32_t>& cluster,
                                                    const std::vector<int32_t>& label,
                                                    int num_classes, int top = 3);

// A Markdown table: | Cluster | Patches | Most frequent areas (share of the cluster) |, e.g.
// "hOc1 (45.1%), hOc2 (30.2%)".
std::string composition_markdown(const std::vector<ClusterComposition>& comp,
                                 const std::vector<std::string>& names);

}  // namespace cytocon::eval

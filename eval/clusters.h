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
  std::vector<AreaShare> brains;  // every brain with patches here (`area` = brain id), most first
};

// cluster[i] in 1..k and label[i] in [0, num_classes) for every sample; brain[i] in
// [0, num_brains) when given (empty: no brain shares). `top` = 6 as the paper's Table 1.
std::vector<ClusterComposition> cluster_composition(const std::vector<int32_t>& cluster,
                                                    const std::vector<int32_t>& label,
                                                    int num_classes, int top = 6,
                                                    const std::vector<int32_t>& brain = {}, int num_brains = 0);

// A Markdown table: | Cluster | Patches | Most frequent areas (share of the cluster) | Brains |,
// e.g. "hOc1 (45.1%), hOc2 (30.2%)" and "B01 (60.0%), B02 (40.0%)"; the Brains column only when
// brain names are given.
std::string composition_markdown(const std::vector<ClusterComposition>& comp,
                                 const std::vector<std::string>& names,
                                 const std::vector<std::string>& brain_names = {});

}  // namespace cytocon::eval

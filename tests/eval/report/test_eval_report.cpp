// Cluster composition (Table 1), metrics.json round trip, predictions.csv quoting, and the
// model × dataset table of --compare (Fig. 2).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "engine/io/atomic_file.h"
#include "eval/clusters.h"
#include "eval/report.h"

using namespace cytocon;
using namespace cytocon::eval;

TEST(Clusters, SixAreasAsTheTable) {
  // Seven areas in one cluster, with 7..1 patches: the table lists the six most frequent.
  std::vector<int32_t> cluster, label;
  for (int a = 0; a < 7; ++a)
    for (int k = 0; k < 7 - a; ++k) cluster.push_back(1), label.push_back(a);
  auto comp = cluster_composition(cluster, label, 7);
  ASSERT_EQ(comp[0].areas.size(), 6u);
  EXPECT_EQ(comp[0].areas[5].area, 5);
  EXPECT_TRUE(comp[0].brains.empty());
}

TEST(Clusters, CompositionByHand) {
  // Cluster 1: areas 0,0,0,2 ; cluster 2: 1,2 (tie: lower class id first).
  std::vector<int32_t> cluster = {1, 1, 2, 1, 1, 2};
  std::vector<int32_t> label = {0, 0, 1, 2, 0, 2};
  auto comp = cluster_composition(cluster, label, 3);
  ASSERT_EQ(comp.size(), 2u);
  EXPECT_EQ(comp[0].size, 4);
  ASSERT_EQ(comp[0].areas.size(), 2u);
  EXPECT_EQ(comp[0].areas[0].area, 0);
  EXPECT_DOUBLE_EQ(comp[0].areas[0].share, 0.75);
  EXPECT_EQ(comp[0].areas[1].area, 2);
  EXPECT_EQ(comp[1].areas[0].area, 1);
  EXPECT_EQ(comp[1].areas[1].area, 2);
  std::string md = composition_markdown(comp, {"hOc1", "hOc2", "FG1"});
  EXPECT_NE(md.find("| 1 | 4 | hOc1 (75.0%), FG1 (25.0%) |"), std::string::npos) << md;
  EXPECT_NE(md.find("| 2 | 2 | hOc2 (50.0%), FG1 (50.0%) |"), std::string::npos) << md;
  EXPECT_EQ(cluster_composition(cluster, label, 3, 1)[0].areas.size(), 1u);
  // Brains: cluster 1 holds brain 0 three times and brain 1 once; cluster 2 only brain 1.
  auto with_brains = cluster_composition(cluster, label, 3, 6, {0, 0, 1, 1, 0, 1}, 2);
  ASSERT_EQ(with_brains[0].brains.size(), 2u);
  EXPECT_EQ(with_brains[0].brains[0].area, 0);
  EXPECT_DOUBLE_EQ(with_brains[0].brains[0].share, 0.75);
  ASSERT_EQ(with_brains[1].brains.size(), 1u);
  EXPECT_EQ(with_brains[1].brains[0].count, 2);
  md = composition_markdown(with_brains, {"hOc1", "hOc2", "FG1"}, {"B01", "B02"});
  EXPECT_NE(md.find("| 1 | 4 | hOc1 (75.0%), FG1 (25.0%) | B01 (75.0%), B02 (25.0%) |"), std::string::npos) << md;
  EXPECT_NE(md.find("| 2 | 2 | hOc2 (50.0%), FG1 (50.0%) | B02 (100.0%) |"), std::string::npos) << md;
  EXPECT_THROW(cluster_composition(cluster, label, 3, 6, {0}, 2), std::exception);  // one brain id per sample
  EXPECT_THROW(cluster_composition({0}, {0}, 3), std::exception);  // ids start at 1
}

TEST(Report, MetricsJsonRoundTrip) {
  Metrics m = compute_metrics({0, 1, 1}, {0, 1, 0}, 1, 2);
  EvalInfo info;
  info.model = "supcon+linear";
  info.split = "unseen";
  info.names = {"hOc1", "hOc2"};
  // Per process: other build trees may run the same tests at the same time.
  std::string stem = testing::TempDir() + "/cytocon_report_" + std::to_string(::getpid()) + "_";
  write_metrics_json(stem + "metrics.json", info, m);
  RunSummary r = read_metrics_json(stem + "metrics.json");
  EXPECT_EQ(r.model, "supcon+linear");
  EXPECT_EQ(r.split, "unseen");
  EXPECT_EQ(r.n, 3);
  EXPECT_DOUBLE_EQ(r.top1, 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(r.f1_weighted, m.f1_weighted);
  std::string text = io::read_file(stem + "metrics.json");
  EXPECT_NE(text.find("\"per_class\""), std::string::npos);
  EXPECT_NE(text.find("\"hOc2\""), std::string::npos);
  io::write_file_atomic(stem + "bad.json", "{\"model\": \"x\"}");
  try {
    read_metrics_json(stem + "bad.json");
    FAIL() << "expected an error";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("bad.json: missing field 'split'"), std::string::npos) << e.what();
  }
  std::remove((stem + "metrics.json").c_str());
  std::remove((stem + "bad.json").c_str());
}

TEST(Report, PredictionsCsvQuotesNamesWithCommas) {
  std::string path = testing::TempDir() + "/cytocon_predictions_" + std::to_string(::getpid()) + ".csv";
  write_predictions_csv(path, {{7, "B01", "s1", 120.5, 33.25, 1, {1, 0, 2}, 3}}, {"a", "area, 2", "c\"q"});
  EXPECT_EQ(io::read_file(path),
            "index,brain,section,x,y,true,pred,top3,cluster\n"
            "7,B01,s1,120.50,33.25,\"area, 2\",\"area, 2\",\"area, 2|a|c\"\"q\",3\n");
  std::remove(path.c_str());
}

TEST(Report, TsneAndLinkageCsv) {
  const std::string stem = testing::TempDir() + "/cytocon_fig3_" + std::to_string(::getpid()) + "_";
  std::vector<PredictionRow> rows = {{4, "B01", "s1", 1, 2, 0, {0}, 2}, {9, "B02", "s2", 3, 4, 1, {1}, 1}};
  write_tsne_csv(stem + "tsne.csv", rows, {0.5, -1.25, 2, 3}, {"hOc1", "hOc2"});
  EXPECT_EQ(io::read_file(stem + "tsne.csv"), "index,x,y,cluster,true\n4,0.5,-1.25,2,hOc1\n9,2,3,1,hOc2\n");
  EXPECT_THROW(write_tsne_csv(stem + "bad.csv", rows, {0.5}, {"hOc1", "hOc2"}), std::exception);
  write_linkage_csv(stem + "ward.csv", {{0, 1, 1.0, 2}, {2, 3, 5.5, 3}});
  EXPECT_EQ(io::read_file(stem + "ward.csv"), "a,b,height,size\n0,1,1,2\n2,3,5.5,3\n");
  std::remove((stem + "tsne.csv").c_str());
  std::remove((stem + "ward.csv").c_str());
}

TEST(Report, CompareTableHasOneRowPerModel) {
  std::vector<RunSummary> runs = {{"supcon", "test", "e1", 10, 0.81, 0.83, 0.95},
                                  {"scratch", "test", "e2", 10, 0.5, 0.55, 0.8},
                                  {"supcon", "unseen", "e3", 12, 0.6, 0.62, 0.85}};
  std::string md = compare_markdown(runs);
  EXPECT_NE(md.find("| supcon | 81.0 | 83.0 | 95.0 | 60.0 | 62.0 | 85.0 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| scratch | 50.0 | 55.0 | 80.0 | – | – | – |"), std::string::npos) << md;
  runs.push_back({"supcon", "test", "e4", 10, 0.8, 0.8, 0.9});
  EXPECT_THROW(compare_markdown(runs), std::exception);  // two supcon/X_te results
}

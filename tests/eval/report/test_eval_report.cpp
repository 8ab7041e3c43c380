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
  write_predictions_csv(path, {{7, "B01", "s1", 1, {1, 0, 2}, 3}}, {"a", "area, 2", "c\"q"});
  EXPECT_EQ(io::read_file(path),
            "index,brain,section,true,pred,top3,cluster\n"
            "7,B01,s1,\"area, 2\",\"area, 2\",\"area, 2|a|c\"\"q\",3\n");
  std::remove(path.c_str());
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

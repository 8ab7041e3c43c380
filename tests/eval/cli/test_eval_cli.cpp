// cytocon-eval end to end: a 2-brain synthetic dataset (one brain X_un), a random tiny network
// with a 4-class classifier, evaluation on X_te and X_un, then --compare. Checks every output
// file's contract (docs/design.md "Interfaces") and that bad input fails with a clear message.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "common/run.h"
#include "common/tiny_run.h"
#include "engine/io/atomic_file.h"
#include "engine/io/safetensors.h"
#include "eval/report.h"

using namespace cytocon;
namespace fs = std::filesystem;

namespace {

const std::string kBin = CYTOCON_BIN_DIR;

using testing_util::run;

std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> v;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) v.push_back(l);
  return v;
}

class EvalCli : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = testing::TempDir() + "/eval_cli_" + std::to_string(getpid());
    std::string out;
    ASSERT_EQ(testing_util::make_tiny_run(dir_, 3, &out), 0) << out;
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }
  static std::string dir_;
};
std::string EvalCli::dir_;

}  // namespace

TEST_F(EvalCli, WritesEveryOutputAndCompares) {
  for (const char* split : {"test", "unseen"}) {
    std::string out;
    ASSERT_EQ(run(kBin + "/cytocon-eval --checkpoint " + dir_ + "/run/final.safetensors --data " + dir_ +
                  "/data --split " + split + " --out " + dir_ + "/ev_" + split +
                  " --spacing-um 300 --clusters 3 --tsne-iterations 100 --batch 8" +
                  (std::string(split) == "test" ? " --dump-patches " + dir_ + "/patches.safetensors" : ""),
                  &out), 0) << out;
    const std::string ev = dir_ + "/ev_" + split;
    for (const char* f : {"metrics.json", "predictions.csv", "features.safetensors", "clusters.md", "tsne.png",
                          "tsne_areas.png", "confusion.png", "tsne.svg", "tsne_areas.svg", "confusion.svg", "report.md",
                          "tsne.csv", "ward_linkage.csv"})
      EXPECT_TRUE(fs::exists(ev + "/" + f)) << ev << "/" << f;
    eval::RunSummary r = eval::read_metrics_json(ev + "/metrics.json");
    EXPECT_EQ(r.split, split);
    EXPECT_EQ(r.model, "run");
    EXPECT_GE(r.n, 3);
    for (double v : {r.f1_weighted, r.top1, r.top3}) EXPECT_TRUE(v >= 0 && v <= 1) << v;
    EXPECT_LE(r.top1, r.top3);
    // predictions.csv: header, one row per patch, 9 columns, clusters in 1..3, positions inside
    // the 1500x1200 px sections.
    std::vector<std::string> csv = lines(io::read_file(ev + "/predictions.csv"));
    ASSERT_EQ(static_cast<int64_t>(csv.size()), r.n + 1);
    EXPECT_EQ(csv[0], "index,brain,section,x,y,true,pred,top3,cluster");
    for (size_t i = 1; i < csv.size(); ++i) {
      EXPECT_EQ(std::count(csv[i].begin(), csv[i].end(), ','), 8) << csv[i];
      std::istringstream row(csv[i]);
      std::string field;
      for (int c = 0; c < 4; ++c) std::getline(row, field, ',');
      const double x = std::stod(field);
      std::getline(row, field, ',');
      const double y = std::stod(field);
      EXPECT_TRUE(x >= 0 && x < 1500 && y >= 0 && y < 1200) << csv[i];
      EXPECT_EQ(std::count(csv[i].begin(), csv[i].end(), '|'), 2) << csv[i];
      int cluster = std::stoi(csv[i].substr(csv[i].rfind(',') + 1));
      EXPECT_TRUE(cluster >= 1 && cluster <= 3) << csv[i];
    }
    if (std::string(split) == "unseen") {  // X_un is brain02, the held-out brain
      for (size_t i = 1; i < csv.size(); ++i) EXPECT_EQ(csv[i].find("brain02,"), csv[i].find(',') + 1) << csv[i];
    }
    // features.safetensors: h [n,128] f32 and labels [n] i32.
    io::SafeTensors f = io::read_safetensors(ev + "/features.safetensors");
    EXPECT_EQ(f.get("h").shape(), (Shape{r.n, 128}));
    EXPECT_EQ(f.get("h").dtype(), DType::f32);
    EXPECT_EQ(f.get("labels").shape(), (Shape{r.n}));
    EXPECT_EQ(f.get("labels").dtype(), DType::i32);
    // logits [n,4]: the best score is predictions.csv's pred (areas are named by labels.txt).
    EXPECT_EQ(f.get("logits").shape(), (Shape{r.n, 4}));
    std::vector<float> logits = f.get("logits").to_vector<float>();
    std::vector<std::string> areas = lines(io::read_file(dir_ + "/data/labels.txt"));
    for (int64_t i = 0; i < r.n; ++i) {
      const float* row = logits.data() + i * 4;
      const int64_t best = std::max_element(row, row + 4) - row;
      std::vector<std::string> cols;
      std::istringstream row_in(csv[i + 1]);
      for (std::string c; std::getline(row_in, c, ',');) cols.push_back(c);
      ASSERT_EQ(cols.size(), 9u) << csv[i + 1];
      EXPECT_EQ(cols[6], areas[best]) << csv[i + 1];  // index,brain,section,x,y,true,pred,top3,cluster
    }
    if (std::string(split) == "test") {  // --dump-patches: the network's input, in predictions.csv's order
      io::SafeTensors p = io::read_safetensors(dir_ + "/patches.safetensors");
      EXPECT_EQ(p.get("x").shape(), (Shape{r.n, 561, 561, 1}));
      std::vector<float> x = p.get("x").to_vector<float>();
      EXPECT_TRUE(std::all_of(x.begin(), x.end(), [](float v) { return v >= 0 && v <= 1; }));
      EXPECT_LT(*std::min_element(x.begin(), x.end()), 0.5f);  // cell bodies are dark
      std::vector<int32_t> index = p.get("index").to_vector<int32_t>();
      ASSERT_EQ(static_cast<int64_t>(index.size()), r.n);
      for (int64_t i = 0; i < r.n; ++i) EXPECT_EQ(csv[i + 1].rfind(std::to_string(index[i]) + ",", 0), 0u) << csv[i + 1];
    }
    // Fig. 3 and Table 1 from the files: one t-SNE row per patch, n − 1 merges.
    EXPECT_EQ(static_cast<int64_t>(lines(io::read_file(ev + "/tsne.csv")).size()), r.n + 1);
    EXPECT_EQ(static_cast<int64_t>(lines(io::read_file(ev + "/ward_linkage.csv")).size()), r.n);
    EXPECT_NE(io::read_file(ev + "/clusters.md").find("| Brains (share of the cluster) |"), std::string::npos);
    std::string report = io::read_file(ev + "/report.md");
    EXPECT_NE(report.find("| Cluster | Patches | Most frequent areas"), std::string::npos);
  }
  std::string out;
  ASSERT_EQ(run(kBin + "/cytocon-eval --compare " + dir_ + "/fig2.md " + dir_ + "/ev_test " + dir_ + "/ev_unseen", &out), 0) << out;
  std::vector<std::string> table = lines(io::read_file(dir_ + "/fig2.md"));
  int rows = 0;
  for (const std::string& l : table) rows += l.rfind("| run |", 0) == 0;
  EXPECT_EQ(rows, 1);  // one model, both datasets in one row
}

// --centrelines derived: the points lie on mid-lines derived from the area polygons, not on the
// drawn centrelines; a bad value names the choices.
TEST_F(EvalCli, DerivedCentrelinesOverrideTheStoredSource) {
  auto evaluate = [&](const std::string& source, std::string* out) {
    return run(kBin + "/cytocon-eval --checkpoint " + dir_ + "/run/final.safetensors --data " + dir_ +
                   "/data --split unseen --spacing-um 300 --tsne-iterations 0 --batch 8 --quiet --centrelines " +
                   source + " --out " + dir_ + "/ev_cl_" + source,
               out);
  };
  std::string out;
  ASSERT_EQ(evaluate("annotated", &out), 0) << out;
  ASSERT_EQ(evaluate("derived", &out), 0) << out;
  const std::vector<std::string> drawn = lines(io::read_file(dir_ + "/ev_cl_annotated/predictions.csv"));
  const std::vector<std::string> derived = lines(io::read_file(dir_ + "/ev_cl_derived/predictions.csv"));
  EXPECT_GT(derived.size(), 3u);
  EXPECT_NE(drawn, derived);
  EXPECT_NE(evaluate("drawn", &out), 0);  // CLI11's check names the value and the set
  EXPECT_NE(out.find("drawn"), std::string::npos) << out;
  EXPECT_NE(out.find("derived"), std::string::npos) << out;
}

TEST_F(EvalCli, BadInputFailsWithAClearMessage) {
  std::string out;
  EXPECT_EQ(run(kBin + "/cytocon-eval --checkpoint " + dir_ + "/run/final.safetensors --data " + dir_ +
                "/data --split train --out " + dir_ + "/ev_bad", &out), 2);  // a command-line error
  EXPECT_NE(out.find("--split: train not in {test,unseen}"), std::string::npos) << out;
  // A network without a classifier (a supcon run) cannot be evaluated.
  testing_util::save_tiny_network(dir_ + "/supcon.safetensors", 0, 1);
  EXPECT_EQ(run(kBin + "/cytocon-eval --checkpoint " + dir_ + "/supcon.safetensors --data " + dir_ +
                "/data --out " + dir_ + "/ev_bad", &out), 1);
  EXPECT_NE(out.find("no classifier.weight"), std::string::npos) << out;
  EXPECT_EQ(run(kBin + "/cytocon-eval --compare " + dir_ + "/x.md " + dir_ + "/nowhere", &out), 1);
  EXPECT_NE(out.find("nowhere/metrics.json"), std::string::npos) << out;
}

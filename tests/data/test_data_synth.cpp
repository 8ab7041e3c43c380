// cytocon-synth: a small dataset opens cleanly, every area has centreline points in every split,
// and the output is a function of the seed (whatever the OpenMP thread count).
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <iterator>

#include "data/dataset.h"
#include "data_test_util.h"

using namespace cytocon::data;
using namespace cytocon::data::testing;

namespace {

std::string slurp(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

int synth(const std::string& out, const std::string& extra, const std::string& env = "") {
  const std::string cmd = env + " " + std::string(CYTOCON_BIN_DIR) + "/cytocon-synth --out " + out +
                          " --brains 3 --sections 2 --areas 5 --um-per-px 8 --size 1280x960 " + extra + " > /dev/null";
  return std::system(cmd.c_str());
}

TEST(Synth, DatasetOpensAndIsDeterministic) {
  if (access((std::string(CYTOCON_BIN_DIR) + "/cytocon-synth").c_str(), X_OK) != 0)
    GTEST_SKIP() << "cytocon-synth was not built (needs CLI11)";
  const std::string a = temp_dir("synA"), b = temp_dir("synB"), c = temp_dir("synC");
  ASSERT_EQ(synth(a, "--seed 3"), 0);
  ASSERT_EQ(synth(b, "--seed 3", "OMP_NUM_THREADS=1"), 0);  // any thread count, same bytes
  ASSERT_EQ(synth(c, "--seed 4"), 0);
  EXPECT_EQ(slurp(a + "/manifest.csv"), slurp(b + "/manifest.csv"));
  EXPECT_EQ(slurp(a + "/images/brain01_s01.tif"), slurp(b + "/images/brain01_s01.tif"));
  EXPECT_EQ(slurp(a + "/annotations/brain02_s02.geojson"), slurp(b + "/annotations/brain02_s02.geojson"));
  EXPECT_NE(slurp(a + "/images/brain01_s01.tif"), slurp(c + "/images/brain01_s01.tif"));
  DatasetOptions o;
  o.quiet = true;
  o.spacing_um = 100;
  auto ds = Dataset::open(a, o);
  EXPECT_EQ(ds->num_classes(), 5);
  EXPECT_EQ(ds->labels()[0], "hOc1");
  EXPECT_TRUE(ds->warnings().empty()) << ds->warnings()[0];
  ASSERT_EQ(ds->sections().size(), 6u);
  EXPECT_EQ(ds->sections()[0].width, 1280);
  EXPECT_GT(ds->image(0).levels().size(), 1u);  // a pyramid
  for (const auto& s : ds->sections()) EXPECT_EQ(s.split == Split::unseen, s.brain == "brain03");
  std::vector<int> per_class(5, 0);
  for (int i : ds->points_in(Split::unseen)) ++per_class[ds->points()[i].label];
  for (int c2 = 0; c2 < 5; ++c2) EXPECT_GT(per_class[c2], 0) << ds->labels()[c2];
  // Centreline points lie in tissue: the image is darker there than the glass background.
  std::vector<float> v(1);
  double mean_on_line = 0;
  for (int k = 0; k < 200; ++k) {
    const auto& p = ds->points()[k * ds->points().size() / 200];
    ds->image(p.section).read_region(0, static_cast<int64_t>(p.x), static_cast<int64_t>(p.y), 1, 1, v.data(), 1);
    mean_on_line += v[0] / 200;
  }
  std::vector<float> corner(16);
  ds->image(0).read_region(0, 0, 0, 4, 4, corner.data(), 1);
  EXPECT_LT(mean_on_line, corner[0] - 0.05);
}

}  // namespace

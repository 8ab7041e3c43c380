// cytocon-databench on bad input: exit status 1 and one line naming the file (no uncaught
// exception, issue 12 §1).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "data_test_util.h"

using namespace cytocon::data::testing;

namespace {

TEST(Databench, BadSectionIsOneLineAndStatus1) {
  const std::string bin = std::string(CYTOCON_BIN_DIR) + "/cytocon-databench";
  if (access(bin.c_str(), X_OK) != 0) GTEST_SKIP() << "cytocon-databench not built";
  const std::string dir = temp_dir("dbench");
  write_text(dir + "/labels.txt", "A0\n");
  write_text(dir + "/s.tif", "II*\0 not really a tiff");
  write_text(dir + "/s.geojson", line_geojson("A0", 10, 100, 50));
  write_text(dir + "/manifest.csv", "brain,section,image,annotation,um_per_px\nb,s,s.tif,s.geojson,2\n");
  const int rc = std::system((bin + " --data " + dir + " --n 1 2> " + dir + "/err.txt > /dev/null").c_str());
  ASSERT_TRUE(WIFEXITED(rc));
  EXPECT_EQ(WEXITSTATUS(rc), 1);
  std::ifstream f(dir + "/err.txt");
  std::stringstream err;
  err << f.rdbuf();
  const std::string e = err.str();
  EXPECT_EQ(e.rfind("cytocon-databench: error: " + dir + "/s.tif: cannot open as TIFF", 0), 0u) << e;
  EXPECT_EQ(std::count(e.begin(), e.end(), '\n'), 1) << e;
}

}  // namespace

// The prepared store (issue 12 §2, docs/data.md "Prepared store"): the same points at the same
// places (rescaled), the same labels and splits; pixels resampled once (here 2 → 4 µm/px: each
// output pixel is the mean of a 2×2 block, rounded to 8 bits); tiles out of reach of every point
// left out and read as glass; the pixel size in the tags; cytocon-prepare resumes.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>

#include "data/dataset.h"
#include "data/prepare.h"
#include "engine/io/atomic_file.h"
#include "data_test_util.h"

using namespace cytocon::data;
using namespace cytocon::data::testing;

namespace {

DatasetOptions quiet() {
  DatasetOptions o;
  o.quiet = true;
  o.spacing_um = 20;
  return o;
}

// Writes the prepared copy of every section of src into out (as cytocon-prepare lays it out).
void prepare_all(const Dataset& src, const std::string& out, const PrepareOptions& po) {
  std::filesystem::create_directories(out);
  std::string manifest = "brain,section,image,annotation,um_per_px,split\n";
  for (int i = 0; i < static_cast<int>(src.sections().size()); ++i) {
    const Section& s = src.sections()[i];
    const std::string base = s.brain + "_" + s.name;
    prepare_section(src, i, po, out + "/" + base + ".tif", out + "/" + base + ".geojson");
    manifest += s.brain + "," + s.name + "," + base + ".tif," + base + ".geojson,," + split_name(s.split) + "\n";
  }
  write_text(out + "/manifest.csv", manifest);  // um_per_px empty: from the tags
  std::filesystem::copy_file(src.dir() + "/labels.txt", out + "/labels.txt");
}

TEST(Prepare, SamePointsOnePixelResamplingSparseTiles) {
  const std::string dir = temp_dir("prep_src"), out = temp_dir("prep_out");
  make_dataset(dir, 1, 2, 3);  // 400×300 px at 2 µm/px
  auto src = Dataset::open(dir, quiet());
  PrepareOptions po;
  po.um_per_px = 4;
  po.patch_px = 33;
  po.shift_mm = 0;  // reach 33/2·√2 + 2 = 25.3 px: the lower tiles are out of reach
  po.tile = 16;
  po.codec = StoreCodec::zstd;
  const PreparedSection r = prepare_section(*src, 0, po, out + "/probe.tif", out + "/probe.geojson");
  EXPECT_EQ(r.width, 200);
  EXPECT_EQ(r.height, 150);
  EXPECT_EQ(r.tiles_total, 13 * 10);
  EXPECT_GT(r.tiles_written, 0);
  EXPECT_LT(r.tiles_written, r.tiles_total);
  std::filesystem::remove(out + "/probe.tif");
  std::filesystem::remove(out + "/probe.geojson");
  prepare_all(*src, out, po);
  auto prep = Dataset::open(out, quiet());
  ASSERT_TRUE(prep->warnings().empty()) << prep->warnings()[0];
  // Same points (positions halved), labels, sections and splits, in the same order.
  ASSERT_EQ(prep->points().size(), src->points().size());
  for (size_t k = 0; k < src->points().size(); ++k) {
    const SamplePoint &a = src->points()[k], &b = prep->points()[k];
    EXPECT_EQ(a.section, b.section);
    EXPECT_EQ(a.label, b.label);
    EXPECT_FLOAT_EQ(b.x, a.x * 0.5f) << k;
    EXPECT_FLOAT_EQ(b.y, a.y * 0.5f) << k;
  }
  for (size_t i = 0; i < src->sections().size(); ++i) EXPECT_EQ(prep->sections()[i].split, src->sections()[i].split);
  // Pixel size from the tags; pixels: the 2×2 mean of the source, where a tile was kept.
  const Image& img = prep->image(0);
  EXPECT_DOUBLE_EQ(img.um_per_px().value(), 4.0);
  EXPECT_DOUBLE_EQ(prep->sections()[0].um_per_px, 4.0);
  const auto px = pattern8(400, 300);
  std::vector<float> got(200 * 150);
  img.read_region(0, 0, 0, 200, 150, got.data(), -1.0f);
  const double reach = prepare_reach_px(po);
  int64_t checked = 0, glass = 0;
  for (int64_t y = 0; y < 150; ++y)
    for (int64_t x = 0; x < 200; ++x) {
      const int64_t tx = x / 16, ty = y / 16;
      bool kept = false;
      for (const SamplePoint& p : prep->points())
        if (p.section == 0 && std::floor((p.x - reach) / 16) <= tx && tx <= std::floor((p.x + reach) / 16) &&
            std::floor((p.y - reach) / 16) <= ty && ty <= std::floor((p.y + reach) / 16))
          kept = true;
      const float v = got[y * 200 + x];
      if (!kept) {
        ASSERT_EQ(v, 1.0f) << x << "," << y;  // left out: glass
        ++glass;
        continue;
      }
      const double mean = (px[(2 * y) * 400 + 2 * x] + px[(2 * y) * 400 + 2 * x + 1] + px[(2 * y + 1) * 400 + 2 * x] +
                           px[(2 * y + 1) * 400 + 2 * x + 1]) / 4.0;
      ASSERT_NEAR(v * 255.0, mean, 0.5 + 1e-3) << x << "," << y;
      ++checked;
    }
  EXPECT_GT(checked, 0);
  EXPECT_GT(glass, 0);
}

TEST(Prepare, ProgramWritesACompleteCopyAndResumes) {
  const std::string bin = std::string(CYTOCON_BIN_DIR) + "/cytocon-prepare";
  if (access(bin.c_str(), X_OK) != 0) GTEST_SKIP() << "cytocon-prepare not built";
  const std::string dir = temp_dir("prepcli_src"), out = temp_dir("prepcli_out") + "/copy";
  make_dataset(dir, 2, 3, 2, {"", "unseen"});
  write_text(dir + "/run.toml", "[model]\npreset = \"tiny\"\n[data]\num_per_px = 4.0\nspacing_um = 20.0\n");
  const std::string cmd = bin + " --data " + dir + " --config " + dir + "/run.toml --out " + out + " --codec none 2> " +
                          dir + "/err.txt > /dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  DatasetOptions o = quiet();
  auto src = Dataset::open(dir, o), prep = Dataset::open(out, o);
  ASSERT_EQ(prep->sections().size(), 6u);
  for (Split s : {Split::train, Split::test, Split::unseen})
    EXPECT_EQ(prep->points_in(s).size(), src->points_in(s).size()) << split_name(s);
  EXPECT_DOUBLE_EQ(prep->sections()[0].um_per_px, 4.0);
  // A finished copy is not replaced (nor resumed) by accident.
  const std::string first = prep->sections()[0].image_path, last = prep->sections()[5].image_path;
  struct stat before {};
  ASSERT_EQ(stat(first.c_str(), &before), 0);
  ASSERT_NE(std::system(cmd.c_str()), 0);
  EXPECT_NE(cytocon::io::read_file(dir + "/err.txt").find(out + " already holds manifest.csv"), std::string::npos)
      << cytocon::io::read_file(dir + "/err.txt");
  // Resume after an interruption (no manifest yet, a section missing): an existing section is not
  // written again; a missing one is.
  std::filesystem::remove(out + "/manifest.csv");
  std::filesystem::remove(last);
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cytocon::io::read_file(dir + "/err.txt");
  struct stat after {};
  ASSERT_EQ(stat(first.c_str(), &after), 0);
  EXPECT_EQ(before.st_mtim.tv_sec, after.st_mtim.tv_sec);
  EXPECT_EQ(before.st_mtim.tv_nsec, after.st_mtim.tv_nsec);
  EXPECT_TRUE(std::filesystem::exists(last));
  for (const auto& e : std::filesystem::recursive_directory_iterator(out))
    EXPECT_NE(e.path().extension(), ".part") << e.path();
  // An unfinished copy made with other settings is not resumed: refused, naming what differs;
  // --overwrite starts it afresh.
  std::filesystem::remove(out + "/manifest.csv");
  write_text(dir + "/run8.toml", "[model]\npreset = \"tiny\"\n[data]\num_per_px = 8.0\nspacing_um = 20.0\n");
  const std::string cmd8 = bin + " --data " + dir + " --config " + dir + "/run8.toml --out " + out + " --codec none 2> " +
                           dir + "/err.txt > /dev/null";
  ASSERT_NE(std::system(cmd8.c_str()), 0);
  EXPECT_NE(cytocon::io::read_file(dir + "/err.txt").find("data.um_per_px = 4.0 there, 8.0 here"), std::string::npos)
      << cytocon::io::read_file(dir + "/err.txt");
  EXPECT_EQ(stat(first.c_str(), &after), 0);
  EXPECT_EQ(before.st_mtim.tv_nsec, after.st_mtim.tv_nsec);
  ASSERT_EQ(std::system((cmd8 + " --overwrite").c_str()), 0) << cytocon::io::read_file(dir + "/err.txt");
  EXPECT_DOUBLE_EQ(Dataset::open(out, o)->sections()[0].um_per_px, 8.0);
}

TEST(Prepare, ProgramNeverWritesOverItsInputs) {
  const std::string bin = std::string(CYTOCON_BIN_DIR) + "/cytocon-prepare";
  if (access(bin.c_str(), X_OK) != 0) GTEST_SKIP() << "cytocon-prepare not built";
  const std::string dir = temp_dir("prepcli_self");
  make_dataset(dir, 1, 2, 2, {""});
  write_text(dir + "/run.toml", "[model]\npreset = \"tiny\"\n[data]\num_per_px = 4.0\n");
  const std::string manifest = cytocon::io::read_file(dir + "/manifest.csv");
  const std::string cmd = bin + " --data " + dir + " --config " + dir + "/run.toml --out " + dir +
                          " --overwrite 2> " + dir + "/err.txt > /dev/null";
  ASSERT_NE(std::system(cmd.c_str()), 0);
  EXPECT_NE(cytocon::io::read_file(dir + "/err.txt").find("would replace an input of this run"), std::string::npos)
      << cytocon::io::read_file(dir + "/err.txt");
  EXPECT_EQ(cytocon::io::read_file(dir + "/manifest.csv"), manifest);
}

}  // namespace

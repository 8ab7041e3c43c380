// Dataset directory: manifest + labels → points and splits; bad input gives clear errors or
// documented warnings.
#include <gtest/gtest.h>

#include <set>

#include "data/dataset.h"
#include "data_test_util.h"

using namespace cytocon::data;
using namespace cytocon::data::testing;

namespace {

DatasetOptions quiet() {
  DatasetOptions o;
  o.spacing_um = 20;
  o.quiet = true;
  return o;
}

TEST(Dataset, PointsLabelsAndSplits) {
  const std::string dir = temp_dir("ds");
  make_dataset(dir, 3, 5, 3, {"", "", "unseen"});
  auto ds = Dataset::open(dir, quiet());
  EXPECT_EQ(ds->num_classes(), 3);
  ASSERT_EQ(ds->sections().size(), 15u);
  EXPECT_EQ(ds->sections()[0].width, 400);
  // Per section 3 + 8 + 13 points.
  EXPECT_EQ(ds->points().size(), 15u * 24);
  for (const auto& p : ds->points()) EXPECT_FLOAT_EQ(p.y, 20 + 25 * p.label);
  // Per training brain: 5 sections → 1 test (20 %), 4 train; brain2 all unseen.
  std::map<std::string, std::map<Split, int>> count;
  for (const auto& s : ds->sections()) ++count[s.brain][s.split];
  EXPECT_EQ(count["brain0"][Split::test], 1);
  EXPECT_EQ(count["brain0"][Split::train], 4);
  EXPECT_EQ(count["brain1"][Split::test], 1);
  EXPECT_EQ(count["brain2"][Split::unseen], 5);
  EXPECT_EQ(ds->points_in(Split::train).size(), 8u * 24);
  EXPECT_EQ(ds->points_in(Split::test).size(), 2u * 24);
  EXPECT_EQ(ds->points_in(Split::unseen).size(), 5u * 24);
  // Disjoint by section.
  std::set<int> train_secs, test_secs;
  for (int i : ds->points_in(Split::train)) train_secs.insert(ds->points()[i].section);
  for (int i : ds->points_in(Split::test)) test_secs.insert(ds->points()[i].section);
  for (int s : test_secs) EXPECT_EQ(train_secs.count(s), 0u);
  EXPECT_TRUE(ds->warnings().empty());
}

TEST(Dataset, SplitIsSeededAndDeterministic) {
  const std::string dir = temp_dir("ds");
  make_dataset(dir, 2, 10, 1);
  auto test_sections = [&](uint64_t seed) {
    DatasetOptions o = quiet();
    o.split_seed = seed;
    auto ds = Dataset::open(dir, o);
    std::vector<std::string> v;
    for (const auto& s : ds->sections())
      if (s.split == Split::test) v.push_back(s.brain + "/" + s.name);
    return v;
  };
  const auto a = test_sections(1), b = test_sections(1);
  EXPECT_EQ(a, b);
  EXPECT_EQ(a.size(), 4u);  // 2 of 10 per brain
  bool differs = false;
  for (uint64_t s = 2; s < 12 && !differs; ++s) differs = test_sections(s) != a;
  EXPECT_TRUE(differs);
  DatasetOptions o = quiet();
  o.unseen_brains = {"brain1"};
  auto ds = Dataset::open(dir, o);
  for (const auto& s : ds->sections()) EXPECT_EQ(s.split == Split::unseen, s.brain == "brain1");
}

std::string open_error(const std::string& dir, DatasetOptions o = quiet()) {
  try {
    Dataset::open(dir, o);
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

TEST(Dataset, BadInput) {
  const std::string dir = temp_dir("bad");
  EXPECT_TRUE(has(open_error(dir), "manifest.csv: not found"));
  make_dataset(dir, 1, 2, 2);
  // Missing image.
  std::remove((dir + "/b0s1.tif").c_str());
  EXPECT_TRUE(has(open_error(dir), "b0s1.tif: image file not found"));
  make_dataset(dir, 1, 2, 2);
  // Duplicate section.
  write_text(dir + "/manifest.csv",
             "brain,section,image,annotation,um_per_px\nb,s,b0s0.tif,b0s0.geojson,2\nb,s,b0s1.tif,b0s1.geojson,2\n");
  EXPECT_TRUE(has(open_error(dir), "duplicate section 's' of brain 'b'"));
  // Bad resolution, missing column, bad split.
  write_text(dir + "/manifest.csv", "brain,section,image,annotation,um_per_px\nb,s,b0s0.tif,b0s0.geojson,-2\n");
  EXPECT_TRUE(has(open_error(dir), "manifest.csv:2: um_per_px = -2: expected a finite number in [0.01, 1000]"));
  write_text(dir + "/manifest.csv", "brain,section,image,um_per_px\nb,s,b0s0.tif,2\n");
  EXPECT_TRUE(has(open_error(dir), "header lacks column 'annotation'"));
  write_text(dir + "/manifest.csv", "brain,section,image,annotation,um_per_px,split\nb,s,b0s0.tif,b0s0.geojson,2,val\n");
  EXPECT_TRUE(has(open_error(dir), "unknown split 'val'"));
  // Corrupt annotation.
  write_text(dir + "/manifest.csv", "brain,section,image,annotation,um_per_px\nb,s,b0s0.tif,b0s0.geojson,2\n");
  write_text(dir + "/b0s0.geojson", "{\"type\":");
  EXPECT_TRUE(has(open_error(dir), "b0s0.geojson: invalid GeoJSON"));
  // Duplicate label.
  make_dataset(dir, 1, 1, 2);
  write_text(dir + "/labels.txt", "A0\nA1\nA0\n");
  EXPECT_TRUE(has(open_error(dir), "labels.txt:3: duplicate area name 'A0'"));
}

TEST(Dataset, UnknownAreaOutsidePointsAndEmptyAreaWarnOrFailWhenStrict) {
  const std::string dir = temp_dir("warn");
  make_dataset(dir, 1, 1, 3);
  write_text(dir + "/labels.txt", "A0\nA2\nEmpty\n");  // A1 unknown, "Empty" has no points
  write_text(dir + "/b0s0.geojson",
             std::string(R"({"type":"FeatureCollection","features":[)") +
                 R"({"type":"Feature","geometry":{"type":"LineString","coordinates":[[10,20],[30,20]]},"properties":{"name":"A0"}},)" +
                 R"({"type":"Feature","geometry":{"type":"LineString","coordinates":[[10,45],[30,45]]},"properties":{"name":"A1"}},)" +
                 R"({"type":"Feature","geometry":{"type":"LineString","coordinates":[[390,70],[420,70]]},"properties":{"name":"A2"}}]})");
  auto ds = Dataset::open(dir, quiet());
  EXPECT_EQ(ds->points().size(), 3u + 1u);  // A0: 3; A2: x = 390 only (400..420 outside)
  ASSERT_EQ(ds->warnings().size(), 3u);
  EXPECT_TRUE(has(ds->warnings()[0], "area 'A1' is not in labels.txt; 3 centreline points skipped"));
  EXPECT_TRUE(has(ds->warnings()[1], "3 centreline points lie outside the image (400x300 px)"));
  EXPECT_TRUE(has(ds->warnings()[2], "area 'Empty' has no centreline points"));
  DatasetOptions strict = quiet();
  strict.strict = true;
  EXPECT_TRUE(has(open_error(dir, strict), "not in labels.txt"));
}

}  // namespace

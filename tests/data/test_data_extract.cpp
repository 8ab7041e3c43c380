// Patch geometry: a dot in the section lands where the inverse mapping says, under rotation,
// mirror, translation and scaling; pyramid levels give the same patch as resampling level 0;
// pixels outside the section take the background value; no augmentation = an exact crop; the
// AVX2 resampling gives the portable bits.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "data/extract.h"
#include "data/resample.h"
#include "data_test_util.h"

using namespace cytocon::data;
using namespace cytocon::data::testing;

namespace {

constexpr int S = 101;  // c = 50

// One section, 401×401 at 2 µm/px, zero except a dot at pixel (250, 200) and one at (200, 230);
// one centreline point at the centre of pixel (200, 200).
std::shared_ptr<Dataset> dot_dataset(bool second_dot = true) {
  const std::string dir = temp_dir("dot");
  std::vector<uint8_t> px(401 * 401, 0);
  px[200 * 401 + 250] = 255;
  if (second_dot) px[230 * 401 + 200] = 128;
  TiffWriteOptions o;
  o.tile = 64;
  write_tiff(dir + "/s.tif", px.data(), 401, 401, 8, o);
  write_text(dir + "/labels.txt", "A\n");
  write_text(dir + "/s.geojson", line_geojson("A", 200.5, 200.5 + 1e-9, 200.5));
  write_text(dir + "/manifest.csv", "brain,section,image,annotation,um_per_px\nb,s,s.tif,s.geojson,2\n");
  DatasetOptions d;
  d.quiet = true;
  return Dataset::open(dir, d);
}

std::vector<float> extract(const Dataset& ds, const AugmentParams& a, double um = 2.0, float bg = 0) {
  SampleRef r{0, 0, 0, 0, ds.points()[0].x, ds.points()[0].y};
  std::vector<float> out(S * S);
  ExtractScratch scratch;
  extract_patch(ds, r, a, ExtractConfig{S, um, bg}, out.data(), scratch);
  return out;
}

// Intensity-weighted centroid (row, column): bilinear weights of a dot reproduce its position.
std::pair<double, double> centroid(const std::vector<float>& v) {
  double s = 0, si = 0, sj = 0;
  for (size_t k = 0; k < v.size(); ++k) s += v[k], si += v[k] * double(k / S), sj += v[k] * double(k % S);
  return {si / s, sj / s};
}

TEST(Extract, NoAugmentationIsAnExactCrop) {
  auto ds = dot_dataset();
  ASSERT_EQ(ds->points().size(), 1u);
  const auto p = extract(*ds, no_augment());
  EXPECT_EQ(p[50 * S + 100], 1.0f);                 // (250, 200): offset (+50, 0)
  EXPECT_FLOAT_EQ(p[80 * S + 50], 128 / 255.0f);    // (200, 230): offset (0, +30)
  double sum = 0;
  for (float v : p) sum += v;
  EXPECT_FLOAT_EQ(static_cast<float>(sum), 1.0f + 128 / 255.0f);
}

TEST(Extract, RotationMirrorTranslationScale) {
  auto ds = dot_dataset();
  AugmentParams a;
  a.theta = static_cast<float>(M_PI / 2);  // q = c + R(θ)(u, v): offset (50, 0) ← (u, v) = (0, −50)
  auto p = extract(*ds, a);
  EXPECT_NEAR(p[0 * S + 50], 1.0f, 1e-5f);
  a = AugmentParams{};
  a.mirror = 1;  // v → −v: the dot at offset (0, +30) appears at row 50 − 30
  p = extract(*ds, a);
  EXPECT_FLOAT_EQ(p[20 * S + 50], 128 / 255.0f);
  EXPECT_EQ(p[50 * S + 100], 1.0f);  // on the mirror axis: unchanged
  a = AugmentParams{};
  a.shift_mm = 0.02f;  // 10 px at 2 µm/px, direction 0 (+x): the centre moves right
  p = extract(*ds, a);
  EXPECT_NEAR(p[50 * S + 90], 1.0f, 1e-5f);
  p = extract(*ds, no_augment(), 4.0);  // 4 µm/px from 2 µm/px: offsets halve
  EXPECT_NEAR(p[50 * S + 75], 1.0f, 1e-5f);
  EXPECT_NEAR(p[65 * S + 50], 128 / 255.0f, 1e-5f);
}

TEST(Extract, RandomRotationsLandWhereExpected) {
  auto ds = dot_dataset(false);
  for (int k = 0; k < 20; ++k) {
    AugmentParams a = draw_augment(9, 0, k);
    a.shift_mm = 0;
    a.filter = Filter::none;
    a.alpha = 1, a.beta = 0, a.gamma = 1;
    const auto p = extract(*ds, a);
    // (u, m·v) = R(−θ)(50, 0), m = −1 when mirrored.
    const double u = 50 * std::cos(a.theta), v = -50 * std::sin(a.theta) * (a.mirror ? -1 : 1);
    const auto [i, j] = centroid(p);
    EXPECT_NEAR(j, 50 + u, 0.5) << "theta " << a.theta;
    EXPECT_NEAR(i, 50 + v, 0.5) << "theta " << a.theta;
  }
}

TEST(Extract, BackgroundOutsideTheSection) {
  const std::string dir = temp_dir("bg");
  std::vector<uint8_t> px(64 * 64, 200);
  write_tiff(dir + "/s.tif", px.data(), 64, 64, 8, {});
  write_text(dir + "/labels.txt", "A\n");
  write_text(dir + "/s.geojson", line_geojson("A", 2.5, 2.5 + 1e-9, 2.5));
  write_text(dir + "/manifest.csv", "brain,section,image,annotation,um_per_px\nb,s,s.tif,s.geojson,2\n");
  DatasetOptions d;
  d.quiet = true;
  auto ds = Dataset::open(dir, d);
  const auto p = extract(*ds, no_augment(), 2.0, 0.25f);
  EXPECT_EQ(p[0], 0.25f);                 // far outside, top-left
  EXPECT_FLOAT_EQ(p[50 * S + 50], 200 / 255.0f);  // the point itself
  EXPECT_FLOAT_EQ(p[S * S - 1], 200 / 255.0f);  // offset (+50, +50): pixel (52, 52), inside
}

TEST(Extract, PyramidLevelMatchesResamplingLevelZero) {
  // A horizontal ramp (value = x): 2× box averages of a linear ramp are the ramp at the level
  // pixel centre, so level 1 and level 0 resampled at 4 µm/px agree to rounding.
  const std::string dir = temp_dir("ramp");
  std::vector<uint8_t> px(256 * 256);
  for (int y = 0; y < 256; ++y)
    for (int x = 0; x < 256; ++x) px[y * 256 + x] = static_cast<uint8_t>(x);
  TiffWriteOptions flat, pyr;
  pyr.pyramid = Pyramid::pages;
  pyr.min_level_px = 64;
  write_tiff(dir + "/flat.tif", px.data(), 256, 256, 8, flat);
  write_tiff(dir + "/pyr.tif", px.data(), 256, 256, 8, pyr);
  write_text(dir + "/labels.txt", "A\n");
  write_text(dir + "/s.geojson", line_geojson("A", 128, 128 + 1e-9, 128));
  write_text(dir + "/manifest.csv",
             "brain,section,image,annotation,um_per_px\nb,flat,flat.tif,s.geojson,2\nb,pyr,pyr.tif,s.geojson,2\n");
  DatasetOptions d;
  d.quiet = true;
  auto ds = Dataset::open(dir, d);
  ASSERT_EQ(ds->image(1).levels().size(), 3u);
  const int s = 41;
  std::vector<float> a(s * s), b(s * s);
  ExtractScratch scratch;
  AugmentParams aug;
  aug.theta = 0.3f;
  extract_patch(*ds, SampleRef{0, 0, 0, 0, 128, 128}, aug, ExtractConfig{s, 4.0, 0}, a.data(), scratch);
  extract_patch(*ds, SampleRef{0, 1, 1, 0, 128, 128}, aug, ExtractConfig{s, 4.0, 0}, b.data(), scratch);
  for (int i = 0; i < s * s; ++i) ASSERT_NEAR(a[i], b[i], 1.01f / 255) << i;
}

}  // namespace

// The AVX2 resampling gives the portable code's bits: random regions and transforms, rotated or
// not, at scale 1 (plain loads) and others (gathers), over rows that are not a multiple of 8 long.
TEST(Extract, Avx2ResamplingMatchesPortableBits) {
  if (!resample_avx2_available()) GTEST_SKIP() << "no AVX2 on this CPU";
  std::mt19937 rng(5);
  std::uniform_real_distribution<double> u(0, 1);
  for (int trial = 0; trial < 40; ++trial) {
    const int S = 37 + trial;
    const double scale = trial % 2 ? 1.0 : 0.3 + 2 * u(rng);
    const double theta = trial % 4 < 2 ? 0.0 : 6.3 * u(rng);
    PatchTransform t;
    t.axx = scale * std::cos(theta), t.axy = -scale * std::sin(theta);
    t.ayx = scale * std::sin(theta), t.ayy = scale * std::cos(theta);
    t.ox = 1000 * u(rng) - t.axx * S / 2.0 - t.axy * S / 2.0, t.oy = 1000 * u(rng) - t.ayx * S / 2.0 - t.ayy * S / 2.0;
    const Box b = footprint(t, S);
    std::vector<float> region(static_cast<size_t>(b.w * b.h));
    for (float& v : region) v = static_cast<float>(u(rng));
    std::vector<float> a(static_cast<size_t>(S) * S), v(a.size());
    resample_bilinear_portable(region.data(), b, t, S, a.data());
    resample_bilinear_avx2(region.data(), b, t, S, v.data());
    EXPECT_EQ(std::memcmp(a.data(), v.data(), a.size() * sizeof(float)), 0) << "trial " << trial;
  }
}

// Loader: batches equal the synchronous reference; the same bits for any rank count, thread
// count and prefetch depth; resuming mid-epoch; evaluation order; throughput.
#include <gtest/gtest.h>

#include "data/loader.h"
#include "data_test_util.h"

using namespace cytocon::data;
using namespace cytocon::data::testing;

namespace {

std::shared_ptr<Dataset> dataset() {
  static std::shared_ptr<Dataset> ds = [] {
    const std::string dir = temp_dir("loader");
    make_dataset(dir, 2, 5, 3);
    DatasetOptions o;
    o.spacing_um = 20;
    o.quiet = true;
    return Dataset::open(dir, o);
  }();
  return ds;
}

LoaderConfig config() {
  LoaderConfig c;
  c.patch_px = 33;
  c.um_per_px = 3.0;
  c.patches_per_area = 20;  // 60 samples per epoch
  c.batch_size = 16;        // 3 full batches (drop_last)
  c.seed = 5;
  c.threads = 2;
  c.prefetch = 2;
  return c;
}

std::vector<float> pixels(const Batch& b) { return b.x.to_vector<float>(); }

TEST(Loader, BatchesMatchTheReferenceExtraction) {
  Loader l(dataset(), config());
  EXPECT_EQ(l.samples_per_epoch(), 60);
  EXPECT_EQ(l.batches_per_epoch(), 3);
  l.start(0);
  for (int e = 0; e < 2; ++e)
    for (int b = 0; b < 3; ++b) {
      Batch got = l.next();
      EXPECT_EQ(got.epoch, e);
      EXPECT_EQ(got.batch, b);
      ASSERT_EQ(got.x.shape(), (cytocon::Shape{16, 33, 33, 1}));
      ASSERT_EQ(got.y.shape(), (cytocon::Shape{16}));
      const auto refs = l.sampler().range(e, b * 16, b * 16 + 16);
      ExtractScratch scratch;
      std::vector<float> want(33 * 33);
      const auto x = pixels(got);
      const auto y = got.y.to_vector<int32_t>();
      for (int k = 0; k < 16; ++k) {
        EXPECT_EQ(got.refs[k].point, refs[k].point);
        EXPECT_EQ(y[k], refs[k].label);
        extract_patch(*dataset(), refs[k], draw_augment(5, e, static_cast<uint32_t>(refs[k].index)),
                      ExtractConfig{33, 3.0, 1.0f}, want.data(), scratch);
        ASSERT_TRUE(std::equal(want.begin(), want.end(), x.begin() + k * 33 * 33));
      }
      for (float v : x) ASSERT_TRUE(v >= 0.0f && v <= 1.0f);
    }
  EXPECT_EQ(l.throughput().patches >= 96, true);
  EXPECT_GT(l.throughput().patches_per_s(), 0);
}

TEST(Loader, SameBitsForAnyRankAndThreadCount) {
  auto run = [&](int world, int rank, int threads, int prefetch) {
    LoaderConfig c = config();
    c.world = world, c.rank = rank, c.threads = threads, c.prefetch = prefetch;
    Loader l(dataset(), c);
    l.start(1);
    std::vector<float> all;
    for (int b = 0; b < 3; ++b) {
      auto x = pixels(l.next());
      all.insert(all.end(), x.begin(), x.end());
    }
    return all;
  };
  const auto ref = run(1, 0, 1, 1);
  EXPECT_EQ(run(1, 0, 3, 4), ref);
  for (int world : {2, 4}) {
    std::vector<std::vector<float>> parts;
    for (int r = 0; r < world; ++r) parts.push_back(run(world, r, 2, 2));
    // Interleave: per batch, rank slices in order.
    std::vector<float> cat;
    const size_t per = 16 / world * 33 * 33;
    for (int b = 0; b < 3; ++b)
      for (int r = 0; r < world; ++r) cat.insert(cat.end(), parts[r].begin() + b * per, parts[r].begin() + (b + 1) * per);
    EXPECT_EQ(cat, ref) << world << " ranks";
  }
}

TEST(Loader, ResumeMidEpoch) {
  Loader a(dataset(), config()), b(dataset(), config());
  a.start(2, 0);
  a.next();
  a.next();
  b.start(2, 2);
  EXPECT_EQ(pixels(a.next()), pixels(b.next()));
  EXPECT_EQ(a.next().epoch, 3);
}

TEST(Loader, EvaluationCoversTheSplitInOrderWithoutAugmentation) {
  LoaderConfig c = config();
  c.split = Split::test;
  c.patches_per_area = 0;
  c.augment = false;
  c.drop_last = false;
  Loader l(dataset(), c);
  const auto& pts = dataset()->points_in(Split::test);
  ASSERT_EQ(l.samples_per_epoch(), static_cast<int64_t>(pts.size()));
  l.start(0);
  size_t seen = 0;
  for (int64_t b = 0; b < l.batches_per_epoch(); ++b) {
    Batch batch = l.next();
    for (const auto& r : batch.refs) EXPECT_EQ(r.point, pts[seen++]);
  }
  EXPECT_EQ(seen, pts.size());
}

TEST(Loader, BadConfigurationsAreErrors) {
  LoaderConfig c = config();
  c.world = 3;  // 16 % 3 != 0
  EXPECT_THROW(Loader(dataset(), c), std::exception);
  c = config();
  c.split = Split::unseen;  // no unseen brain in this dataset
  EXPECT_THROW(Loader(dataset(), c), std::exception);
  c = config();
  c.batch_size = 64;  // > 60 samples per epoch with drop_last
  EXPECT_THROW(Loader(dataset(), c), std::exception);
}

}  // namespace

namespace {

TEST(Loader, BatchExtractorHookGetsTheSameRowsAndParameters) {
  // A whole-batch extractor (the GPU's interface) fed by the loader: here the CPU path itself,
  // so the batches must equal the ordinary loader's bit for bit.
  LoaderConfig c = config();
  int calls = 0;
  c.batch_extractor = [&](const std::vector<SampleRef>& refs, const std::vector<AugmentParams>& aug) {
    ++calls;
    cytocon::Tensor x = cytocon::Tensor::empty({static_cast<int64_t>(refs.size()), 33, 33, 1});
    ExtractScratch scratch;
    for (size_t k = 0; k < refs.size(); ++k)
      extract_patch(*dataset(), refs[k], aug[k], ExtractConfig{33, 3.0, 1.0f}, x.data<float>() + k * 33 * 33, scratch);
    return x;
  };
  Loader hooked(dataset(), c), plain(dataset(), config());
  hooked.start(1);
  plain.start(1);
  for (int b = 0; b < 3; ++b) {
    Batch h = hooked.next(), p = plain.next();
    EXPECT_EQ(h.x.to_vector<float>(), p.x.to_vector<float>());
    EXPECT_EQ(h.y.to_vector<int32_t>(), p.y.to_vector<int32_t>());
  }
  EXPECT_GE(calls, 3);
}

}  // namespace

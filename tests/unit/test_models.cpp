// Presets, parameter names/counts, initialisation and weight files of the networks (models/).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <omp.h>
#include <unistd.h>

#include "common/gradcheck.h"
#include "engine/io/safetensors.h"
#include "engine/ops.h"
#include "engine/rng.h"
#include "engine/tape.h"
#include "models/model.h"
#include "common/errors.h"

using namespace cytocon;
using namespace cytocon::models;

using cytocon::testing_util::error_of;

namespace {

std::string tmp_path(const std::string& name) {
  return ::testing::TempDir() + "/cytocon_models_" + std::to_string(::getpid()) + "_" + name;
}

int64_t count(const std::vector<Param>& ps) {
  int64_t n = 0;
  for (const auto& p : ps) n += p.value.numel();
  return n;
}

}  // namespace

TEST(Preset, SizesGiveOneByOneOutput) {
  Preset paper = preset_by_name("paper"), tiny = preset_by_name("tiny");
  EXPECT_EQ(paper.blocks, 6);
  EXPECT_EQ(paper.input_px, 1129);
  EXPECT_EQ(tiny.blocks, 5);
  EXPECT_EQ(tiny.input_px, 561);
  EXPECT_EQ(paper.feature_dim(), 128);
  EXPECT_EQ(tiny.feature_dim(), 128);
  EXPECT_EQ(encoder_output_px(paper, 1129), 1);
  EXPECT_EQ(encoder_output_px(tiny, 561), 1);
  // 1129 is the smallest size reaching 1×1 with 6 blocks (docs/design.md); a few larger sizes also
  // do (floor divisions) and are rejected by check_input_size all the same.
  EXPECT_EQ(encoder_output_px(paper, 1128), -1);
  EXPECT_EQ(encoder_output_px(paper, 1130), 1);
  EXPECT_EQ(encoder_output_px(tiny, 552), -1);
  EXPECT_EQ(encoder_output_px(tiny, 560), 1);
  EXPECT_EQ(encoder_output_px(paper, 2000), 7);  // 499 497 248 | 244 122 | 118 59 | 55 27 | 23 11 | 7
  EXPECT_EQ(encoder_output_px(tiny, 4), -1);
}

TEST(Preset, OtherSizesRejectedNamingTheValidSize) {
  Preset paper = preset_by_name("paper"), tiny = preset_by_name("tiny");
  EXPECT_NO_THROW(check_input_size(paper, 1129));
  EXPECT_NO_THROW(check_input_size(tiny, 561));
  for (int px : {1128, 1130, 561}) {
    std::string e = error_of([&] { check_input_size(paper, px); });
    EXPECT_NE(e.find(std::to_string(px)), std::string::npos) << e;
    EXPECT_NE(e.find("1129"), std::string::npos) << e;
  }
  for (int px : {560, 562, 1129}) {
    std::string e = error_of([&] { check_input_size(tiny, px); });
    EXPECT_NE(e.find("561"), std::string::npos) << e;
  }
  std::string e = error_of([] { preset_by_name("huge"); });
  EXPECT_NE(e.find("huge"), std::string::npos);
  EXPECT_NE(e.find("paper"), std::string::npos);
  EXPECT_NE(e.find("tiny"), std::string::npos);
}

TEST(Network, ParameterCountMatchesPyTorch) {
  // anchors/torch_bench.py: sum(p.numel() for p in Net().parameters()) = 696,528 (encoder f +
  // projection g, trainable parameters only: no running statistics, no classifier).
  Network net({"paper", true, 0, DType::f32});
  EXPECT_EQ(count(net.params()), 696528);
  EXPECT_EQ(net.params().size(), 6u * 6 + 5);
  EXPECT_EQ(net.buffers().size(), 6u * 4 + 2);
  Network tiny({"tiny", true, 0, DType::f32});
  // Paper minus block 6 (2 convs 128·128·9 + 4 BN vectors of 128) = 696528 − 295424 = 401104.
  EXPECT_EQ(count(tiny.params()), 696528 - 2 * 147456 - 4 * 128);
  Network ce({"paper", false, 113, DType::f32});
  EXPECT_EQ(count(ce.params()), 696528 - (2 * 16384 + 256 + 128) + 113 * 128 + 113);
}

TEST(Network, NamesShapesAndLarsFlagsAsDesign) {
  Network net({"tiny", true, 7, DType::f32});
  std::vector<Param> ps = net.params();
  ASSERT_EQ(ps.size(), 5u * 6 + 5 + 2);
  EXPECT_EQ(ps[0].name, "encoder.block1.conv1.weight");
  EXPECT_EQ(ps[0].value.shape(), (Shape{16, 5, 5, 1}));  // OHWI in memory
  EXPECT_TRUE(ps[0].lars_adapt);
  EXPECT_EQ(ps[1].name, "encoder.block1.bn1.weight");
  EXPECT_FALSE(ps[1].lars_adapt);
  EXPECT_EQ(ps[2].name, "encoder.block1.bn1.bias");
  EXPECT_FALSE(ps[2].lars_adapt);
  EXPECT_EQ(ps[3].name, "encoder.block1.conv2.weight");
  EXPECT_EQ(ps[3].value.shape(), (Shape{16, 3, 3, 16}));
  EXPECT_EQ(ps[6].name, "encoder.block2.conv1.weight");
  EXPECT_EQ(ps[6].value.shape(), (Shape{32, 3, 3, 16}));
  EXPECT_EQ(ps[27].name, "encoder.block5.conv2.weight");
  EXPECT_EQ(ps[27].value.shape(), (Shape{128, 3, 3, 128}));
  const char* heads[] = {"projection.fc1.weight", "projection.bn.weight", "projection.bn.bias",
                         "projection.fc2.weight", "projection.fc2.bias", "classifier.weight", "classifier.bias"};
  const bool adapt[] = {true, false, false, true, false, true, false};
  for (int i = 0; i < 7; ++i) {
    EXPECT_EQ(ps[30 + i].name, heads[i]);
    EXPECT_EQ(ps[30 + i].lars_adapt, adapt[i]) << heads[i];
    EXPECT_TRUE(ps[30 + i].value.requires_grad());
  }
  EXPECT_EQ(ps[35].value.shape(), (Shape{7, 128}));
  std::vector<Buffer> bs = net.buffers();
  EXPECT_EQ(bs[0].name, "encoder.block1.bn1.running_mean");
  EXPECT_EQ(bs[1].name, "encoder.block1.bn1.running_var");
  EXPECT_EQ(bs[bs.size() - 1].name, "projection.bn.running_var");
  EXPECT_NE(net.find("encoder.block3.bn2.running_var"), nullptr);
  EXPECT_EQ(net.find("encoder.block6.conv1.weight"), nullptr);  // tiny has 5 blocks
}

TEST(Network, HeNormalInitFromPhiloxByName) {
  Network a({"paper", true, 10, DType::f32}), b({"paper", true, 0, DType::f32}), c({"paper", true, 10, DType::f32});
  a.init(42);
  b.init(42);
  c.init(43);
  // A parameter's values depend only on (seed, name): the same with or without a classifier.
  EXPECT_EQ(a.find("encoder.block2.conv1.weight")->to_vector<float>(), b.find("encoder.block2.conv1.weight")->to_vector<float>());
  EXPECT_EQ(a.find("projection.fc2.weight")->to_vector<float>(), b.find("projection.fc2.weight")->to_vector<float>());
  EXPECT_NE(a.find("projection.fc2.weight")->to_vector<float>(), c.find("projection.fc2.weight")->to_vector<float>());
  // Element (o=3, c=5, p=1, q=2) of block2.conv2 (OIHW order index ((3·32+5)·3+1)·3+2) is
  // std·normal(i) with std = √(2/(32·9)); in memory (OHWI) it sits at ((3·3+1)·3+2)·32+5.
  const Rng rng(42, Purpose::init_weights, fnv1a32("encoder.block2.conv2.weight"));
  const double sd = std::sqrt(2.0 / (32 * 9));
  EXPECT_FLOAT_EQ(a.find("encoder.block2.conv2.weight")->data<float>()[((3 * 3 + 1) * 3 + 2) * 32 + 5],
                  static_cast<float>(sd * rng.normal(((3 * 32 + 5) * 3 + 1) * 3 + 2)));
  // Sample moments of the largest conv (147,456 values): mean 0, std √(2/1152).
  std::vector<float> w = a.find("encoder.block6.conv2.weight")->to_vector<float>();
  double s = 0, s2 = 0;
  for (float v : w) s += v, s2 += double(v) * v;
  const double mean = s / w.size(), sdev = std::sqrt(s2 / w.size() - mean * mean);
  EXPECT_NEAR(mean, 0.0, 4 * std::sqrt(2.0 / 1152) / std::sqrt(double(w.size())));
  EXPECT_NEAR(sdev / std::sqrt(2.0 / 1152), 1.0, 0.01);
  // BN γ = 1, β = 0, running mean 0 / var 1, biases 0.
  for (float v : a.find("encoder.block4.bn2.weight")->to_vector<float>()) EXPECT_EQ(v, 1.0f);
  for (float v : a.find("encoder.block4.bn2.bias")->to_vector<float>()) EXPECT_EQ(v, 0.0f);
  for (float v : a.find("projection.bn.running_var")->to_vector<float>()) EXPECT_EQ(v, 1.0f);
  for (float v : a.find("projection.bn.running_mean")->to_vector<float>()) EXPECT_EQ(v, 0.0f);
  for (float v : a.find("classifier.bias")->to_vector<float>()) EXPECT_EQ(v, 0.0f);
  // float64 networks get the same values (to float rounding).
  Network d({"paper", true, 0, DType::f64});
  d.init(42);
  EXPECT_EQ(d.find("projection.fc1.weight")->to(DType::f32).to_vector<float>(),
            a.find("projection.fc1.weight")->to_vector<float>());
}

TEST(Network, FrozenEncoderLeavesTrainableParams) {
  Network net({"tiny", false, 5, DType::f32});
  EXPECT_EQ(net.trainable_params().size(), net.params().size());
  net.set_encoder_frozen(true);
  std::vector<Param> t = net.trainable_params();
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[0].name, "classifier.weight");
  EXPECT_FALSE(net.find("encoder.block1.conv1.weight")->requires_grad());
  net.set_encoder_frozen(false);
  EXPECT_TRUE(net.find("encoder.block1.conv1.weight")->requires_grad());
}

TEST(Network, ForwardShapesAndInputChecks) {
  Network net({"tiny", true, 3, DType::f32});
  net.init(1);
  const Shards sh;
  Tensor x = test::random_tensor({2, 561, 561, 1}, 5, DType::f32, 0.0, 1.0);
  Tensor h, z, logits;
  {
    NoGrad ng;
    h = net.encode(x, true, sh);
    z = net.project(h, true, sh);
    logits = net.classify(h, sh);
  }
  EXPECT_EQ(h.shape(), (Shape{2, 128}));
  EXPECT_EQ(z.shape(), (Shape{2, 128}));
  EXPECT_EQ(logits.shape(), (Shape{2, 3}));
  for (int i = 0; i < 2; ++i) {
    double n2 = 0;
    for (int k = 0; k < 128; ++k) n2 += double(z.data<float>()[i * 128 + k]) * z.data<float>()[i * 128 + k];
    EXPECT_NEAR(n2, 1.0, 1e-5);  // rows of z have unit length
  }
  // Training mode moved the running statistics; inference mode leaves them alone.
  std::vector<float> rm = net.find("encoder.block1.bn1.running_mean")->to_vector<float>();
  EXPECT_NE(rm, std::vector<float>(16, 0.0f));
  {
    NoGrad ng;
    net.encode(x, false, sh);
  }
  EXPECT_EQ(net.find("encoder.block1.bn1.running_mean")->to_vector<float>(), rm);
  // Wrong sizes / layouts are rejected naming the valid size.
  Tensor bad = Tensor::zeros({1, 560, 560, 1});
  std::string e = error_of([&] { net.encode(bad, false, sh); });
  EXPECT_NE(e.find("561"), std::string::npos) << e;
  Tensor nchw = Tensor::zeros({1, 1, 561, 561});
  e = error_of([&] { net.encode(nchw, false, sh); });
  EXPECT_NE(e.find("NHWC"), std::string::npos) << e;
  Tensor f64 = Tensor::zeros({1, 561, 561, 1}, DType::f64);
  EXPECT_NE(error_of([&] { net.encode(f64, false, sh); }), "");
}

TEST(Weights, RoundTripInPyTorchLayout) {
  Network a({"tiny", true, 4, DType::f32});
  a.init(7);
  // Make the buffers distinctive so a lost buffer would show.
  Tensor* rv = a.find("encoder.block2.bn1.running_var");
  for (int64_t i = 0; i < rv->numel(); ++i) rv->data<float>()[i] = 0.5f + i;
  const std::string path = tmp_path("w.safetensors");
  save_weights(a, path, {{"note", "test"}});

  io::SafeTensors st = io::read_safetensors(path);
  EXPECT_EQ(st.metadata.at("format"), "cytocon-weights");
  EXPECT_EQ(st.metadata.at("preset"), "tiny");
  EXPECT_EQ(st.metadata.at("note"), "test");
  EXPECT_EQ(st.tensors.size(), a.params().size() + a.buffers().size());
  // Conv weights are OIHW in the file: file[o,c,p,q] = memory[o,p,q,c].
  const Tensor& f = st.get("encoder.block1.conv2.weight");
  ASSERT_EQ(f.shape(), (Shape{16, 16, 3, 3}));
  const Tensor* m = a.find("encoder.block1.conv2.weight");
  EXPECT_EQ(f.data<float>()[((2 * 16 + 7) * 3 + 1) * 3 + 0], m->data<float>()[((2 * 3 + 1) * 3 + 0) * 16 + 7]);
  EXPECT_EQ(st.get("classifier.weight").shape(), (Shape{4, 128}));  // linear stays [out,in]

  Network b({"tiny", true, 4, DType::f32});
  load_weights(b, path);
  for (const auto& p : a.params()) EXPECT_EQ(p.value.to_vector<float>(), b.find(p.name)->to_vector<float>()) << p.name;
  for (const auto& q : a.buffers()) EXPECT_EQ(q.value.to_vector<float>(), b.find(q.name)->to_vector<float>()) << q.name;

  // A float64 network loads the float32 file (converted).
  Network c({"tiny", true, 4, DType::f64});
  load_weights(c, path);
  EXPECT_EQ(c.find("projection.fc1.weight")->to(DType::f32).to_vector<float>(),
            a.find("projection.fc1.weight")->to_vector<float>());

  // Encoder-only load into a network with other heads; the heads stay as they were.
  Network d({"tiny", false, 9, DType::f32});
  d.init(99);
  std::vector<float> cls = d.find("classifier.weight")->to_vector<float>();
  load_weights(d, path, LoadScope::encoder);
  EXPECT_EQ(d.find("encoder.block5.conv2.weight")->to_vector<float>(),
            a.find("encoder.block5.conv2.weight")->to_vector<float>());
  EXPECT_EQ(d.find("classifier.weight")->to_vector<float>(), cls);

  // Full load into a network whose classifier differs: error names the file and the tensor.
  std::string e = error_of([&] { load_weights(d, path); });
  EXPECT_NE(e.find(path), std::string::npos) << e;
  EXPECT_NE(e.find("classifier.weight"), std::string::npos) << e;
  // Wrong preset: shapes/names missing.
  Network paper({"paper", true, 0, DType::f32});
  e = error_of([&] { load_weights(paper, path); });
  EXPECT_NE(e.find("preset 'tiny'"), std::string::npos) << e;
  // Without the metadata, the first missing tensor is named.
  std::vector<io::NamedTensor> mem;
  for (auto& t : st.tensors) mem.push_back({t.name, io::channels_last(t.value)});
  e = error_of([&] { load_state(paper, mem, "mem"); });
  EXPECT_NE(e.find("encoder.block6.conv1.weight"), std::string::npos) << e;
  std::remove(path.c_str());
}

TEST(Network, TrainingPassIsBitwiseIdenticalForAnyThreadCount) {
  // docs/design.md "Determinism": loss, every gradient and the running statistics of a whole
  // training-mode pass (encoder + projection + SupCon, classifier + CE) do not depend on the
  // number of OpenMP threads.
  const Tensor x = test::random_tensor({2, 561, 561, 1}, 21, DType::f32, 0.0, 1.0);
  const Tensor y = Tensor::from_vector<int32_t>({1, 1}, {2});
  auto pass = [&](int threads) {
    omp_set_num_threads(threads);
    Network net({"tiny", true, 2, DType::f32});
    net.init(5);
    const Shards sh;
    Tape tape;
    Tensor h = net.encode(x, true, sh);
    Tensor loss = ops::add(ops::supcon_loss(net.project(h, true, sh), y, 0.07), ops::cross_entropy(net.classify(h, sh), y, sh));
    tape.backward(loss);
    std::vector<std::vector<float>> out{loss.to_vector<float>()};
    for (const auto& p : net.params()) out.push_back(p.value.grad().to_vector<float>());
    for (const auto& b : net.buffers()) out.push_back(b.value.to_vector<float>());
    return out;
  };
  const int saved = omp_get_max_threads();
  const auto one = pass(1), two = pass(2), three = pass(3);
  omp_set_num_threads(saved);
  EXPECT_TRUE(one == two);
  EXPECT_TRUE(one == three);
  EXPECT_TRUE(std::isfinite(one[0][0]));
}

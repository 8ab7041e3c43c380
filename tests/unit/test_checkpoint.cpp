// Training-state checkpoints (engine/io/checkpoint.h): round trip of every field, atomic write,
// checksum verification, clear errors on truncated/corrupted/foreign files.
#include <gtest/gtest.h>

#include <unistd.h>

#include "engine/io/atomic_file.h"
#include "engine/io/checkpoint.h"
#include "engine/ops.h"
#include "engine/optim/optimizer.h"
#include "engine/tape.h"
#include "common/gradcheck.h"
#include "models/model.h"
#include "common/errors.h"

using namespace cytocon;
using namespace cytocon::io;

using cytocon::testing_util::contains;
using cytocon::testing_util::error_of;

namespace {

std::string tmp_path(const std::string& name) {
  return ::testing::TempDir() + "/cytocon_ckpt_" + std::to_string(::getpid()) + "_" + name;
}

TrainingState sample_state() {
  TrainingState s;
  std::vector<float> w(2 * 3 * 3 * 4);
  for (size_t i = 0; i < w.size(); ++i) w[i] = 0.25f * i - 3;
  s.model = {{"encoder.block1.conv1.weight", Tensor::from_vector(w, {2, 3, 3, 4})},
             {"encoder.block1.bn1.running_var", Tensor::from_vector<float>({1.5f, 2.5f}, {2})}};
  s.optimizer = {{"encoder.block1.conv1.weight", Tensor::full({2, 3, 3, 4}, -0.125)}};
  s.optimizer_name = "lars";
  s.step = 123456789012;
  s.epoch = 17;
  s.seed = 18446744073709551615ull;
  s.stage = "supcon";
  s.mode = "fast";
  s.precision = "bf16";
  s.config_toml = "[train]\nlr = 0.01 # \"checksum\":\"0\"\n";
  s.extra = {{"sampler", "cursor=5"}};
  return s;
}

}  // namespace

TEST(Checkpoint, RoundTripsEveryField) {
  const std::string path = tmp_path("a.ckpt");
  TrainingState s = sample_state();
  save_checkpoint(path, s);
  EXPECT_TRUE(is_checkpoint(path));
  TrainingState r = load_checkpoint(path);
  ASSERT_EQ(r.model.size(), 2u);
  for (const auto& t : s.model) {
    const NamedTensor* found = nullptr;
    for (const auto& u : r.model)
      if (u.name == t.name) found = &u;
    ASSERT_NE(found, nullptr) << t.name;
    EXPECT_EQ(found->value.shape(), t.value.shape()) << t.name;  // back in memory layout
    EXPECT_EQ(found->value.to_vector<float>(), t.value.to_vector<float>()) << t.name;
  }
  ASSERT_EQ(r.optimizer.size(), 1u);
  EXPECT_EQ(r.optimizer[0].name, "encoder.block1.conv1.weight");
  EXPECT_EQ(r.optimizer[0].value.to_vector<float>(), s.optimizer[0].value.to_vector<float>());
  EXPECT_EQ(r.optimizer_name, "lars");
  EXPECT_EQ(r.step, s.step);
  EXPECT_EQ(r.epoch, 17);
  EXPECT_EQ(r.seed, s.seed);
  EXPECT_EQ(r.stage, "supcon");
  EXPECT_EQ(r.mode, "fast");
  EXPECT_EQ(r.precision, "bf16");
  EXPECT_EQ(r.config_toml, s.config_toml);
  EXPECT_EQ(r.extra, s.extra);
  // In the file, the conv weight is OIHW so PyTorch reads it directly.
  SafeTensors st = read_safetensors(path);
  EXPECT_EQ(st.get("encoder.block1.conv1.weight").shape(), (Shape{2, 4, 3, 3}));
  EXPECT_EQ(st.get("optimizer.encoder.block1.conv1.weight").shape(), (Shape{2, 4, 3, 3}));
  EXPECT_EQ(st.metadata.at("format"), "cytocon-checkpoint");
  EXPECT_EQ(st.metadata.at("checksum").size(), 16u);
  // Saving the same state twice gives the same bytes.
  const std::string path2 = tmp_path("b.ckpt");
  save_checkpoint(path2, s);
  EXPECT_EQ(read_file(path), read_file(path2));
  std::remove(path.c_str());
  std::remove(path2.c_str());
}

TEST(Checkpoint, CorruptedOrTruncatedFilesAreRejectedNamingTheFile) {
  const std::string path = tmp_path("c.ckpt");
  save_checkpoint(path, sample_state());
  const std::string good = read_file(path);
  // One flipped bit in the tensor data: only the checksum can notice.
  std::string bad = good;
  bad[bad.size() - 5] ^= 0x10;
  write_file_atomic(path, bad);
  std::string e = error_of([&] { load_checkpoint(path); });
  EXPECT_TRUE(contains(e, path) && contains(e, "checksum mismatch") && contains(e, "corrupted")) << e;
  // A changed metadata value (step 17 → 18 in the header) is caught too.
  bad = good;
  size_t at = bad.find("\"epoch\":\"17\"");
  ASSERT_NE(at, std::string::npos);
  bad[at + 10] = '8';
  write_file_atomic(path, bad);
  e = error_of([&] { load_checkpoint(path); });
  EXPECT_TRUE(contains(e, path) && contains(e, "checksum mismatch")) << e;
  // Truncated anywhere: data, header, length field, empty.
  for (size_t len : {good.size() - 1, good.size() / 2, size_t(100), size_t(5), size_t(0)}) {
    write_file_atomic(path, good.substr(0, len));
    e = error_of([&] { load_checkpoint(path); });
    EXPECT_TRUE(contains(e, path) && contains(e, "truncated")) << "length " << len << ": " << e;
  }
  // A plain weights file is not a checkpoint.
  write_safetensors(path, {{"a", Tensor::zeros({2})}}, {{"format", "cytocon-weights"}});
  EXPECT_FALSE(is_checkpoint(path));
  e = error_of([&] { load_checkpoint(path); });
  EXPECT_TRUE(contains(e, path) && contains(e, "not a cytocon checkpoint")) << e;
  e = error_of([&] { load_checkpoint(path + ".missing"); });
  EXPECT_TRUE(contains(e, path + ".missing")) << e;
  std::remove(path.c_str());
}

TEST(Checkpoint, NetworkWeightsLoadFromACheckpoint) {
  models::Network a({"tiny", true, 0, DType::f32});
  a.init(3);
  TrainingState s;
  s.model = models::model_state(a);
  const std::string path = tmp_path("net.ckpt");
  save_checkpoint(path, s);
  models::Network b({"tiny", false, 6, DType::f32});
  models::load_weights(b, path, models::LoadScope::encoder);
  for (const auto& p : a.encoder().params()) EXPECT_EQ(b.find(p.name)->to_vector<float>(), p.value.to_vector<float>());
  models::Network c({"tiny", true, 0, DType::f32});
  models::load_weights(c, path);
  EXPECT_EQ(c.find("projection.fc2.bias")->to_vector<float>(), a.find("projection.fc2.bias")->to_vector<float>());
  std::remove(path.c_str());
}

TEST(Checkpoint, ResumingATrainingStepIsBitIdentical) {
  // Two LARS steps in one go == one step, checkpoint, a fresh network + optimiser loaded from
  // it, one more step: same weights, velocities and BN statistics, bit for bit (docs/design.md).
  const Tensor x = test::random_tensor({2, 561, 561, 1}, 8, DType::f32, 0.0, 1.0);
  const optim::LrSchedule sched{0.05, 2, 0, 0};  // warm-up: the resumed step count matters
  auto train_step = [&](models::Network& net, optim::Lars& opt) {
    const Shards sh;
    Tape tape;
    Tensor z = net.project(net.encode(x, true, sh), true, sh);
    tape.backward(ops::supcon_loss(z, Tensor::from_vector<int32_t>({0, 0}, {2}), 0.07));
    opt.step();
    opt.zero_grad();
  };
  models::Network a({"tiny", true, 0, DType::f32});
  a.init(4);
  optim::Lars oa(a.trainable_params(), sched);
  train_step(a, oa);
  train_step(a, oa);

  models::Network b({"tiny", true, 0, DType::f32});
  b.init(4);
  optim::Lars ob(b.trainable_params(), sched);
  train_step(b, ob);
  TrainingState st;
  st.model = models::model_state(b);
  st.optimizer = ob.state();
  st.step = ob.steps();
  const std::string path = tmp_path("resume.ckpt");
  save_checkpoint(path, st);

  TrainingState r = load_checkpoint(path);
  models::Network c({"tiny", true, 0, DType::f32});
  models::load_state(c, r.model, path);
  optim::Lars oc(c.trainable_params(), sched);
  oc.load_state(r.optimizer);
  oc.set_steps(r.step);
  train_step(c, oc);
  for (const auto& t : models::model_state(a))
    EXPECT_EQ(c.find(t.name)->to_vector<float>(), t.value.to_vector<float>()) << t.name;
  std::vector<NamedTensor> va = oa.state(), vc = oc.state();
  ASSERT_EQ(va.size(), vc.size());
  for (size_t i = 0; i < va.size(); ++i) EXPECT_EQ(va[i].value.to_vector<float>(), vc[i].value.to_vector<float>()) << va[i].name;
  std::remove(path.c_str());
}

// LARS and SGD-momentum (engine/optim/) against steps computed by hand; schedules; state.
#include <gtest/gtest.h>

#include <cmath>

#include "engine/optim/optimizer.h"
#include "common/errors.h"

using namespace cytocon;
using namespace cytocon::optim;

using cytocon::testing_util::error_of;

namespace {

template <class T>
Param make_param(const std::string& name, std::vector<T> w, std::vector<T> g, bool adapt) {
  const int64_t n = static_cast<int64_t>(w.size());
  Param p{name, Tensor::from_vector(w, {n}), adapt};
  p.value.set_requires_grad(true);
  p.value.grad() = Tensor::from_vector(g, {n});
  return p;
}

template <class T>
std::vector<double> values(const Param& p) {
  std::vector<double> out;
  for (T v : p.value.to_vector<T>()) out.push_back(v);
  return out;
}

void expect_near(const std::vector<double>& got, const std::vector<double>& want, double tol) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], tol) << "element " << i;
}

}  // namespace

template <class T>
class LarsTest : public ::testing::Test {};
using Types = ::testing::Types<float, double>;
TYPED_TEST_SUITE(LarsTest, Types);

TYPED_TEST(LarsTest, HandComputedSteps) {
  using T = TypeParam;
  const double tol = std::is_same<T, float>::value ? 2e-6 : 1e-12;
  // Weight w = (3,4), g = (0,1), wd = 0.5, η = 0.1, lr = 0.2, m = 0.9:
  //   g' = g + wd·w = (1.5, 3);  ‖w‖ = 5, ‖g'‖ = √11.25;  trust = 0.1·5/√11.25 = 0.1490712
  //   v = lr·trust·g' = (0.04472136, 0.08944272);  w = (2.95527864, 3.91055728)
  // Step 2 (same g): g' = (1.47763932, 2.95527864), trust = 0.1·‖w‖/‖g'‖ = 0.14835031
  //   v = 0.9·v + 0.2·trust·g' = (0.08409088, 0.16818175);  w = (2.87118777, 3.74237553)
  Param w = make_param<T>("fc.weight", {3, 4}, {0, 1}, true);
  // Excluded (BN γ / bias): v = m·v + lr·g, no decay, no trust: w = (1,2), g = (0.5,−0.5):
  //   step 1: v = (0.1, −0.1), w = (0.9, 2.1); step 2: v = (0.19, −0.19), w = (0.71, 2.29).
  Param b = make_param<T>("bn.bias", {1, 2}, {0.5, -0.5}, false);
  // Zero weight norm: trust = 1, g' = g + wd·0 = g, v = lr·g = (0.2, −0.4), w = (−0.2, 0.4).
  Param z = make_param<T>("zero.weight", {0, 0}, {1, -2}, true);
  Lars opt({w, b, z}, LrSchedule{0.2}, LarsConfig{0.1, 0.9, 0.5});
  opt.step();
  expect_near(values<T>(w), {2.955278640450004, 3.910557280900008}, tol);
  expect_near(values<T>(b), {0.9, 2.1}, tol);
  expect_near(values<T>(z), {-0.2, 0.4}, tol);
  EXPECT_EQ(opt.steps(), 1);
  opt.step();
  const double w1[2] = {2.955278640450004, 3.910557280900008};
  const double gp[2] = {0 + 0.5 * w1[0], 1 + 0.5 * w1[1]};
  const double trust = 0.1 * std::hypot(w1[0], w1[1]) / std::hypot(gp[0], gp[1]);
  EXPECT_NEAR(trust, 0.14835031, 1e-8);
  const double v2[2] = {0.9 * 0.04472135955 + 0.2 * trust * gp[0], 0.9 * 0.0894427191 + 0.2 * trust * gp[1]};
  expect_near(values<T>(w), {w1[0] - v2[0], w1[1] - v2[1]}, tol);
  expect_near(values<T>(w), {2.871187765344236, 3.742375530688471}, tol);
  expect_near(values<T>(b), {0.71, 2.29}, tol);
  // z: w1 = (−0.2, 0.4), g' = g + 0.5·w1 = (0.9, −1.8), trust = 0.1·‖w1‖/‖g'‖ = 0.1·0.4472136/2.0124612
  const double zt = 0.1 * std::hypot(0.2, 0.4) / std::hypot(0.9, 1.8);
  expect_near(values<T>(z), {-0.2 - (0.9 * 0.2 + 0.2 * zt * 0.9), 0.4 - (0.9 * -0.4 + 0.2 * zt * -1.8)}, tol);
  // The velocity is exposed for checkpoints.
  std::vector<io::NamedTensor> st = opt.state();
  ASSERT_EQ(st.size(), 3u);
  EXPECT_EQ(st[1].name, "bn.bias");
  expect_near({double(st[1].value.template to_vector<T>()[0]), double(st[1].value.template to_vector<T>()[1])},
              {0.19, -0.19}, tol);
}

TEST(Lars, ZeroGradientAndZeroWeightWithoutDecayLeaveWeightsAlone) {
  // wd = 0, g = 0: ‖g'‖ = 0 → trust 1, v = 0, w unchanged (no NaN from 0/0).
  Param w = make_param<float>("a.weight", {3, 4}, {0, 0}, true);
  Param z = make_param<float>("b.weight", {0, 0}, {0, 0}, true);
  Lars opt({w, z}, LrSchedule{1.0}, LarsConfig{0.001, 0.9, 0.0});
  opt.step();
  EXPECT_EQ(w.value.to_vector<float>(), (std::vector<float>{3, 4}));
  EXPECT_EQ(z.value.to_vector<float>(), (std::vector<float>{0, 0}));
}

TEST(Lars, DefaultsAreThePapers) {
  LarsConfig c;
  EXPECT_EQ(c.eta, 0.001);
  EXPECT_EQ(c.momentum, 0.9);
  EXPECT_EQ(c.weight_decay, 1e-6);
  LrSchedule s;
  EXPECT_EQ(s.lr(0), 0.01);
  EXPECT_EQ(s.lr(1000000), 0.01);
}

TEST(Lars, StateRoundTripResumesIdentically) {
  auto run = [](int steps_before, bool reload) {
    Param w = make_param<float>("w.weight", {1, -2, 3}, {0.1f, 0.2f, -0.3f}, true);
    Lars a({w}, LrSchedule{0.5}, LarsConfig{0.01, 0.9, 1e-3});
    for (int i = 0; i < steps_before; ++i) a.step();
    if (!reload) {
      a.step();
      return w.value.to_vector<float>();
    }
    Param w2 = make_param<float>("w.weight", w.value.to_vector<float>(), {0.1f, 0.2f, -0.3f}, true);
    Lars b({w2}, LrSchedule{0.5}, LarsConfig{0.01, 0.9, 1e-3});
    b.load_state(a.state());
    b.set_steps(a.steps());
    b.step();
    return w2.value.to_vector<float>();
  };
  EXPECT_EQ(run(3, false), run(3, true));
}

TEST(Lars, MissingGradientOrBadStateNamesTheParameter) {
  Param w = make_param<float>("encoder.block1.conv1.weight", {1, 2}, {0, 0}, true);
  w.value.grad() = Tensor();
  Lars opt({w}, LrSchedule{0.1});
  std::string e = error_of([&] { opt.step(); });
  EXPECT_NE(e.find("encoder.block1.conv1.weight"), std::string::npos) << e;
  e = error_of([&] { opt.load_state({{"other", Tensor::zeros({2})}}); });
  EXPECT_NE(e.find("encoder.block1.conv1.weight"), std::string::npos) << e;
  e = error_of([&] { opt.load_state({{"encoder.block1.conv1.weight", Tensor::zeros({3})}}); });
  EXPECT_NE(e.find("[3]"), std::string::npos) << e;
}

TEST(Sgd, HandComputedStepsWithMomentumAndDecay) {
  // PyTorch convention: v = m·v + (g + wd·w); w = w − lr·v. lr = 0.1, m = 0.9, wd = 0.01.
  // Weight w = (1, −2), g = (0.5, 0.25): step 1: g' = (0.51, 0.23), v = g', w = (0.949, −2.023)
  //   step 2: g' = (0.50949, 0.22977), v = (0.96849, 0.43677), w = (0.8521510, −2.066677)
  // Bias (no decay) w = (1), g = (2): v = 2, w = 0.8; v = 3.8, w = 0.42.
  Param w = make_param<double>("fc.weight", {1, -2}, {0.5, 0.25}, true);
  Param b = make_param<double>("fc.bias", {1}, {2}, false);
  SgdMomentum opt({w, b}, LrSchedule{0.1}, SgdConfig{0.9, 0.01});
  EXPECT_STREQ(opt.name(), "sgd");
  opt.step();
  expect_near(values<double>(w), {0.949, -2.023}, 1e-12);
  expect_near(values<double>(b), {0.8}, 1e-12);
  opt.step();
  expect_near(values<double>(w), {0.852151, -2.066677}, 1e-12);
  expect_near(values<double>(b), {0.42}, 1e-12);
  opt.zero_grad();
  EXPECT_FALSE(w.value.grad().defined());
}

TEST(Schedule, WarmupAndCosine) {
  LrSchedule s{1.0, 4, 10, 0.1};
  EXPECT_DOUBLE_EQ(s.lr(0), 0.25);
  EXPECT_DOUBLE_EQ(s.lr(3), 1.0);
  EXPECT_DOUBLE_EQ(s.lr(4), 1.0);                                   // cosine starts at base
  EXPECT_NEAR(s.lr(9), 0.1 + 0.9 * 0.5 * (1 + std::cos(M_PI * 0.5)), 1e-15);  // halfway
  EXPECT_DOUBLE_EQ(s.lr(14), 0.1);
  EXPECT_DOUBLE_EQ(s.lr(100), 0.1);
  LrSchedule w{2.0, 2, 0, 0};
  EXPECT_DOUBLE_EQ(w.lr(0), 1.0);
  EXPECT_DOUBLE_EQ(w.lr(50), 2.0);
}

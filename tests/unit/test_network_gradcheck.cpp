// Whole-network gradient check (issue 2, "a full-network gradient check on the tiny preset"):
// encoder f (5 blocks, 561 px) + projection g + SupCon loss, plus a classifier with
// cross-entropy, in float64, BN in training mode. Analytic gradients from one taped backward
// pass are compared with central finite differences of the loss
//   (a) for single elements of parameters spread over the whole depth, and
//   (b) along random directions in the space of ALL parameters at once (checks every gradient
//       element in aggregate: ∇L·d = (L(θ+εd) − L(θ−εd)) / 2ε).
// A forward pass at 561 px is costly, so the element subset is small and the batch is 3 (the
// smallest for which BN on the final 1×1 maps is not degenerate); labels {0,0,1} also exercise
// an anchor without positives.
#include <gtest/gtest.h>

#include <cmath>

#include "common/gradcheck.h"
#include "engine/ops.h"
#include "engine/rng.h"
#include "engine/tape.h"
#include "models/model.h"

using namespace cytocon;
using namespace cytocon::models;

namespace {

double total_loss(Network& net, const Tensor& x, const Tensor& y, const Shards& sh, Tensor* loss_out = nullptr) {
  Tensor h = net.encode(x, true, sh);
  Tensor z = net.project(h, true, sh);
  Tensor loss = ops::add(ops::supcon_loss(z, y, 0.07), ops::cross_entropy(net.classify(h, sh), y, sh));
  if (loss_out) *loss_out = loss;
  return loss.to(DType::f64).data<double>()[0];
}

}  // namespace

TEST(NetworkGradcheck, TinyPresetFloat64) {
  Network net({"tiny", true, 3, DType::f64});
  net.init(2021);
  // Move BN affine parameters and biases off their initial 1/0 so their gradients are generic.
  {
    const Rng rng(7, Purpose::test, 9);
    uint32_t k = 0;
    for (auto& p : net.params()) {
      if (p.lars_adapt) continue;
      const bool gamma = p.name.size() > 7 && p.name.compare(p.name.size() - 7, 7, ".weight") == 0;
      double* v = p.value.data<double>();
      for (int64_t i = 0; i < p.value.numel(); ++i) v[i] = gamma ? rng.uniform(k++, 0.5f, 1.5f) : rng.uniform(k++, -0.2f, 0.2f);
    }
  }
  const Tensor x = test::random_tensor({3, 561, 561, 1}, 11, DType::f64, 0.0, 1.0);
  const Tensor y = Tensor::from_vector<int32_t>({0, 0, 1}, {3});
  const Shards sh;

  // Analytic gradients.
  {
    Tape tape;
    Tensor loss;
    total_loss(net, x, y, sh, &loss);
    tape.backward(loss);
  }
  std::vector<Param> ps = net.params();
  std::vector<Tensor> grads;
  for (auto& p : ps) {
    ASSERT_TRUE(p.value.grad().defined()) << p.name;
    grads.push_back(p.value.grad().clone());
    for (double g : grads.back().to_vector<double>()) ASSERT_TRUE(std::isfinite(g)) << p.name;
  }

  NoGrad ng;
  // Step 1e-8: at 561 px the network has millions of ReLU/max-pool kinks, and with larger steps
  // some of them fall inside ±h of the current point (measured: 2% error at h = 1e-6, 1% at
  // 1e-7, < 1e-5 at 1e-8; round-off takes over at 1e-9). The tolerance still fails a wrong sign,
  // a wrong factor or a missing term by orders of magnitude.
  const double h = 1e-8, rtol = 1e-4, atol = 1e-9;
  // (a) single elements across the depth.
  const char* names[] = {"encoder.block1.conv1.weight", "encoder.block1.bn1.weight", "encoder.block3.conv2.weight",
                         "encoder.block5.bn2.bias",     "projection.fc1.weight",     "classifier.weight"};
  const Rng pick(3, Purpose::test, 4);
  double worst = 0;
  for (size_t j = 0; j < sizeof(names) / sizeof(names[0]); ++j) {
    size_t pi = 0;
    while (ps[pi].name != names[j]) ++pi;
    double* v = ps[pi].value.data<double>();
    const int64_t e = pick.below(static_cast<uint32_t>(j), static_cast<uint32_t>(ps[pi].value.numel()));
    const double v0 = v[e];
    v[e] = v0 + h;
    const double lp = total_loss(net, x, y, sh);
    v[e] = v0 - h;
    const double lm = total_loss(net, x, y, sh);
    v[e] = v0;
    const double num = (lp - lm) / (2 * h), an = grads[pi].data<double>()[e];
    const double err = std::fabs(an - num), mag = std::max(std::fabs(an), std::fabs(num));
    worst = std::max(worst, mag > 0 ? err / mag : 0.0);
    EXPECT_LE(err, atol + rtol * mag) << names[j] << "[" << e << "]: analytic " << an << ", numeric " << num;
    EXPECT_GT(mag, 1e-7) << names[j] << "[" << e << "]: gradient vanishes, the check would be vacuous";
  }
  // (b) random directions d (unit norm over all parameters).
  for (uint32_t dir = 0; dir < 2; ++dir) {
    const Rng rng(5, Purpose::test, 100 + dir);
    std::vector<std::vector<double>> d(ps.size());
    double n2 = 0;
    uint32_t k = 0;
    for (size_t i = 0; i < ps.size(); ++i) {
      d[i].resize(ps[i].value.numel());
      for (auto& di : d[i]) {
        di = rng.normal(k++);
        n2 += di * di;
      }
    }
    double analytic = 0;
    for (size_t i = 0; i < ps.size(); ++i)
      for (size_t e = 0; e < d[i].size(); ++e) analytic += (d[i][e] /= std::sqrt(n2)) * grads[i].data<double>()[e];
    auto shift = [&](double s) {
      for (size_t i = 0; i < ps.size(); ++i) {
        double* v = ps[i].value.data<double>();
        for (size_t e = 0; e < d[i].size(); ++e) v[e] += s * d[i][e];
      }
    };
    const double eps = h;
    shift(eps);
    const double lp = total_loss(net, x, y, sh);
    shift(-2 * eps);
    const double lm = total_loss(net, x, y, sh);
    shift(eps);
    const double num = (lp - lm) / (2 * eps);
    const double err = std::fabs(analytic - num), mag = std::max(std::fabs(analytic), std::fabs(num));
    worst = std::max(worst, err / mag);
    EXPECT_LE(err, atol + rtol * mag) << "direction " << dir << ": analytic " << analytic << ", numeric " << num;
  }
  std::printf("network gradcheck: worst relative error %.3g\n", worst);
}

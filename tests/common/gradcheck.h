// Gradient checking by central finite differences in float64, for any function of any number of
// tensors (ops, layers, whole networks), plus small helpers to make deterministic test tensors.
//
//   auto r = test::gradcheck([&](const std::vector<Tensor>& in) { return ops::relu(in[0]); },
//                            {test::random_tensor({3, 5}, 1)});
//   EXPECT_TRUE(r.ok) << r.report;
//
// The function may return a tensor of any shape: the checked scalar is L = Σ f(inputs)·R with a
// fixed random cotangent R (R = 1 when f returns one element, i.e. a loss). The analytic gradient
// comes from Tape::backward(out, R); the numeric one is (L(x+h) − L(x−h)) / 2h per element, with
// gradients disabled (NoGrad). An element passes when |analytic − numeric| <= atol + rtol·max(|a|,|n|).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "engine/rng.h"
#include "engine/tape.h"
#include "engine/tensor.h"

namespace cytocon::test {

// Values uniform in [lo, hi), a pure function of (seed, index): Philox, Purpose::test.
inline Tensor random_tensor(const Shape& shape, uint64_t seed, DType dt = DType::f64, double lo = -1.0,
                            double hi = 1.0) {
  Tensor t = Tensor::empty(shape, DType::f64);
  Rng rng(seed, Purpose::test, 1);
  double* p = t.data<double>();
  for (int64_t i = 0; i < t.numel(); ++i) {
    Philox4x32 b = rng.block(static_cast<uint32_t>(i));
    p[i] = lo + (hi - lo) * u01d(b.v[0], b.v[1]);
  }
  return dt == DType::f64 ? t : t.to(dt);
}

// int32 labels uniform in [0, classes).
inline Tensor random_labels(int64_t n, int classes, uint64_t seed) {
  Tensor t = Tensor::empty({n}, DType::i32);
  Rng rng(seed, Purpose::test, 2);
  for (int64_t i = 0; i < n; ++i) t.data<int32_t>()[i] = static_cast<int32_t>(rng.below(static_cast<uint32_t>(i), classes));
  return t;
}

// Max |a − b| over two tensors of the same shape (any float dtype), computed in double.
inline double max_abs_diff(const Tensor& a, const Tensor& b) {
  Tensor x = a.to(Device::cpu).to(DType::f64), y = b.to(Device::cpu).to(DType::f64);
  if (x.shape() != y.shape()) return INFINITY;
  double m = 0;
  for (int64_t i = 0; i < x.numel(); ++i) m = std::max(m, std::fabs(x.data<double>()[i] - y.data<double>()[i]));
  return m;
}

struct GradcheckOptions {
  double step = 1e-6;   // h
  double rtol = 1e-6;
  double atol = 1e-8;
  uint64_t seed = 12345;            // of the cotangent R
  std::vector<bool> wrt;            // which inputs to check (empty: every float input)
};

struct GradcheckResult {
  bool ok = true;
  double max_abs_err = 0;  // max |analytic − numeric|
  double max_rel_err = 0;  // max |a − n| / max(|a|, |n|) over elements with max(|a|,|n|) > atol
  int64_t checked = 0;     // elements compared
  std::string report;      // the first failures, or a summary
};

using TensorFn = std::function<Tensor(const std::vector<Tensor>&)>;

inline GradcheckResult gradcheck(const TensorFn& f, std::vector<Tensor> inputs, const GradcheckOptions& opt = {}) {
  GradcheckResult res;
  std::ostringstream rep;
  // Integer inputs (labels) are never differentiated.
  auto wanted = [&](size_t i) {
    const DType t = inputs[i].dtype();
    return (t == DType::f32 || t == DType::f64) && (opt.wrt.empty() || (i < opt.wrt.size() && opt.wrt[i]));
  };
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i].dtype() != DType::f64 && wanted(i)) {
      res.ok = false;
      res.report = "gradcheck: input " + std::to_string(i) + " is " + dtype_name(inputs[i].dtype()) + ", expected float64";
      return res;
    }
    if (inputs[i].dtype() == DType::f64) inputs[i] = inputs[i].clone();  // private copies, no history
    if (wanted(i)) inputs[i].set_requires_grad(true);
  }
  // Analytic: one taped pass, backward with the cotangent R.
  Tensor r;
  std::vector<Tensor> analytic(inputs.size());
  {
    Tape tape;
    Tensor out = f(inputs);
    r = out.numel() == 1 ? Tensor::full(out.shape(), 1.0, DType::f64) : random_tensor(out.shape(), opt.seed);
    tape.backward(out, r.to(out.dtype()));
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (!wanted(i)) continue;
      analytic[i] = inputs[i].grad().defined() ? inputs[i].grad().to(DType::f64) : Tensor::zeros(inputs[i].shape(), DType::f64);
      inputs[i].grad() = Tensor();
    }
  }
  // Numeric: central differences of L = Σ f·R.
  NoGrad no_grad;
  auto loss = [&]() {
    Tensor out = f(inputs).to(Device::cpu).to(DType::f64);
    double s = 0;
    for (int64_t k = 0; k < out.numel(); ++k) s += out.data<double>()[k] * r.data<double>()[k];
    return s;
  };
  int failures = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!wanted(i)) continue;
    double* x = inputs[i].data<double>();
    for (int64_t e = 0; e < inputs[i].numel(); ++e) {
      const double v = x[e];
      x[e] = v + opt.step;
      const double lp = loss();
      x[e] = v - opt.step;
      const double lm = loss();
      x[e] = v;
      const double num = (lp - lm) / (2 * opt.step);
      const double an = analytic[i].data<double>()[e];
      const double err = std::fabs(an - num), mag = std::max(std::fabs(an), std::fabs(num));
      res.max_abs_err = std::max(res.max_abs_err, err);
      if (mag > opt.atol) res.max_rel_err = std::max(res.max_rel_err, err / mag);
      ++res.checked;
      if (err > opt.atol + opt.rtol * mag) {
        res.ok = false;
        if (failures++ < 10)
          rep << "input " << i << " element " << e << ": analytic " << an << ", numeric " << num << " (|diff| " << err
              << ")\n";
      }
    }
  }
  rep << (res.ok ? "ok: " : "FAILED: ") << res.checked << " elements, max abs err " << res.max_abs_err
      << ", max rel err " << res.max_rel_err;
  res.report = rep.str();
  return res;
}

}  // namespace cytocon::test

#include "engine/optim/optimizer.h"

#include "engine/backend.h"

namespace cytocon::optim {

Optimizer::Optimizer(std::vector<Param> params, LrSchedule schedule)
    : params_(std::move(params)), schedule_(schedule) {
  velocity_.reserve(params_.size());
  for (const auto& p : params_) {
    check(p.value.defined(), "optimizer: parameter '" + p.name + "' is undefined");
    check(p.value.dtype() == DType::f32 || p.value.dtype() == DType::f64,
          "optimizer: parameter '" + p.name + "' has dtype " + dtype_name(p.value.dtype()) + ", expected float32/64");
    velocity_.push_back(Tensor::zeros(p.value.shape(), p.value.dtype(), p.value.device()));
  }
}

void Optimizer::step() {
  const double lr = schedule_.lr(steps_);
  for (size_t i = 0; i < params_.size(); ++i) {
    Param& p = params_[i];
    const Tensor& g = p.value.grad();
    check(g.defined(), "optimizer step: parameter '" + p.name + "' has no gradient (not used in the loss?)");
    check(g.shape() == p.value.shape() && g.dtype() == p.value.dtype() && g.device() == p.value.device(),
          "optimizer step: gradient of '" + p.name + "' is " + shape_str(g.shape()) + " " + dtype_name(g.dtype()) +
              ", expected " + shape_str(p.value.shape()) + " " + dtype_name(p.value.dtype()));
    update(p, velocity_[i], lr);
  }
  ++steps_;
}

void Optimizer::zero_grad() {
  for (auto& p : params_) p.value.grad() = Tensor();
}

std::vector<io::NamedTensor> Optimizer::state() const {
  std::vector<io::NamedTensor> out;
  out.reserve(params_.size());
  for (size_t i = 0; i < params_.size(); ++i) out.push_back({params_[i].name, velocity_[i]});
  return out;
}

void Optimizer::load_state(const std::vector<io::NamedTensor>& velocities) {
  check(velocities.size() == params_.size(),
        "optimizer state: " + std::to_string(velocities.size()) + " velocity tensors for " +
            std::to_string(params_.size()) + " parameters");
  for (size_t i = 0; i < params_.size(); ++i) {
    const io::NamedTensor* found = nullptr;
    for (const auto& v : velocities)
      if (v.name == params_[i].name) found = &v;
    check(found != nullptr, "optimizer state: no velocity for parameter '" + params_[i].name + "'");
    check(found->value.shape() == velocity_[i].shape() && found->value.dtype() == velocity_[i].dtype(),
          "optimizer state: velocity of '" + params_[i].name + "' is " + shape_str(found->value.shape()) + " " +
              dtype_name(found->value.dtype()) + ", expected " + shape_str(velocity_[i].shape()) + " " +
              dtype_name(velocity_[i].dtype()));
    velocity_[i].copy_from(found->value);
  }
}

Lars::Lars(std::vector<Param> params, LrSchedule schedule, LarsConfig cfg)
    : Optimizer(std::move(params), schedule), cfg_(cfg) {}

// docs/design.md: weights g ← g + wd·w, trust = η‖w‖/‖g‖ (1 if a norm is 0), v ← m·v + lr·trust·g, w ← w − v;
// BN γ/β and biases: v ← m·v + lr·g, w ← w − v.
void Lars::update(Param& p, Tensor& v, double lr) {
  Backend::LarsArgs a{lr, cfg_.momentum, cfg_.weight_decay, cfg_.eta, p.lars_adapt};
  backend_of(p.value).lars_step(p.value, p.value.grad(), v, a);
}

SgdMomentum::SgdMomentum(std::vector<Param> params, LrSchedule schedule, SgdConfig cfg)
    : Optimizer(std::move(params), schedule), cfg_(cfg) {}

// v ← m·v + (g + wd·w); w ← w − lr·v (wd only on lars_adapt params).
void SgdMomentum::update(Param& p, Tensor& v, double lr) {
  backend_of(p.value).sgd_step(p.value, p.value.grad(), v, lr, cfg_.momentum, p.lars_adapt ? cfg_.weight_decay : 0.0);
}

}  // namespace cytocon::optim

// Optimisers (docs/design.md, LARS paragraph). Policy lives here; the element loops are
// Backend::lars_step / Backend::sgd_step (engine/backend.h), so a step runs on the device of
// the parameters, with the same arithmetic on CPU and CUDA.
//
//   std::vector<Param> ps = net.trainable_params();   // after net.to(device)
//   optim::Lars opt(ps, optim::LrSchedule{0.01 * N / 128});
//   ... tape.backward(loss); opt.step(); opt.zero_grad();
//
// Every parameter given to an optimiser must have a gradient (value.grad() defined, same shape)
// when step() is called; a missing one is an error naming the parameter.
// Velocities start at zero, live on the parameter's device with its in-memory layout, and are
// exposed through state()/load_state() for checkpoints (engine/io/checkpoint.h).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/io/safetensors.h"
#include "engine/optim/param.h"
#include "engine/optim/schedule.h"

namespace cytocon::optim {

class Optimizer {
 public:
  Optimizer(std::vector<Param> params, LrSchedule schedule);
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  // One update of every parameter with lr = schedule().lr(steps()); then steps() += 1.
  void step();
  // Drop every parameter's gradient (grad() becomes undefined) before the next backward pass.
  void zero_grad();

  int64_t steps() const { return steps_; }     // updates done so far
  void set_steps(int64_t s) { steps_ = s; }    // resume
  double current_lr() const { return schedule_.lr(steps_); }
  const LrSchedule& schedule() const { return schedule_; }
  const std::vector<Param>& params() const { return params_; }
  virtual const char* name() const = 0;        // "lars" | "sgd"

  // Momentum buffers, one per parameter, named like the parameter, in-memory layout, on the
  // parameters' device. load_state copies values in (names and shapes must match exactly;
  // tensors may be on any device and must have the parameter's dtype).
  std::vector<io::NamedTensor> state() const;
  void load_state(const std::vector<io::NamedTensor>& velocities);

 protected:
  // Update one parameter p (gradient p.value.grad()) with velocity v at learning rate lr.
  virtual void update(Param& p, Tensor& v, double lr) = 0;

 private:
  std::vector<Param> params_;
  std::vector<Tensor> velocity_;
  LrSchedule schedule_;
  int64_t steps_ = 0;
};

// LARS with SimCLR's "classic momentum" (docs/design.md): for a weight w with gradient g
//   g ← g + wd·w;  trust = η‖w‖/‖g‖ if both norms > 0, else 1;  v ← m·v + lr·trust·g;  w ← w − v.
// Params with lars_adapt = false (BN γ/β, biases): v ← m·v + lr·g; w ← w − v.
struct LarsConfig {
  double eta = 0.001;
  double momentum = 0.9;
  double weight_decay = 1e-6;
};
class Lars final : public Optimizer {
 public:
  Lars(std::vector<Param> params, LrSchedule schedule, LarsConfig cfg = {});
  const char* name() const override { return "lars"; }
  const LarsConfig& config() const { return cfg_; }

 protected:
  void update(Param& p, Tensor& v, double lr) override;

 private:
  LarsConfig cfg_;
};

// SGD with momentum, PyTorch's convention: v ← m·v + (g + wd·w); w ← w − lr·v.
// Weight decay applies only to params with lars_adapt = true (BN γ/β and biases are excluded,
// the same policy as LARS); wd = 0 by default.
struct SgdConfig {
  double momentum = 0.9;
  double weight_decay = 0.0;
};
class SgdMomentum final : public Optimizer {
 public:
  SgdMomentum(std::vector<Param> params, LrSchedule schedule, SgdConfig cfg = {});
  const char* name() const override { return "sgd"; }
  const SgdConfig& config() const { return cfg_; }

 protected:
  void update(Param& p, Tensor& v, double lr) override;

 private:
  SgdConfig cfg_;
};

}  // namespace cytocon::optim

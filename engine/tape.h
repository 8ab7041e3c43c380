// Autograd tape. Ops record a backward closure while a Tape is active and grad mode is on;
// Tape::backward replays the closures in reverse. Gradients accumulate (in tape order, so the
// summation order is fixed) when a tensor feeds several ops.
//
//   Tape tape;                       // becomes the current tape of this thread
//   Tensor loss = ops::supcon_loss(model.forward(x), y, 0.07);
//   tape.backward(loss);             // fills .grad() of every tensor that requires grad
//
// Inside `NoGrad ng;` nothing is recorded (inference).
//
// Memory: an entry holds its outputs' autograd state (not their storage), and a closure should
// capture only the tensors its backward kernel reads plus GradSlots (Tensor::grad_ref()) of the
// tensors it sends gradients to, so an activation no backward reads is freed as soon as the
// forward pass drops it. Each closure is released once it has run.
#pragma once
#include <functional>
#include <vector>

#include "engine/tensor.h"

namespace cytocon {

class Tape {
 public:
  Tape();
  ~Tape();
  Tape(const Tape&) = delete;
  Tape& operator=(const Tape&) = delete;

  // The tape ops record on: the innermost live Tape of this thread, or null in a NoGrad scope
  // or when there is none.
  static Tape* current();
  // True when an op with these inputs must record itself.
  static bool recording(std::initializer_list<const Tensor*> inputs);

  // Record one op: `outputs` get requires_grad; `backward` reads the outputs' grad() and calls
  // accumulate_grad on the inputs that require it. It is skipped when no output received a
  // gradient. The tape keeps the outputs' AutogradMeta only, not the tensors.
  void record(std::vector<Tensor> outputs, std::function<void()> backward);

  // Seed d(loss)/d(loss) = 1 (loss must be a one-element tensor) and replay the tape backwards.
  void backward(const Tensor& loss);
  // Replay with a given output gradient (same shape as `out`).
  void backward(const Tensor& out, const Tensor& grad_out);
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    std::vector<std::shared_ptr<AutogradMeta>> outputs;
    std::function<void()> backward;
  };
  std::vector<Entry> entries_;
  Tape* previous_;
};

class NoGrad {
 public:
  NoGrad();
  ~NoGrad();
  NoGrad(const NoGrad&) = delete;
  NoGrad& operator=(const NoGrad&) = delete;

 private:
  bool previous_;
};

}  // namespace cytocon

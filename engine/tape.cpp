#include "engine/tape.h"

namespace cytocon {

namespace {
thread_local Tape* t_current = nullptr;
thread_local bool t_grad_enabled = true;
}  // namespace

Tape::Tape() : previous_(t_current) { t_current = this; }
Tape::~Tape() { t_current = previous_; }

Tape* Tape::current() { return t_grad_enabled ? t_current : nullptr; }

bool Tape::recording(std::initializer_list<const Tensor*> inputs) {
  if (!current()) return false;
  for (const Tensor* t : inputs)
    if (t && t->defined() && t->requires_grad()) return true;
  return false;
}

void Tape::record(std::vector<Tensor> outputs, std::function<void()> backward) {
  Entry e{{}, std::move(backward)};
  for (Tensor& o : outputs) {
    o.set_requires_grad(true);
    e.outputs.push_back(o.grad_ref().meta());
  }
  entries_.push_back(std::move(e));
}

void Tape::backward(const Tensor& loss) {
  check(loss.numel() == 1, "backward(loss): loss must have one element, got shape " + shape_str(loss.shape()));
  Tensor one = Tensor::full(loss.shape(), 1.0, loss.dtype()).to(loss.device());
  backward(loss, one);
}

void Tape::backward(const Tensor& out, const Tensor& grad_out) {
  check(out.requires_grad(), "backward: the output does not depend on anything that requires grad");
  const_cast<Tensor&>(out).accumulate_grad(grad_out);
  NoGrad no_grad;  // backward closures must not record
  for (auto it = entries_.rbegin(); it != entries_.rend(); ++it) {
    bool any = false;
    for (const auto& o : it->outputs) any = any || o->grad.defined();
    if (any) it->backward();
    *it = Entry{};  // frees what the closure saved, and gradients no live tensor refers to
  }
  entries_.clear();
}

NoGrad::NoGrad() : previous_(t_grad_enabled) { t_grad_enabled = false; }
NoGrad::~NoGrad() { t_grad_enabled = previous_; }

}  // namespace cytocon

#include "engine/optim/schedule.h"

#include <cmath>

namespace cytocon::optim {

double LrSchedule::lr(int64_t step) const {
  if (warmup_steps > 0 && step < warmup_steps)  // linear warm-up: base·(step+1)/warmup
    return base_lr * static_cast<double>(step + 1) / static_cast<double>(warmup_steps);
  if (cosine_steps <= 0) return base_lr;
  int64_t t = step - warmup_steps;
  if (t >= cosine_steps) return final_lr;
  // Cosine decay (Loshchilov & Hutter): final + (base − final)·(1 + cos(π·t/T))/2.
  const double pi = 3.141592653589793;
  return final_lr + (base_lr - final_lr) * 0.5 * (1.0 + std::cos(pi * static_cast<double>(t) / cosine_steps));
}

}  // namespace cytocon::optim

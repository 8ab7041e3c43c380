// Learning-rate schedule. Default: constant base_lr (the paper: lr = 0.01·N/128).
// Options: linear warm-up from base_lr/warmup_steps to base_lr over the first warmup_steps steps,
// then (if cosine_steps > 0) cosine decay from base_lr to final_lr over the next cosine_steps
// steps, constant final_lr after that.
#pragma once
#include <cstdint>

namespace cytocon::optim {

struct LrSchedule {
  double base_lr = 0.01;
  int64_t warmup_steps = 0;  // 0: no warm-up
  int64_t cosine_steps = 0;  // 0: no decay
  double final_lr = 0.0;
  // Learning rate of step `step` (0-based: the first update is step 0).
  double lr(int64_t step) const;
};

}  // namespace cytocon::optim

#include "engine/precision.h"

namespace cytocon {

const char* precision_name(Precision p) {
  static const char* const names[] = {"fp32", "tf32", "bf16"};
  return names[static_cast<int>(p)];
}

}  // namespace cytocon

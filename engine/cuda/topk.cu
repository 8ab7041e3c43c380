// Top-k class indices (no gradient), int32 [N,k], best first; ties go to the lower class index. A
// NaN score is rejected, as on the CPU.
#include <cfloat>
#include <cmath>
#include <vector>

#include "engine/cuda/common.cuh"
#include "engine/cuda/kernels.h"

namespace cytocon::cuda {
namespace {

// Selection by the order (score descending, index ascending): the t-th pick is the best element
// strictly after pick t−1 in that order.
__global__ void topk_kernel(const float* scores, int32_t* out, int64_t n, int64_t c, int k) {
  CYTOCON_GRID_LOOP(r, n) {
    const float* row = scores + r * c;
    float prev_s = FLT_MAX;
    int64_t prev_i = -1;
    for (int t = 0; t < k; ++t) {
      int64_t best = -1;
      for (int64_t j = 0; j < c; ++j) {
        const float s = row[j];
        const bool after_prev = prev_i < 0 || s < prev_s || (s == prev_s && j > prev_i);
        if (!after_prev) continue;
        if (best < 0 || s > row[best]) best = j;
      }
      out[r * k + t] = static_cast<int32_t>(best);
      prev_s = row[best];
      prev_i = best;
    }
  }
}

}  // namespace

Tensor topk(const Tensor& scores, int k) {
  check_f32(scores, "topk", "scores");
  const int64_t n = scores.dim(0), c = scores.dim(1);
  const std::vector<float> host = scores.to_vector<float>();  // evaluation only: the check is cheap
  for (size_t i = 0; i < host.size(); ++i)
    check(!std::isnan(host[i]), "cuda topk: score of sample " + std::to_string(i / c) + ", class " +
                                    std::to_string(i % c) + " is NaN (expected finite scores)");
  Tensor out = Tensor::empty({n, k}, DType::i32, Device::cuda);
  if (n)
    topk_kernel<<<blocks_for(n, 64), 64, 0, stream()>>>(fp(scores), static_cast<int32_t*>(out.raw()), n, c, k);
  CYTOCON_CUDA_LAUNCHED();
  return out;
}

}  // namespace cytocon::cuda

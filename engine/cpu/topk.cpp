#include "engine/cpu/topk.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <vector>

#include "engine/cpu/dispatch.h"
#include "engine/cpu/kernels.h"
#include "engine/tensor.h"

namespace cytocon::cpu {

template <class T>
void topk(int64_t n, int64_t c, const T* scores, int64_t k, int32_t* out) {
  for (int64_t i = 0; i < n * c; ++i)
    if (std::isnan(scores[i]))
      fail("topk: score of sample " + std::to_string(i / c) + ", class " + std::to_string(i % c) +
           " is NaN (expected finite scores)");
  std::vector<int32_t> idx(static_cast<size_t>(c));
  for (int64_t r = 0; r < n; ++r) {
    const T* s = scores + r * c;
    std::iota(idx.begin(), idx.end(), 0);
    std::partial_sort(idx.begin(), idx.begin() + k, idx.end(),
                      [s](int32_t a, int32_t b) { return s[a] > s[b] || (s[a] == s[b] && a < b); });
    std::copy(idx.begin(), idx.begin() + k, out + r * k);
  }
}

template void topk<float>(int64_t, int64_t, const float*, int64_t, int32_t*);
template void topk<double>(int64_t, int64_t, const double*, int64_t, int32_t*);

Tensor topk(const Tensor& scores, int k) {
  Tensor out = Tensor::empty({scores.dim(0), k}, DType::i32);
  dispatch(scores.dtype(), "topk", [&](auto t) {
    using T = decltype(t);
    topk<T>(scores.dim(0), scores.dim(1), scores.data<T>(), k, out.data<int32_t>());
  });
  return out;
}

}  // namespace cytocon::cpu

// Top-k: for each row of scores [n,c], the indices of the k largest values, best first; equal
// scores are ordered by the lower class index first. A NaN score is rejected.
#pragma once
#include <cstdint>

namespace cytocon::cpu {

template <class T> void topk(int64_t n, int64_t c, const T* scores, int64_t k, int32_t* out);

}  // namespace cytocon::cpu

// Softmax cross-entropy of logits [n,c] against int32 labels [n]:
//   ℓ_s = log Σ_j exp(l_sj) − l_s,y_s  (row max subtracted),  L = (1/N_global) Σ_s ℓ_s
// dL/dl_s = (softmax(l_s) − onehot(y_s)) / N_global.
#pragma once
#include <cstdint>

namespace cytocon::cpu {

// Throws naming the sample when a label is outside [0, c).
void check_class_labels(int64_t n, int64_t c, const int32_t* labels, const char* what);
// partials[t] = Σ ℓ_s over micro-shard t (samples [t·n/shards, (t+1)·n/shards), in order).
template <class T>
void cross_entropy_partials(int64_t n, int64_t c, const T* logits, const int32_t* labels, int shards, T* partials);
// dlogits = scale · (softmax − onehot), scale = dloss / N_global.
template <class T>
void cross_entropy_backward(int64_t n, int64_t c, const T* logits, const int32_t* labels, T scale, T* dlogits);

}  // namespace cytocon::cpu

// The ops of the method, with autograd. Each records its backward on the current Tape
// (engine/tape.h) and dispatches to backend(device) (engine/backend.h). One file per op in
// engine/ops/, named as the op's kernels in engine/cpu/ and engine/cuda/ (add, scale and cast:
// elementwise; flatten has no kernel).
#pragma once
#include "engine/backend.h"
#include "engine/shards.h"
#include "engine/tensor.h"

namespace cytocon::ops {

Tensor add(const Tensor& a, const Tensor& b);
Tensor scale(const Tensor& a, double s);

// Valid convolution, no bias. x NHWC [N,H,W,Cin], w OHWI [Cout,k,k,Cin] → [N,(H−k)/s+1,(W−k)/s+1,Cout].
Tensor conv2d(const Tensor& x, const Tensor& w, int stride, const Shards& sh);

// BatchNorm over every dim but the last. Training: batch statistics of the global batch, running
// statistics updated in place (momentum m: r ← (1−m)·r + m·batch, unbiased variance).
// Inference: running statistics, no update.
struct BatchNormArgs {
  bool training = true;
  double momentum = 0.1;
  double eps = 1e-5;
};
Tensor batch_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& running_mean,
                  Tensor& running_var, const BatchNormArgs& args, const Shards& sh);
// relu(batch_norm(x, ...)) in one op (docs/math.md "BatchNorm + ReLU"): keeps only x and y for
// backward, not the BN output; on the CPU the same bits as the two ops in sequence.
Tensor batch_norm_relu(const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& running_mean,
                       Tensor& running_var, const BatchNormArgs& args, const Shards& sh);

Tensor relu(const Tensor& x);
Tensor max_pool2d(const Tensor& x);  // 2×2, stride 2, floor
// y = x·wᵀ + b; b may be an undefined Tensor (no bias).
Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b, const Shards& sh);
Tensor flatten(const Tensor& x);  // [N, ...] → [N, rest]
// x in storage type dt (x itself when it already is); the gradient goes back in x's type. The
// encoder's bfloat16 activations (GPU, precision bf16) become float32 for the heads this way.
Tensor cast(const Tensor& x, DType dt);
Tensor l2_normalize(const Tensor& x, double eps = 1e-12);
// Supervised contrastive loss, eqs. 1–2 (docs/design.md), over all N rows of z (the global batch).
Tensor supcon_loss(const Tensor& z, const Tensor& labels, double tau);
// Softmax cross-entropy, mean over the global batch.
Tensor cross_entropy(const Tensor& logits, const Tensor& labels, const Shards& sh);
// Indices of the k largest scores per row (no gradient). int32 [N,k].
Tensor topk(const Tensor& scores, int k);

}  // namespace cytocon::ops

// Optimiser steps (engine/backend.h; engine/optim/ holds the policy): LARS ("classic momentum", docs/design.md) and SGD.
// The LARS norms ‖w‖ and ‖g + wd·w‖ are sums of squares in double (as the CPU reference) over the
// whole tensor: one block, each thread summing a fixed strided subset in index order, then a
// fixed pairwise tree — the same bits on every run. The trust ratio stays on the device.
// Element updates are rounded as the CPU's (IEEE intrinsics, no fused multiply-add): SGD and
// non-adapted LARS steps are bit-identical to the CPU; adapted ones up to the norms' order.
#include "engine/cuda/common.cuh"
#include "engine/cuda/kernels.h"

namespace cytocon::cuda {
namespace {

constexpr int kNormThreads = 512;

// norms[0] = ‖w‖², norms[1] = ‖g + wd·w‖² (wd = 0 when not adapting)
__global__ void norms_kernel(const float* w, const float* g, float wd, int64_t n, double* norms) {
  __shared__ double sw[kNormThreads], sg[kNormThreads];
  double aw = 0, ag = 0;
  for (int64_t i = threadIdx.x; i < n; i += kNormThreads) {
    const float gi = __fadd_rn(g[i], __fmul_rn(wd, w[i]));
    aw += double(w[i]) * double(w[i]);
    ag += double(gi) * double(gi);
  }
  sw[threadIdx.x] = aw;
  sg[threadIdx.x] = ag;
  __syncthreads();
  for (int h = kNormThreads / 2; h > 0; h >>= 1) {
    if (threadIdx.x < h) {
      sw[threadIdx.x] += sw[threadIdx.x + h];
      sg[threadIdx.x] += sg[threadIdx.x + h];
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) {
    norms[0] = sw[0];
    norms[1] = sg[0];
  }
}

// adapt: g' = g + wd·w; trust = η‖w‖/‖g'‖ if both > 0 else 1; v = m·v + lr·trust·g'; w −= v
// else:  v = m·v + lr·g; w −= v
__global__ void lars_kernel(float* w, const float* g, float* v, const double* norms, double lr, float m, float wd,
                            double eta, bool adapt, int64_t n) {
  double trust = 1.0;
  if (adapt) {
    const double nw = sqrt(norms[0]), ng = sqrt(norms[1]);
    if (nw > 0 && ng > 0) trust = eta * nw / ng;
  }
  const float step = static_cast<float>(lr * trust);
  CYTOCON_GRID_LOOP(i, n) {
    const float gi = adapt ? __fadd_rn(g[i], __fmul_rn(wd, w[i])) : g[i];
    v[i] = __fadd_rn(__fmul_rn(m, v[i]), __fmul_rn(step, gi));
    w[i] = __fsub_rn(w[i], v[i]);
  }
}

// v = m·v + (g + wd·w); w −= lr·v
__global__ void sgd_kernel(float* w, const float* g, float* v, float lr, float m, float wd, int64_t n) {
  CYTOCON_GRID_LOOP(i, n) {
    v[i] = __fadd_rn(__fmul_rn(m, v[i]), __fadd_rn(g[i], __fmul_rn(wd, w[i])));
    w[i] = __fsub_rn(w[i], __fmul_rn(lr, v[i]));
  }
}

void check_step(const Tensor& w, const Tensor& g, const Tensor& v, const char* op) {
  check_f32(w, op, "w");
  check_f32(g, op, "g");
  check_f32(v, op, "v");
}

}  // namespace

void lars_step(Tensor& w, const Tensor& g, Tensor& v, const Backend::LarsArgs& a) {
  check_step(w, g, v, "lars_step");
  const int64_t n = w.numel();
  if (!n) return;
  Scratch norms(2 * sizeof(double));
  if (a.adapt) {
    norms_kernel<<<1, kNormThreads, 0, stream()>>>(fp(w), fp(g), float(a.weight_decay), n, norms.as<double>());
    CYTOCON_CUDA_LAUNCHED();
  }
  lars_kernel<<<blocks_for(n), kThreads, 0, stream()>>>(fp(w), fp(g), fp(v), norms.as<double>(), a.lr,
                                                        float(a.momentum), float(a.weight_decay), a.eta,
                                                        a.adapt, n);
  CYTOCON_CUDA_LAUNCHED();
}

void sgd_step(Tensor& w, const Tensor& g, Tensor& v, double lr, double momentum, double weight_decay) {
  check_step(w, g, v, "sgd_step");
  const int64_t n = w.numel();
  if (n)
    sgd_kernel<<<blocks_for(n), kThreads, 0, stream()>>>(fp(w), fp(g), fp(v), float(lr), float(momentum),
                                                         float(weight_decay), n);
  CYTOCON_CUDA_LAUNCHED();
}

}  // namespace cytocon::cuda

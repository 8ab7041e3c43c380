// conv2d on the GPU: cuDNN in NHWC (filters NHWC = KRSC = our OHWI, cross-correlation = the
// engine's definition, no padding), or the direct kernels of conv2d_direct.cu for one input channel.
//
// Deterministic mode (default):
//   * algorithms are chosen from cuDNN's heuristics (no timing), only among those cuDNN reports
//     CUDNN_DETERMINISTIC (forward: all; backward data: ALGO_1; backward filter: ALGO_1 ...),
//     preferring IMPLICIT_PRECOMP_GEMM / ALGO_1; the choice is a function of the geometry, the
//     GPU and the cuDNN version only;
//   * every cuDNN call covers a fixed number of samples (kSamplesPerCall, or one micro-shard for
//     the weight gradient), so the bits of a sample's output never depend on the local batch,
//     i.e. on the number of ranks;
//   * weight gradients: one partial per micro-shard, combined on the device by the fixed tree
//     (reduce.cuh), then across ranks.
// Fast mode: cudnnFind timing on the whole local batch, weight gradient in one call, NCCL sum.
// Both modes: algorithms needing more than 1 GiB of workspace are skipped.
// Precision: fp32 = FMA math (no tensor cores), tf32 = tensor-op math on float data,
// bf16 = bfloat16 operands, float accumulation (compute type FLOAT), results rounded to bfloat16:
// activations (y, dx) are bfloat16 tensors read and written by cuDNN directly, float32 weights
// are converted per call, and the weight gradient is rounded to bfloat16 then widened to float.
#include <cuda_bf16.h>

#include <map>
#include <memory>
#include <mutex>
#include <tuple>
#include <vector>

#include "engine/cuda/common.cuh"
#include "engine/cuda/conv2d_direct.cuh"
#include "engine/cuda/kernels.h"
#include "engine/cuda/reduce.cuh"

namespace cytocon::cuda {
namespace {

constexpr int64_t kSamplesPerCall = 8;
constexpr size_t kWorkspaceLimit = size_t(1) << 30;

enum class Dir : int { forward, backward_data, backward_filter };

struct Geom {
  int64_t n, h, w, cin, cout, k, s;
  int64_t oh() const { return (h - k) / s + 1; }
  int64_t ow() const { return (w - k) / s + 1; }
};

struct Plan {
  int algo = 0;
  size_t workspace = 0;
  cudnnMathType_t math = CUDNN_FMA_MATH;
};
using PlanKey = std::tuple<int, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t>;
std::mutex g_plan_mu;
std::map<PlanKey, Plan> g_plans;

cudnnDataType_t data_type() {
  return cuda_mode().precision == Precision::bf16 ? CUDNN_DATA_BFLOAT16 : CUDNN_DATA_FLOAT;
}
cudnnMathType_t requested_math() {
  return cuda_mode().precision == Precision::fp32 ? CUDNN_FMA_MATH : CUDNN_TENSOR_OP_MATH;
}

// The four descriptors of one convolution problem with `nb` samples (destroyed on every exit,
// also when setting one of them throws).
struct Descs {
  cudnnTensorDescriptor_t x = nullptr, y = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;
  Descs(const Geom& g, int64_t nb, cudnnMathType_t math) {
    try {
      set(g, nb, math);
    } catch (...) {
      destroy();
      throw;
    }
  }
  ~Descs() { destroy(); }
  Descs(const Descs&) = delete;
  Descs& operator=(const Descs&) = delete;

 private:
  void set(const Geom& g, int64_t nb, cudnnMathType_t math) {
    const cudnnDataType_t dt = data_type();
    CYTOCON_CUDNN_CHECK(cudnnCreateTensorDescriptor(&x));
    CYTOCON_CUDNN_CHECK(cudnnCreateTensorDescriptor(&y));
    CYTOCON_CUDNN_CHECK(cudnnCreateFilterDescriptor(&w));
    CYTOCON_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&conv));
    CYTOCON_CUDNN_CHECK(cudnnSetTensor4dDescriptor(x, CUDNN_TENSOR_NHWC, dt, int(nb), int(g.cin), int(g.h), int(g.w)));
    CYTOCON_CUDNN_CHECK(
        cudnnSetTensor4dDescriptor(y, CUDNN_TENSOR_NHWC, dt, int(nb), int(g.cout), int(g.oh()), int(g.ow())));
    CYTOCON_CUDNN_CHECK(cudnnSetFilter4dDescriptor(w, dt, CUDNN_TENSOR_NHWC, int(g.cout), int(g.cin), int(g.k), int(g.k)));
    CYTOCON_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(conv, 0, 0, int(g.s), int(g.s), 1, 1, CUDNN_CROSS_CORRELATION,
                                                        CUDNN_DATA_FLOAT));
    CYTOCON_CUDNN_CHECK(cudnnSetConvolutionMathType(conv, math));
  }
  void destroy() {
    if (x) cudnnDestroyTensorDescriptor(x);
    if (y) cudnnDestroyTensorDescriptor(y);
    if (w) cudnnDestroyFilterDescriptor(w);
    if (conv) cudnnDestroyConvolutionDescriptor(conv);
    x = y = nullptr, w = nullptr, conv = nullptr;
  }
};

// Picks from cuDNN's list (heuristic order in deterministic mode, measured order in fast mode):
// the preferred algorithm if listed as usable, else the first usable one.
template <class Perf>
Plan pick(const std::vector<Perf>& perfs, int returned, int preferred, bool deterministic, const char* what,
          const Geom& g) {
  const Perf* chosen = nullptr;
  for (int i = 0; i < returned; ++i) {
    const Perf& p = perfs[i];
    if (p.status != CUDNN_STATUS_SUCCESS) continue;
    if (deterministic && p.determinism != CUDNN_DETERMINISTIC) continue;
    if (p.memory > kWorkspaceLimit) continue;
    // fp32 runs with FMA math (below): an entry that needs tensor-op math cannot run that way.
    if (cuda_mode().precision == Precision::fp32 && p.mathType != CUDNN_FMA_MATH && p.mathType != CUDNN_DEFAULT_MATH)
      continue;
    if (!chosen) chosen = &p;
    if (deterministic && static_cast<int>(p.algo) == preferred) {
      chosen = &p;
      break;
    }
  }
  if (!chosen)
    fail(std::string("cuDNN offers no ") + (deterministic ? "deterministic " : "") + what + " algorithm for input [" +
         std::to_string(g.n) + "," + std::to_string(g.h) + "," + std::to_string(g.w) + "," + std::to_string(g.cin) +
         "], " + std::to_string(g.cout) + " filters " + std::to_string(g.k) + "x" + std::to_string(g.k) + " stride " +
         std::to_string(g.s) + " in precision " + precision_name(cuda_mode().precision));
  // fp32 runs with FMA math whatever cuDNN reports (CUDNN_DEFAULT_MATH would allow TF32 on
  // Ampere and later); the descriptors of the query already asked for FMA math.
  const cudnnMathType_t math = cuda_mode().precision == Precision::fp32 ? CUDNN_FMA_MATH : chosen->mathType;
  return Plan{static_cast<int>(chosen->algo), chosen->memory, math};
}

Plan plan_for(Dir dir, const Geom& g, int64_t nb) {
  const CudaMode m = cuda_mode();
  const PlanKey key{static_cast<int>(dir), nb, g.h, g.w, g.cin, g.cout, g.k, g.s};
  {
    std::lock_guard<std::mutex> lock(g_plan_mu);
    auto it = g_plans.find(key);
    if (it != g_plans.end()) return it->second;
  }
  const bool det = m.reduce == ReduceMode::deterministic;
  // cudnnFind* allocates its own buffers with cudaMalloc, beside our caching allocator: hand the
  // cached blocks back first, once per geometry, so that it does not fail for want of memory.
  if (!det) cuda_release_cached_memory();
  Descs d(g, nb, requested_math());
  cudnnHandle_t h = cudnn_handle();
  Plan plan;
  if (dir == Dir::forward) {
    int count = 0, returned = 0;
    CYTOCON_CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithmMaxCount(h, &count));
    std::vector<cudnnConvolutionFwdAlgoPerf_t> perfs(count);
    if (det)
      CYTOCON_CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(h, d.x, d.w, d.conv, d.y, count, &returned, perfs.data()));
    else
      CYTOCON_CUDNN_CHECK(cudnnFindConvolutionForwardAlgorithm(h, d.x, d.w, d.conv, d.y, count, &returned, perfs.data()));
    plan = pick(perfs, returned, CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM, det, "forward convolution", g);
  } else if (dir == Dir::backward_data) {
    int count = 0, returned = 0;
    CYTOCON_CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithmMaxCount(h, &count));
    std::vector<cudnnConvolutionBwdDataAlgoPerf_t> perfs(count);
    if (det)
      CYTOCON_CUDNN_CHECK(
          cudnnGetConvolutionBackwardDataAlgorithm_v7(h, d.w, d.y, d.conv, d.x, count, &returned, perfs.data()));
    else
      CYTOCON_CUDNN_CHECK(
          cudnnFindConvolutionBackwardDataAlgorithm(h, d.w, d.y, d.conv, d.x, count, &returned, perfs.data()));
    plan = pick(perfs, returned, CUDNN_CONVOLUTION_BWD_DATA_ALGO_1, det, "backward-data convolution", g);
  } else {
    int count = 0, returned = 0;
    CYTOCON_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithmMaxCount(h, &count));
    std::vector<cudnnConvolutionBwdFilterAlgoPerf_t> perfs(count);
    if (det)
      CYTOCON_CUDNN_CHECK(
          cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, d.x, d.y, d.conv, d.w, count, &returned, perfs.data()));
    else
      CYTOCON_CUDNN_CHECK(
          cudnnFindConvolutionBackwardFilterAlgorithm(h, d.x, d.y, d.conv, d.w, count, &returned, perfs.data()));
    plan = pick(perfs, returned, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1, det, "backward-filter convolution", g);
  }
  // The perf entry's workspace is for the math type of cuDNN's query; the plan runs with
  // plan.math (fp32 forces FMA math, tf32/bf16 take the entry's), so size the workspace for
  // exactly what runs (a smaller one makes the call fail).
  Descs run(g, nb, plan.math);
  size_t need = 0;
  if (dir == Dir::forward)
    CYTOCON_CUDNN_CHECK(cudnnGetConvolutionForwardWorkspaceSize(
        h, run.x, run.w, run.conv, run.y, static_cast<cudnnConvolutionFwdAlgo_t>(plan.algo), &need));
  else if (dir == Dir::backward_data)
    CYTOCON_CUDNN_CHECK(cudnnGetConvolutionBackwardDataWorkspaceSize(
        h, run.w, run.y, run.conv, run.x, static_cast<cudnnConvolutionBwdDataAlgo_t>(plan.algo), &need));
  else
    CYTOCON_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterWorkspaceSize(
        h, run.x, run.y, run.conv, run.w, static_cast<cudnnConvolutionBwdFilterAlgo_t>(plan.algo), &need));
  if (need > plan.workspace) plan.workspace = need;
  std::lock_guard<std::mutex> lock(g_plan_mu);
  g_plans[key] = plan;
  return plan;
}

// A tensor's data as the conv's operand type: the tensor itself (float32 in fp32/tf32, bfloat16
// activations in bf16) or, for a float32 tensor in bf16 (weights, or the image), a bf16 copy.
class Operand {
 public:
  Operand(const Tensor& t, bool as_bf16) : t_(t) {
    if (!as_bf16 || t.dtype() == DType::bf16) return;
    const int64_t n = t.numel();
    copy_ = std::make_unique<Scratch>(sizeof(bf16) * n);
    if (n) convert_kernel<float, bf16><<<blocks_for(n), kThreads, 0, stream()>>>(fp(t), copy_->as<bf16>(), n);
    CYTOCON_CUDA_LAUNCHED();
  }
  const void* get() const { return copy_ ? copy_->get() : t_.raw(); }
  size_t elem() const { return copy_ ? sizeof(bf16) : dtype_size(t_.dtype()); }

 private:
  const Tensor& t_;
  std::unique_ptr<Scratch> copy_;
};
// An output: written directly (its own type), or for a float32 tensor in bf16 into a bf16 buffer
// widened on finish().
class Result {
 public:
  Result(Tensor& t, bool as_bf16) : t_(t) {
    if (as_bf16 && t.dtype() == DType::f32) copy_ = std::make_unique<Scratch>(sizeof(bf16) * t.numel());
  }
  void* get() const { return copy_ ? copy_->get() : t_.raw(); }
  size_t elem() const { return copy_ ? sizeof(bf16) : dtype_size(t_.dtype()); }
  void finish() {
    const int64_t n = t_.numel();
    if (!copy_ || !n) return;
    convert_kernel<bf16, float><<<blocks_for(n), kThreads, 0, stream()>>>(copy_->as<bf16>(), fp(t_), n);
    CYTOCON_CUDA_LAUNCHED();
  }

 private:
  Tensor& t_;
  std::unique_ptr<Scratch> copy_;
};

// base + elems elements. The offsets are whole samples (h·w·C elements) or whole filter sets, and
// C ≥ 16 in every layer cuDNN sees (channel counts 16…128; the one-channel image goes to
// conv2d_direct), so every pointer handed to cuDNN stays 32-byte aligned in bf16 as well.
const char* at(const void* base, int64_t elems, size_t elem) {
  return static_cast<const char*>(base) + static_cast<size_t>(elems) * elem;
}

// Samples per cuDNN call: a fixed chunk in deterministic mode (batch-size independent bits).
int64_t call_batch(int64_t n) {
  if (cuda_mode().reduce == ReduceMode::fast) return n;
  return n % kSamplesPerCall == 0 ? kSamplesPerCall : 1;
}

// x NHWC [N,H,W,Cin], w OHWI [Cout,k,k,Cin] (checked by engine/op_checks.h).
Geom geom_of(const Shape& x, const Shape& w, int stride) { return Geom{x[0], x[1], x[2], x[3], w[0], w[1], stride}; }

DirectGeom direct_geom(const Geom& g) { return DirectGeom{g.n, g.h, g.w, g.cout, g.k, g.s}; }

}  // namespace

void clear_conv_plans() {
  std::lock_guard<std::mutex> lock(g_plan_mu);
  g_plans.clear();
}

Tensor conv2d_forward(const Tensor& x, const Tensor& w, int stride) {
  check_act(x, "conv2d_forward", "x");
  check_f32(w, "conv2d_forward", "w");
  const Geom g = geom_of(x.shape(), w.shape(), stride);
  Tensor y = Tensor::empty({g.n, g.oh(), g.ow(), g.cout}, activation_dtype(), Device::cuda);
  if (g.n == 0) return y;
  if (direct_supported(g.cin, g.cout, g.k) && x.dtype() == DType::f32) {  // the image: float32
    by_storage(y, "conv2d_forward", "y",
               [&](auto t) { direct_forward(direct_geom(g), fp(x), fp(w), tp<decltype(t)>(y)); });
    return y;
  }
  const bool use_bf16 = cuda_mode().precision == Precision::bf16;
  const int64_t nb = call_batch(g.n), x_per = g.h * g.w * g.cin, y_per = g.oh() * g.ow() * g.cout;
  const Plan plan = plan_for(Dir::forward, g, nb);
  Descs d(g, nb, plan.math);
  Scratch ws(plan.workspace);
  Operand xo(x, use_bf16), wo(w, use_bf16);
  Result yo(y, use_bf16);
  const float one = 1.f, zero = 0.f;
  for (int64_t b = 0; b < g.n; b += nb)
    CYTOCON_CUDNN_CHECK(cudnnConvolutionForward(cudnn_handle(), &one, d.x, at(xo.get(), b * x_per, xo.elem()), d.w,
                                                wo.get(), d.conv, static_cast<cudnnConvolutionFwdAlgo_t>(plan.algo),
                                                ws.get(), plan.workspace, &zero, d.y,
                                                const_cast<char*>(at(yo.get(), b * y_per, yo.elem()))));
  yo.finish();
  return y;
}

Tensor conv2d_backward_data(const Tensor& dy, const Tensor& w, const Shape& x_shape, int stride) {
  check_act(dy, "conv2d_backward_data", "dy");
  check_f32(w, "conv2d_backward_data", "w");
  const Geom g = geom_of(x_shape, w.shape(), stride);
  Tensor dx = Tensor::empty(x_shape, dy.dtype(), Device::cuda);  // the gradient keeps dy's storage
  if (g.n == 0) return dx;
  if (direct_supported(g.cin, g.cout, g.k)) {
    by_storage(dy, "conv2d_backward_data", "dy", [&](auto t) {
      using T = decltype(t);
      direct_backward_data(direct_geom(g), tp<T>(dy), fp(w), tp<T>(dx));
    });
    return dx;
  }
  const bool use_bf16 = cuda_mode().precision == Precision::bf16;
  const int64_t nb = call_batch(g.n), x_per = g.h * g.w * g.cin, y_per = g.oh() * g.ow() * g.cout;
  const Plan plan = plan_for(Dir::backward_data, g, nb);
  Descs d(g, nb, plan.math);
  Scratch ws(plan.workspace);
  Operand dyo(dy, use_bf16), wo(w, use_bf16);
  Result dxo(dx, use_bf16);
  const float one = 1.f, zero = 0.f;
  for (int64_t b = 0; b < g.n; b += nb)
    CYTOCON_CUDNN_CHECK(cudnnConvolutionBackwardData(
        cudnn_handle(), &one, d.w, wo.get(), d.y, at(dyo.get(), b * y_per, dyo.elem()), d.conv,
        static_cast<cudnnConvolutionBwdDataAlgo_t>(plan.algo), ws.get(), plan.workspace, &zero, d.x,
        const_cast<char*>(at(dxo.get(), b * x_per, dxo.elem()))));
  dxo.finish();
  return dx;
}

Tensor conv2d_backward_weight(const Tensor& x, const Tensor& dy, const Shape& w_shape, int stride, const Shards& sh) {
  check_act(x, "conv2d_backward_weight", "x");
  check_act(dy, "conv2d_backward_weight", "dy");
  const Geom g = geom_of(x.shape(), w_shape, stride);
  const int64_t len = shape_numel(w_shape);
  const bool fast = cuda_mode().reduce == ReduceMode::fast || sh.mode == ReduceMode::fast;
  const int parts = fast ? 1 : sh.count;
  const int64_t per = parts == 1 ? g.n : sh.shard_size(g.n);
  Tensor partials = empty_f32({parts, len});
  if (direct_supported(g.cin, g.cout, g.k) && x.dtype() == DType::f32) {  // the image: float32
    by_storage(dy, "conv2d_backward_weight", "dy", [&](auto t) {
      direct_backward_weight(direct_geom(g), fp(x), tp<decltype(t)>(dy), parts, fp(partials));
    });
  } else if (per == 0) {
    partials.zero_();
  } else {
    const bool use_bf16 = cuda_mode().precision == Precision::bf16;
    const int64_t x_per = g.h * g.w * g.cin, y_per = g.oh() * g.ow() * g.cout;
    const Plan plan = plan_for(Dir::backward_filter, g, per);
    Descs d(g, per, plan.math);
    Scratch ws(plan.workspace);
    Operand xo(x, use_bf16), dyo(dy, use_bf16);
    Result dwo(partials, use_bf16);
    const float one = 1.f, zero = 0.f;
    for (int t = 0; t < parts; ++t)
      CYTOCON_CUDNN_CHECK(cudnnConvolutionBackwardFilter(
          cudnn_handle(), &one, d.x, at(xo.get(), t * per * x_per, xo.elem()), d.y,
          at(dyo.get(), t * per * y_per, dyo.elem()), d.conv, static_cast<cudnnConvolutionBwdFilterAlgo_t>(plan.algo),
          ws.get(), plan.workspace, &zero, d.w, const_cast<char*>(at(dwo.get(), t * len, dwo.elem()))));
    dwo.finish();
  }
  Tensor dw = empty_f32(w_shape);
  if (fast) {
    sh.communicator().all_reduce_sum(fp(partials), static_cast<size_t>(len), Device::cuda);
  } else {
    combine_shards_device(sh, fp(partials), len);
  }
  CYTOCON_CUDA_CHECK(cudaMemcpyAsync(fp(dw), fp(partials), sizeof(float) * len, cudaMemcpyDeviceToDevice, stream()));
  return dw;
}

}  // namespace cytocon::cuda

// Emulated cuDNN for the CPU emulator of the CUDA backend: the subset of the legacy cuDNN API that
// engine/cuda/conv2d.cu and engine/cuda/context.cu call, defined with the real <cudnn.h> signatures
// and computed on host memory ("device" pointers are host pointers).
//
// Supported, as conv2d.cu uses it: NHWC tensors, NHWC (= KRSC) filters, float or bfloat16 data with
// float compute, cross-correlation, padding 0, any stride, dilation 1, group count 1. Any other
// configuration that real cuDNN accepts gives CUDNN_STATUS_NOT_SUPPORTED here; arguments that real
// cuDNN rejects (bad enums, non-positive sizes, mismatched descriptors, a missing or too small
// workspace) give CUDNN_STATUS_BAD_PARAM.
//
// What real cuDNN does that this does not:
//  * no algorithms: every algo runs the same direct loops; the algorithm lists, determinism
//    flags, times and workspace sizes are a fixed invention (see the tables below) made to
//    exercise conv2d.cu's choice and workspace handling;
//  * no tensor cores: TF32 / tensor-op math is computed in full float (no TF32 rounding of the
//    operands), bf16 operands are multiplied and summed in float;
//  * no streams: every call computes synchronously on the calling thread (OpenMP splits
//    independent outputs only), so ordering on the handle's stream holds trivially.
// Arithmetic: each output is one float accumulator summed in a fixed order (forward: p, q, c;
// backward data: p, q, o; backward filter: n, i, j), then y = alpha·acc + beta·y_old in float,
// y_old not read when beta == 0 (as cuDNN documents), rounded to bf16 for bf16 data. The bits
// are a function of the inputs only; one sample's output does not depend on the batch size.
#include <cuda_bf16.h>
#include <cudnn.h>

#include <cstdint>
#include <cstring>
#include <vector>

struct cudnnContext {
  cudaStream_t stream = nullptr;  // recorded only
};
struct cudnnTensorStruct {
  bool set = false;
  cudnnTensorFormat_t format = CUDNN_TENSOR_NCHW;
  cudnnDataType_t type = CUDNN_DATA_FLOAT;
  int n = 0, c = 0, h = 0, w = 0;
};
struct cudnnFilterStruct {
  bool set = false;
  cudnnTensorFormat_t format = CUDNN_TENSOR_NCHW;
  cudnnDataType_t type = CUDNN_DATA_FLOAT;
  int k = 0, c = 0, r = 0, s = 0;
};
struct cudnnConvolutionStruct {
  bool set = false;
  int pad_h = 0, pad_w = 0, u = 1, v = 1, dil_h = 1, dil_w = 1;
  cudnnConvolutionMode_t mode = CUDNN_CROSS_CORRELATION;
  cudnnDataType_t compute = CUDNN_DATA_FLOAT;
  cudnnMathType_t math = CUDNN_DEFAULT_MATH;  // cuDNN's default
};

namespace {

// One convolution problem: x [n,h,w,c] (*) w [k,r,s,c] -> y [n,oh,ow,k], all NHWC.
struct Problem {
  int64_t n, h, w, c, k, r, s, oh, ow, u, v;
  cudnnDataType_t type;
};

bool valid_format(cudnnTensorFormat_t f) {
  return f == CUDNN_TENSOR_NCHW || f == CUDNN_TENSOR_NHWC || f == CUDNN_TENSOR_NCHW_VECT_C;
}

// Checks the four descriptors of one problem: BAD_PARAM for misuse, NOT_SUPPORTED for what
// real cuDNN would run but this emulator does not.
cudnnStatus_t make_problem(cudnnTensorDescriptor_t x, cudnnFilterDescriptor_t w, cudnnConvolutionDescriptor_t conv,
                           cudnnTensorDescriptor_t y, Problem* p) {
  if (!x || !w || !conv || !y || !x->set || !w->set || !conv->set || !y->set) return CUDNN_STATUS_BAD_PARAM;
  if (x->type != w->type || x->type != y->type) return CUDNN_STATUS_BAD_PARAM;
  if (x->c != w->c || y->c != w->k || y->n != x->n) return CUDNN_STATUS_BAD_PARAM;
  const int oh = (x->h + 2 * conv->pad_h - ((w->r - 1) * conv->dil_h + 1)) / conv->u + 1;
  const int ow = (x->w + 2 * conv->pad_w - ((w->s - 1) * conv->dil_w + 1)) / conv->v + 1;
  if (oh < 1 || ow < 1 || y->h != oh || y->w != ow) return CUDNN_STATUS_BAD_PARAM;
  if (x->format != CUDNN_TENSOR_NHWC || y->format != CUDNN_TENSOR_NHWC || w->format != CUDNN_TENSOR_NHWC)
    return CUDNN_STATUS_NOT_SUPPORTED;
  if (x->type != CUDNN_DATA_FLOAT && x->type != CUDNN_DATA_BFLOAT16) return CUDNN_STATUS_NOT_SUPPORTED;
  if (conv->compute != CUDNN_DATA_FLOAT || conv->mode != CUDNN_CROSS_CORRELATION) return CUDNN_STATUS_NOT_SUPPORTED;
  if (conv->pad_h || conv->pad_w || conv->dil_h != 1 || conv->dil_w != 1) return CUDNN_STATUS_NOT_SUPPORTED;
  *p = Problem{x->n, x->h, x->w, x->c, w->k, w->r, w->s, oh, ow, conv->u, conv->v, x->type};
  return CUDNN_STATUS_SUCCESS;
}

// ---- the invented algorithm lists, in the order the queries report them ----
// A non-deterministic entry comes first (conv2d.cu's deterministic mode must skip it; its fast
// mode takes it), then an entry cuDNN reports NOT_SUPPORTED (FFT has no NHWC kernels), then the
// deterministic ones, conv2d.cu's preferred algorithm last. Workspace: `factor` times a size that
// grows with the filter, never 0 for a supported entry.
struct Entry {
  int algo;
  cudnnStatus_t status;
  cudnnDeterminism_t determinism;
  size_t factor;
};
const std::vector<Entry> kForward = {
    {CUDNN_CONVOLUTION_FWD_ALGO_GEMM, CUDNN_STATUS_SUCCESS, CUDNN_NON_DETERMINISTIC, 3},  // real cuDNN: deterministic
    {CUDNN_CONVOLUTION_FWD_ALGO_FFT, CUDNN_STATUS_NOT_SUPPORTED, CUDNN_DETERMINISTIC, 0},
    {CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, CUDNN_STATUS_SUCCESS, CUDNN_DETERMINISTIC, 1},
    {CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM, CUDNN_STATUS_SUCCESS, CUDNN_DETERMINISTIC, 2}};
const std::vector<Entry> kBackwardData = {
    {CUDNN_CONVOLUTION_BWD_DATA_ALGO_0, CUDNN_STATUS_SUCCESS, CUDNN_NON_DETERMINISTIC, 1},
    {CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT, CUDNN_STATUS_NOT_SUPPORTED, CUDNN_DETERMINISTIC, 0},
    {CUDNN_CONVOLUTION_BWD_DATA_ALGO_1, CUDNN_STATUS_SUCCESS, CUDNN_DETERMINISTIC, 2}};
const std::vector<Entry> kBackwardFilter = {
    {CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0, CUDNN_STATUS_SUCCESS, CUDNN_NON_DETERMINISTIC, 1},
    {CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT, CUDNN_STATUS_NOT_SUPPORTED, CUDNN_DETERMINISTIC, 0},
    {CUDNN_CONVOLUTION_BWD_FILTER_ALGO_3, CUDNN_STATUS_SUCCESS, CUDNN_NON_DETERMINISTIC, 3},
    {CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1, CUDNN_STATUS_SUCCESS, CUDNN_DETERMINISTIC, 2}};

size_t workspace_bytes(const Problem& p, const Entry& e) {
  return e.factor * (256 + sizeof(float) * size_t(p.k * p.r * p.s * p.c));
}

// Workspace needed by `algo` for problem `p`, or NOT_SUPPORTED for an algorithm not listed as usable.
cudnnStatus_t required(const std::vector<Entry>& table, const Problem& p, int algo, size_t* bytes) {
  for (const Entry& e : table)
    if (e.algo == algo && e.status == CUDNN_STATUS_SUCCESS) {
      *bytes = workspace_bytes(p, e);
      return CUDNN_STATUS_SUCCESS;
    }
  return CUDNN_STATUS_NOT_SUPPORTED;
}

// The *_v7 and Find* queries: the table in its fixed order; every entry NOT_SUPPORTED if the
// problem is. mathType echoes the descriptor's (so an FMA request gets usable FMA entries).
template <class Perf, class Algo>
cudnnStatus_t query(const std::vector<Entry>& table, cudnnTensorDescriptor_t x, cudnnFilterDescriptor_t w,
                    cudnnConvolutionDescriptor_t conv, cudnnTensorDescriptor_t y, int requested, int* returned,
                    Perf* perfs) {
  if (requested <= 0 || !returned || !perfs) return CUDNN_STATUS_BAD_PARAM;
  Problem p{};
  const cudnnStatus_t st = make_problem(x, w, conv, y, &p);
  if (st == CUDNN_STATUS_BAD_PARAM) return st;
  *returned = 0;
  for (const Entry& e : table) {
    if (*returned == requested) break;
    Perf& r = perfs[(*returned)++];
    r = Perf{};
    r.algo = static_cast<Algo>(e.algo);
    r.status = st == CUDNN_STATUS_SUCCESS ? e.status : st;
    r.time = r.status == CUDNN_STATUS_SUCCESS ? float(*returned) : -1.f;
    r.memory = r.status == CUDNN_STATUS_SUCCESS ? workspace_bytes(p, e) : 0;
    r.determinism = e.determinism;
    r.mathType = conv->math;
  }
  return CUDNN_STATUS_SUCCESS;
}

template <class Algo>
cudnnStatus_t workspace_size(const std::vector<Entry>& table, cudnnTensorDescriptor_t x, cudnnFilterDescriptor_t w,
                             cudnnConvolutionDescriptor_t conv, cudnnTensorDescriptor_t y, Algo algo, size_t* bytes) {
  if (!bytes) return CUDNN_STATUS_BAD_PARAM;
  Problem p{};
  const cudnnStatus_t st = make_problem(x, w, conv, y, &p);
  return st != CUDNN_STATUS_SUCCESS ? st : required(table, p, static_cast<int>(algo), bytes);
}

// ---- data: operands widened to float, results written as alpha·acc + beta·old ----
std::vector<float> load(const void* src, int64_t count, cudnnDataType_t type) {
  std::vector<float> out(static_cast<size_t>(count));
  if (type == CUDNN_DATA_FLOAT) {
    std::memcpy(out.data(), src, sizeof(float) * out.size());
  } else {
    const __nv_bfloat16* b = static_cast<const __nv_bfloat16*>(src);
    for (size_t i = 0; i < out.size(); ++i) out[i] = __bfloat162float(b[i]);
  }
  return out;
}

void store(const std::vector<float>& acc, float alpha, float beta, void* dst, cudnnDataType_t type) {
  for (size_t i = 0; i < acc.size(); ++i) {
    if (type == CUDNN_DATA_FLOAT) {
      float* d = static_cast<float*>(dst) + i;
      *d = beta == 0.f ? alpha * acc[i] : alpha * acc[i] + beta * *d;
    } else {
      __nv_bfloat16* d = static_cast<__nv_bfloat16*>(dst) + i;
      *d = __float2bfloat16(beta == 0.f ? alpha * acc[i] : alpha * acc[i] + beta * __bfloat162float(*d));
    }
  }
}

// Common checks of the three Convolution* calls, then the workspace scribble: cuDNN guarantees
// nothing about the workspace's contents before or after a call.
cudnnStatus_t prepare(cudnnHandle_t h, const void* alpha, const void* beta, const void* a, const void* b,
                      const void* out, const std::vector<Entry>& table, const Problem& p, int algo, void* ws,
                      size_t ws_bytes) {
  if (!h || !alpha || !beta || !a || !b || !out) return CUDNN_STATUS_BAD_PARAM;
  size_t need = 0;
  if (required(table, p, algo, &need) != CUDNN_STATUS_SUCCESS) return CUDNN_STATUS_NOT_SUPPORTED;
  if (ws_bytes < need || (!ws && ws_bytes > 0)) return CUDNN_STATUS_BAD_PARAM;
  if (ws_bytes) std::memset(ws, 0xFF, ws_bytes);
  return CUDNN_STATUS_SUCCESS;
}

int64_t x_at(const Problem& p, int64_t n, int64_t h, int64_t w) { return ((n * p.h + h) * p.w + w) * p.c; }
int64_t y_at(const Problem& p, int64_t n, int64_t i, int64_t j) { return ((n * p.oh + i) * p.ow + j) * p.k; }
int64_t w_at(const Problem& p, int64_t o, int64_t r, int64_t s) { return ((o * p.r + r) * p.s + s) * p.c; }

// y[n,i,j,o] = Σ_{r,s,c} x[n, u·i+r, v·j+s, c]·w[o,r,s,c]
std::vector<float> forward(const Problem& p, const std::vector<float>& x, const std::vector<float>& w) {
  std::vector<float> y(static_cast<size_t>(p.n * p.oh * p.ow * p.k));
#pragma omp parallel for schedule(static)
  for (int64_t ni = 0; ni < p.n * p.oh; ++ni) {
    const int64_t n = ni / p.oh, i = ni % p.oh;
    for (int64_t j = 0; j < p.ow; ++j)
      for (int64_t o = 0; o < p.k; ++o) {
        float acc = 0.f;
        for (int64_t r = 0; r < p.r; ++r)
          for (int64_t s = 0; s < p.s; ++s) {
            const float* xp = &x[x_at(p, n, p.u * i + r, p.v * j + s)];
            const float* wp = &w[w_at(p, o, r, s)];
            for (int64_t c = 0; c < p.c; ++c) acc += xp[c] * wp[c];
          }
        y[y_at(p, n, i, j) + o] = acc;
      }
  }
  return y;
}

// dx[n,h,w,c] = Σ_{r,s,o} dy[n,i,j,o]·w[o,r,s,c] over u·i+r = h, v·j+s = w
std::vector<float> backward_data(const Problem& p, const std::vector<float>& dy, const std::vector<float>& w) {
  std::vector<float> dx(static_cast<size_t>(p.n * p.h * p.w * p.c));
#pragma omp parallel for schedule(static)
  for (int64_t nh = 0; nh < p.n * p.h; ++nh) {
    const int64_t n = nh / p.h, hh = nh % p.h;
    for (int64_t ww = 0; ww < p.w; ++ww)
      for (int64_t c = 0; c < p.c; ++c) {
        float acc = 0.f;
        for (int64_t r = 0; r < p.r; ++r) {
          const int64_t ti = hh - r;
          if (ti < 0 || ti % p.u || ti / p.u >= p.oh) continue;
          for (int64_t s = 0; s < p.s; ++s) {
            const int64_t tj = ww - s;
            if (tj < 0 || tj % p.v || tj / p.v >= p.ow) continue;
            const float* dyp = &dy[y_at(p, n, ti / p.u, tj / p.v)];
            for (int64_t o = 0; o < p.k; ++o) acc += dyp[o] * w[w_at(p, o, r, s) + c];
          }
        }
        dx[x_at(p, n, hh, ww) + c] = acc;
      }
  }
  return dx;
}

// dw[o,r,s,c] = Σ_{n,i,j} x[n, u·i+r, v·j+s, c]·dy[n,i,j,o]
std::vector<float> backward_filter(const Problem& p, const std::vector<float>& x, const std::vector<float>& dy) {
  std::vector<float> dw(static_cast<size_t>(p.k * p.r * p.s * p.c));
#pragma omp parallel for schedule(static)
  for (int64_t o = 0; o < p.k; ++o)
    for (int64_t r = 0; r < p.r; ++r)
      for (int64_t s = 0; s < p.s; ++s)
        for (int64_t c = 0; c < p.c; ++c) {
          float acc = 0.f;
          for (int64_t n = 0; n < p.n; ++n)
            for (int64_t i = 0; i < p.oh; ++i)
              for (int64_t j = 0; j < p.ow; ++j)
                acc += x[x_at(p, n, p.u * i + r, p.v * j + s) + c] * dy[y_at(p, n, i, j) + o];
          dw[w_at(p, o, r, s) + c] = acc;
        }
  return dw;
}

template <class T>
cudnnStatus_t create(T** out) {
  if (!out) return CUDNN_STATUS_BAD_PARAM;
  *out = new T();
  return CUDNN_STATUS_SUCCESS;
}
template <class T>
cudnnStatus_t destroy(T* p) {
  delete p;  // cuDNN accepts a null descriptor here
  return CUDNN_STATUS_SUCCESS;
}

}  // namespace

extern "C" {

size_t cudnnGetVersion(void) { return CUDNN_VERSION; }  // the header's version, e.g. 91900

const char* cudnnGetErrorString(cudnnStatus_t status) {
  switch (status) {
    case CUDNN_STATUS_SUCCESS: return "CUDNN_STATUS_SUCCESS";
    case CUDNN_STATUS_BAD_PARAM: return "CUDNN_STATUS_BAD_PARAM";
    case CUDNN_STATUS_NOT_SUPPORTED: return "CUDNN_STATUS_NOT_SUPPORTED";
    default: return "CUDNN_STATUS_UNKNOWN (emulated cuDNN)";
  }
}

cudnnStatus_t cudnnCreate(cudnnHandle_t* handle) { return create(handle); }
cudnnStatus_t cudnnDestroy(cudnnHandle_t handle) { return handle ? destroy(handle) : CUDNN_STATUS_BAD_PARAM; }
cudnnStatus_t cudnnSetStream(cudnnHandle_t handle, cudaStream_t stream) {
  if (!handle) return CUDNN_STATUS_BAD_PARAM;
  handle->stream = stream;
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnCreateTensorDescriptor(cudnnTensorDescriptor_t* d) { return create(d); }
cudnnStatus_t cudnnDestroyTensorDescriptor(cudnnTensorDescriptor_t d) { return destroy(d); }
cudnnStatus_t cudnnSetTensor4dDescriptor(cudnnTensorDescriptor_t d, cudnnTensorFormat_t format,
                                         cudnnDataType_t type, int n, int c, int h, int w) {
  if (!d || !valid_format(format) || n <= 0 || c <= 0 || h <= 0 || w <= 0) return CUDNN_STATUS_BAD_PARAM;
  *d = cudnnTensorStruct{true, format, type, n, c, h, w};
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnCreateFilterDescriptor(cudnnFilterDescriptor_t* d) { return create(d); }
cudnnStatus_t cudnnDestroyFilterDescriptor(cudnnFilterDescriptor_t d) { return destroy(d); }
cudnnStatus_t cudnnSetFilter4dDescriptor(cudnnFilterDescriptor_t d, cudnnDataType_t type, cudnnTensorFormat_t format,
                                         int k, int c, int h, int w) {
  if (!d || !valid_format(format) || k <= 0 || c <= 0 || h <= 0 || w <= 0) return CUDNN_STATUS_BAD_PARAM;
  *d = cudnnFilterStruct{true, format, type, k, c, h, w};
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnCreateConvolutionDescriptor(cudnnConvolutionDescriptor_t* d) { return create(d); }
cudnnStatus_t cudnnDestroyConvolutionDescriptor(cudnnConvolutionDescriptor_t d) { return destroy(d); }
cudnnStatus_t cudnnSetConvolution2dDescriptor(cudnnConvolutionDescriptor_t d, int pad_h, int pad_w, int u, int v,
                                              int dilation_h, int dilation_w, cudnnConvolutionMode_t mode,
                                              cudnnDataType_t compute) {
  if (!d || pad_h < 0 || pad_w < 0 || u <= 0 || v <= 0 || dilation_h <= 0 || dilation_w <= 0 ||
      (mode != CUDNN_CONVOLUTION && mode != CUDNN_CROSS_CORRELATION))
    return CUDNN_STATUS_BAD_PARAM;
  const cudnnMathType_t math = d->math;  // the math type is set separately and kept
  *d = cudnnConvolutionStruct{true, pad_h, pad_w, u, v, dilation_h, dilation_w, mode, compute, math};
  return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnSetConvolutionMathType(cudnnConvolutionDescriptor_t d, cudnnMathType_t math) {
  if (!d || (math != CUDNN_DEFAULT_MATH && math != CUDNN_TENSOR_OP_MATH &&
             math != CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION && math != CUDNN_FMA_MATH))
    return CUDNN_STATUS_BAD_PARAM;
  d->math = math;
  return CUDNN_STATUS_SUCCESS;
}

// ---- forward ----
cudnnStatus_t cudnnGetConvolutionForwardAlgorithmMaxCount(cudnnHandle_t h, int* count) {
  if (!h || !count) return CUDNN_STATUS_BAD_PARAM;
  *count = CUDNN_CONVOLUTION_FWD_ALGO_COUNT;
  return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnGetConvolutionForwardAlgorithm_v7(cudnnHandle_t h, const cudnnTensorDescriptor_t x,
                                                     const cudnnFilterDescriptor_t w,
                                                     const cudnnConvolutionDescriptor_t conv,
                                                     const cudnnTensorDescriptor_t y, const int requested,
                                                     int* returned, cudnnConvolutionFwdAlgoPerf_t* perfs) {
  if (!h) return CUDNN_STATUS_BAD_PARAM;
  return query<cudnnConvolutionFwdAlgoPerf_t, cudnnConvolutionFwdAlgo_t>(kForward, x, w, conv, y, requested, returned,
                                                                         perfs);
}
// Real cuDNN times every algorithm here; the emulator reports the heuristic list with made-up times.
cudnnStatus_t cudnnFindConvolutionForwardAlgorithm(cudnnHandle_t h, const cudnnTensorDescriptor_t x,
                                                   const cudnnFilterDescriptor_t w,
                                                   const cudnnConvolutionDescriptor_t conv,
                                                   const cudnnTensorDescriptor_t y, const int requested,
                                                   int* returned, cudnnConvolutionFwdAlgoPerf_t* perfs) {
  return cudnnGetConvolutionForwardAlgorithm_v7(h, x, w, conv, y, requested, returned, perfs);
}
cudnnStatus_t cudnnGetConvolutionForwardWorkspaceSize(cudnnHandle_t h, const cudnnTensorDescriptor_t x,
                                                      const cudnnFilterDescriptor_t w,
                                                      const cudnnConvolutionDescriptor_t conv,
                                                      const cudnnTensorDescriptor_t y, cudnnConvolutionFwdAlgo_t algo,
                                                      size_t* bytes) {
  return h ? workspace_size(kForward, x, w, conv, y, algo, bytes) : CUDNN_STATUS_BAD_PARAM;
}
cudnnStatus_t cudnnConvolutionForward(cudnnHandle_t h, const void* alpha, const cudnnTensorDescriptor_t xd,
                                      const void* x, const cudnnFilterDescriptor_t wd, const void* w,
                                      const cudnnConvolutionDescriptor_t conv, cudnnConvolutionFwdAlgo_t algo,
                                      void* ws, size_t ws_bytes, const void* beta, const cudnnTensorDescriptor_t yd,
                                      void* y) {
  Problem p{};
  cudnnStatus_t st = make_problem(xd, wd, conv, yd, &p);
  if (st == CUDNN_STATUS_SUCCESS) st = prepare(h, alpha, beta, x, w, y, kForward, p, algo, ws, ws_bytes);
  if (st != CUDNN_STATUS_SUCCESS) return st;
  const auto out = forward(p, load(x, p.n * p.h * p.w * p.c, p.type), load(w, p.k * p.r * p.s * p.c, p.type));
  store(out, *static_cast<const float*>(alpha), *static_cast<const float*>(beta), y, p.type);
  return CUDNN_STATUS_SUCCESS;
}

// ---- backward data ----
cudnnStatus_t cudnnGetConvolutionBackwardDataAlgorithmMaxCount(cudnnHandle_t h, int* count) {
  if (!h || !count) return CUDNN_STATUS_BAD_PARAM;
  *count = CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT;
  return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnGetConvolutionBackwardDataAlgorithm_v7(cudnnHandle_t h, const cudnnFilterDescriptor_t w,
                                                          const cudnnTensorDescriptor_t dy,
                                                          const cudnnConvolutionDescriptor_t conv,
                                                          const cudnnTensorDescriptor_t dx, const int requested,
                                                          int* returned, cudnnConvolutionBwdDataAlgoPerf_t* perfs) {
  if (!h) return CUDNN_STATUS_BAD_PARAM;
  return query<cudnnConvolutionBwdDataAlgoPerf_t, cudnnConvolutionBwdDataAlgo_t>(kBackwardData, dx, w, conv, dy,
                                                                                 requested, returned, perfs);
}
cudnnStatus_t cudnnFindConvolutionBackwardDataAlgorithm(cudnnHandle_t h, const cudnnFilterDescriptor_t w,
                                                        const cudnnTensorDescriptor_t dy,
                                                        const cudnnConvolutionDescriptor_t conv,
                                                        const cudnnTensorDescriptor_t dx, const int requested,
                                                        int* returned, cudnnConvolutionBwdDataAlgoPerf_t* perfs) {
  return cudnnGetConvolutionBackwardDataAlgorithm_v7(h, w, dy, conv, dx, requested, returned, perfs);
}
cudnnStatus_t cudnnGetConvolutionBackwardDataWorkspaceSize(cudnnHandle_t h, const cudnnFilterDescriptor_t w,
                                                           const cudnnTensorDescriptor_t dy,
                                                           const cudnnConvolutionDescriptor_t conv,
                                                           const cudnnTensorDescriptor_t dx,
                                                           cudnnConvolutionBwdDataAlgo_t algo, size_t* bytes) {
  return h ? workspace_size(kBackwardData, dx, w, conv, dy, algo, bytes) : CUDNN_STATUS_BAD_PARAM;
}
cudnnStatus_t cudnnConvolutionBackwardData(cudnnHandle_t h, const void* alpha, const cudnnFilterDescriptor_t wd,
                                           const void* w, const cudnnTensorDescriptor_t dyd, const void* dy,
                                           const cudnnConvolutionDescriptor_t conv,
                                           cudnnConvolutionBwdDataAlgo_t algo, void* ws, size_t ws_bytes,
                                           const void* beta, const cudnnTensorDescriptor_t dxd, void* dx) {
  Problem p{};
  cudnnStatus_t st = make_problem(dxd, wd, conv, dyd, &p);
  if (st == CUDNN_STATUS_SUCCESS) st = prepare(h, alpha, beta, w, dy, dx, kBackwardData, p, algo, ws, ws_bytes);
  if (st != CUDNN_STATUS_SUCCESS) return st;
  const auto out =
      backward_data(p, load(dy, p.n * p.oh * p.ow * p.k, p.type), load(w, p.k * p.r * p.s * p.c, p.type));
  store(out, *static_cast<const float*>(alpha), *static_cast<const float*>(beta), dx, p.type);
  return CUDNN_STATUS_SUCCESS;
}

// ---- backward filter ----
cudnnStatus_t cudnnGetConvolutionBackwardFilterAlgorithmMaxCount(cudnnHandle_t h, int* count) {
  if (!h || !count) return CUDNN_STATUS_BAD_PARAM;
  *count = CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT;
  return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnGetConvolutionBackwardFilterAlgorithm_v7(cudnnHandle_t h, const cudnnTensorDescriptor_t x,
                                                            const cudnnTensorDescriptor_t dy,
                                                            const cudnnConvolutionDescriptor_t conv,
                                                            const cudnnFilterDescriptor_t dw, const int requested,
                                                            int* returned,
                                                            cudnnConvolutionBwdFilterAlgoPerf_t* perfs) {
  if (!h) return CUDNN_STATUS_BAD_PARAM;
  return query<cudnnConvolutionBwdFilterAlgoPerf_t, cudnnConvolutionBwdFilterAlgo_t>(kBackwardFilter, x, dw, conv, dy,
                                                                                     requested, returned, perfs);
}
cudnnStatus_t cudnnFindConvolutionBackwardFilterAlgorithm(cudnnHandle_t h, const cudnnTensorDescriptor_t x,
                                                          const cudnnTensorDescriptor_t dy,
                                                          const cudnnConvolutionDescriptor_t conv,
                                                          const cudnnFilterDescriptor_t dw, const int requested,
                                                          int* returned, cudnnConvolutionBwdFilterAlgoPerf_t* perfs) {
  return cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, x, dy, conv, dw, requested, returned, perfs);
}
cudnnStatus_t cudnnGetConvolutionBackwardFilterWorkspaceSize(cudnnHandle_t h, const cudnnTensorDescriptor_t x,
                                                             const cudnnTensorDescriptor_t dy,
                                                             const cudnnConvolutionDescriptor_t conv,
                                                             const cudnnFilterDescriptor_t dw,
                                                             cudnnConvolutionBwdFilterAlgo_t algo, size_t* bytes) {
  return h ? workspace_size(kBackwardFilter, x, dw, conv, dy, algo, bytes) : CUDNN_STATUS_BAD_PARAM;
}
cudnnStatus_t cudnnConvolutionBackwardFilter(cudnnHandle_t h, const void* alpha, const cudnnTensorDescriptor_t xd,
                                             const void* x, const cudnnTensorDescriptor_t dyd, const void* dy,
                                             const cudnnConvolutionDescriptor_t conv,
                                             cudnnConvolutionBwdFilterAlgo_t algo, void* ws, size_t ws_bytes,
                                             const void* beta, const cudnnFilterDescriptor_t dwd, void* dw) {
  Problem p{};
  cudnnStatus_t st = make_problem(xd, dwd, conv, dyd, &p);
  if (st == CUDNN_STATUS_SUCCESS) st = prepare(h, alpha, beta, x, dy, dw, kBackwardFilter, p, algo, ws, ws_bytes);
  if (st != CUDNN_STATUS_SUCCESS) return st;
  const auto out =
      backward_filter(p, load(x, p.n * p.h * p.w * p.c, p.type), load(dy, p.n * p.oh * p.ow * p.k, p.type));
  store(out, *static_cast<const float*>(alpha), *static_cast<const float*>(beta), dw, p.type);
  return CUDNN_STATUS_SUCCESS;
}

}  // extern "C"

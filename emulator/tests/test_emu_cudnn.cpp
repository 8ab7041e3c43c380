// The emulated cuDNN (emulator/cudnn.cpp) against the engine's CPU convolution in double
// (engine/cpu/conv2d.h): forward, backward data and backward filter on odd shapes (Cin 1 and
// several, strides 1/2/4, kernels 3 and 5), alpha/beta, bf16 data, the same bits whatever the
// batch split or thread count, the algorithm queries as engine/cuda/conv2d.cu reads them, and the
// statuses of misuse. Host vectors stand in for device memory.
//
// Tolerance: the emulator sums m products in float, in some order; whatever the order, the
// error of a float dot product is at most γ_m·Σ|a·b| with γ_m = m·u/(1 − m·u), u = 2⁻²⁴ (Higham,
// Accuracy and Stability of Numerical Algorithms, §3.1). Σ|a·b| is the same convolution on |a|
// and |b|, computed in double; the double reference's own error is below γ_m(2⁻⁵³)·Σ|a·b|.
#include <cudnn.h>
#include <cuda_bf16.h>
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "engine/cpu/conv2d.h"

using cytocon::cpu::ConvGeom;

namespace {

int64_t x_len(const ConvGeom& g) { return g.n * g.h * g.w * g.cin; }
int64_t y_len(const ConvGeom& g) { return g.n * g.oh() * g.ow() * g.cout; }
int64_t w_len(const ConvGeom& g) { return g.cout * g.k * g.k * g.cin; }

const std::vector<ConvGeom> kShapes = {
    {2, 9, 11, 1, 4, 3, 1}, {3, 12, 10, 3, 5, 5, 2}, {2, 17, 13, 8, 6, 3, 4},
    {1, 5, 5, 2, 3, 5, 1},  {2, 14, 9, 16, 7, 3, 2}, {2, 21, 22, 4, 3, 5, 4},
};

std::vector<float> random_vec(int64_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& e : v) e = u(gen);
  return v;
}
std::vector<double> to_double(const std::vector<float>& v, bool absolute = false) {
  std::vector<double> d(v.size());
  for (size_t i = 0; i < v.size(); ++i) d[i] = absolute ? std::fabs(v[i]) : v[i];
  return d;
}
std::vector<__nv_bfloat16> to_bf16(const std::vector<float>& v) {
  std::vector<__nv_bfloat16> b(v.size());
  for (size_t i = 0; i < v.size(); ++i) b[i] = __float2bfloat16(v[i]);
  return b;
}
std::vector<float> from_bf16(const std::vector<__nv_bfloat16>& b) {
  std::vector<float> v(b.size());
  for (size_t i = 0; i < b.size(); ++i) v[i] = __bfloat162float(b[i]);
  return v;
}

enum class Dir { forward, backward_data, backward_filter };

// The reference of one direction in double, applied to (a, b) = (x, w), (dy, w) or (x, dy).
std::vector<double> reference(Dir dir, const ConvGeom& g, const std::vector<double>& a, const std::vector<double>& b) {
  std::vector<double> out(static_cast<size_t>(dir == Dir::forward         ? y_len(g)
                                              : dir == Dir::backward_data ? x_len(g)
                                                                          : w_len(g)));
  if (dir == Dir::forward) cytocon::cpu::conv2d_forward(g, a.data(), b.data(), out.data());
  if (dir == Dir::backward_data) cytocon::cpu::conv2d_backward_data(g, a.data(), b.data(), out.data());
  if (dir == Dir::backward_filter) cytocon::cpu::conv2d_backward_weight(g, a.data(), b.data(), 1, out.data());
  return out;
}
// Operand lengths and the number of products summed per output (at most, for backward data).
int64_t a_len(Dir dir, const ConvGeom& g) { return dir == Dir::backward_data ? y_len(g) : x_len(g); }
int64_t b_len(Dir dir, const ConvGeom& g) { return dir == Dir::backward_filter ? y_len(g) : w_len(g); }
int64_t terms(Dir dir, const ConvGeom& g) {
  if (dir == Dir::forward) return g.k * g.k * g.cin;
  return dir == Dir::backward_data ? g.k * g.k * g.cout : g.n * g.oh() * g.ow();
}
double gamma_n(int64_t m, double u) { return m * u / (1 - m * u); }

// The four descriptors of g, as conv2d.cu sets them.
struct Descs {
  cudnnTensorDescriptor_t x = nullptr, y = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;
  Descs(const ConvGeom& g, cudnnDataType_t dt = CUDNN_DATA_FLOAT, cudnnMathType_t math = CUDNN_FMA_MATH) {
    EXPECT_EQ(cudnnCreateTensorDescriptor(&x), CUDNN_STATUS_SUCCESS);
    EXPECT_EQ(cudnnCreateTensorDescriptor(&y), CUDNN_STATUS_SUCCESS);
    EXPECT_EQ(cudnnCreateFilterDescriptor(&w), CUDNN_STATUS_SUCCESS);
    EXPECT_EQ(cudnnCreateConvolutionDescriptor(&conv), CUDNN_STATUS_SUCCESS);
    EXPECT_EQ(cudnnSetTensor4dDescriptor(x, CUDNN_TENSOR_NHWC, dt, int(g.n), int(g.cin), int(g.h), int(g.w)),
              CUDNN_STATUS_SUCCESS);
    EXPECT_EQ(cudnnSetTensor4dDescriptor(y, CUDNN_TENSOR_NHWC, dt, int(g.n), int(g.cout), int(g.oh()), int(g.ow())),
              CUDNN_STATUS_SUCCESS);
    EXPECT_EQ(cudnnSetFilter4dDescriptor(w, dt, CUDNN_TENSOR_NHWC, int(g.cout), int(g.cin), int(g.k), int(g.k)),
              CUDNN_STATUS_SUCCESS);
    EXPECT_EQ(cudnnSetConvolution2dDescriptor(conv, 0, 0, int(g.stride), int(g.stride), 1, 1,
                                              CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT),
              CUDNN_STATUS_SUCCESS);
    EXPECT_EQ(cudnnSetConvolutionMathType(conv, math), CUDNN_STATUS_SUCCESS);
  }
  ~Descs() {
    cudnnDestroyTensorDescriptor(x);
    cudnnDestroyTensorDescriptor(y);
    cudnnDestroyFilterDescriptor(w);
    cudnnDestroyConvolutionDescriptor(conv);
  }
};

class EmuCudnn : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(cudnnCreate(&h_), CUDNN_STATUS_SUCCESS); }
  void TearDown() override { EXPECT_EQ(cudnnDestroy(h_), CUDNN_STATUS_SUCCESS); }

  // Workspace size of conv2d.cu's preferred algorithm of `dir`.
  size_t need(Dir dir, const Descs& d) {
    size_t n = 0;
    cudnnStatus_t st = CUDNN_STATUS_SUCCESS;
    if (dir == Dir::forward)
      st = cudnnGetConvolutionForwardWorkspaceSize(h_, d.x, d.w, d.conv, d.y,
                                                   CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM, &n);
    if (dir == Dir::backward_data)
      st = cudnnGetConvolutionBackwardDataWorkspaceSize(h_, d.w, d.y, d.conv, d.x, CUDNN_CONVOLUTION_BWD_DATA_ALGO_1,
                                                        &n);
    if (dir == Dir::backward_filter)
      st = cudnnGetConvolutionBackwardFilterWorkspaceSize(h_, d.x, d.y, d.conv, d.w,
                                                          CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1, &n);
    EXPECT_EQ(st, CUDNN_STATUS_SUCCESS);
    return n;
  }
  // out = alpha·op(a, b) + beta·out with conv2d.cu's preferred algorithm.
  cudnnStatus_t run(Dir dir, const Descs& d, const void* a, const void* b, void* out, float alpha, float beta,
                    void* ws, size_t ws_bytes) {
    if (dir == Dir::forward)
      return cudnnConvolutionForward(h_, &alpha, d.x, a, d.w, b, d.conv,
                                     CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM, ws, ws_bytes, &beta, d.y, out);
    if (dir == Dir::backward_data)
      return cudnnConvolutionBackwardData(h_, &alpha, d.w, b, d.y, a, d.conv, CUDNN_CONVOLUTION_BWD_DATA_ALGO_1, ws,
                                          ws_bytes, &beta, d.x, out);
    return cudnnConvolutionBackwardFilter(h_, &alpha, d.x, a, d.y, b, d.conv, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1, ws,
                                          ws_bytes, &beta, d.w, out);
  }
  template <class T>
  std::vector<T> run_ok(Dir dir, const Descs& d, const std::vector<T>& a, const std::vector<T>& b, std::vector<T> out,
                        float alpha, float beta) {
    std::vector<unsigned char> ws(need(dir, d));
    EXPECT_EQ(run(dir, d, a.data(), b.data(), out.data(), alpha, beta, ws.data(), ws.size()), CUDNN_STATUS_SUCCESS);
    return out;
  }
  size_t out_len(Dir dir, const ConvGeom& g) {
    return size_t(dir == Dir::forward ? y_len(g) : dir == Dir::backward_data ? x_len(g) : w_len(g));
  }

  cudnnHandle_t h_ = nullptr;
};

const Dir kDirs[] = {Dir::forward, Dir::backward_data, Dir::backward_filter};

TEST_F(EmuCudnn, FloatMatchesCpuReferenceWithinTheDotProductBound) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (Dir dir : kDirs)
    for (const ConvGeom& g : kShapes) {
      SCOPED_TRACE("dir " + std::to_string(int(dir)) + " cin " + std::to_string(g.cin) + " k " + std::to_string(g.k) +
                   " stride " + std::to_string(g.stride));
      const auto a = random_vec(a_len(dir, g), 1), b = random_vec(b_len(dir, g), 2);
      Descs d(g);
      // beta = 0: the NaN already in the output must not be read.
      const auto got = run_ok(dir, d, a, b, std::vector<float>(out_len(dir, g), nan), 1.f, 0.f);
      const auto ref = reference(dir, g, to_double(a), to_double(b));
      const auto mag = reference(dir, g, to_double(a, true), to_double(b, true));
      const double gm = gamma_n(terms(dir, g), 0x1p-24) + gamma_n(terms(dir, g), 0x1p-53);
      for (size_t i = 0; i < ref.size(); ++i) ASSERT_LE(std::fabs(got[i] - ref[i]), gm * mag[i]) << "at " << i;
    }
}

TEST_F(EmuCudnn, AlphaBetaScaleTheResultAndTheOldOutput) {
  const ConvGeom g{2, 11, 10, 3, 4, 3, 2};
  for (Dir dir : kDirs) {
    const auto a = random_vec(a_len(dir, g), 3), b = random_vec(b_len(dir, g), 4);
    const auto old = random_vec(int64_t(out_len(dir, g)), 5);
    Descs d(g);
    const auto conv = run_ok(dir, d, a, b, std::vector<float>(old.size()), 1.f, 0.f);
    // Powers of two make both products exact, so the expectation is exact with or without FMA.
    const auto got = run_ok(dir, d, a, b, old, 2.f, 0.5f);
    for (size_t i = 0; i < old.size(); ++i) ASSERT_EQ(got[i], 2.f * conv[i] + 0.5f * old[i]) << "at " << i;
    // beta = 1, alpha = 0: the output is left as it was.
    EXPECT_EQ(run_ok(dir, d, a, b, old, 0.f, 1.f), old);
  }
}

TEST_F(EmuCudnn, Bf16OperandsFloatAccumulationBf16Results) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (Dir dir : kDirs)
    for (const ConvGeom& g : {kShapes[1], kShapes[2]}) {
      SCOPED_TRACE("dir " + std::to_string(int(dir)) + " cin " + std::to_string(g.cin));
      const auto a = to_bf16(random_vec(a_len(dir, g), 6)), b = to_bf16(random_vec(b_len(dir, g), 7));
      Descs d(g, CUDNN_DATA_BFLOAT16, CUDNN_TENSOR_OP_MATH);
      const auto got =
          from_bf16(run_ok(dir, d, a, b, to_bf16(std::vector<float>(out_len(dir, g), nan)), 1.f, 0.f));
      const auto fa = from_bf16(a), fb = from_bf16(b);
      const auto ref = reference(dir, g, to_double(fa), to_double(fb));
      const auto mag = reference(dir, g, to_double(fa, true), to_double(fb, true));
      const double gm = gamma_n(terms(dir, g), 0x1p-24) + gamma_n(terms(dir, g), 0x1p-53);
      // The float sum (within gm·mag of ref) rounded once to bf16 (relative error at most 2⁻⁸).
      for (size_t i = 0; i < ref.size(); ++i)
        ASSERT_LE(std::fabs(got[i] - ref[i]), gm * mag[i] + 0x1p-8 * (std::fabs(ref[i]) + gm * mag[i])) << "at " << i;
      // beta reads the old bf16 output: alpha = 0, beta = 1 keeps it bit for bit.
      const auto kept = run_ok(dir, d, a, b, to_bf16(got), 0.f, 1.f);
      EXPECT_EQ(from_bf16(kept), got);
    }
}

TEST_F(EmuCudnn, BitsDependOnTheInputsOnlyNotOnTheBatchOrThreads) {
  const ConvGeom g{3, 10, 9, 5, 4, 3, 1}, one{1, 10, 9, 5, 4, 3, 1};
  const auto x = random_vec(x_len(g), 8), w = random_vec(w_len(g), 9), dy = random_vec(y_len(g), 10);
  Descs d(g), d1(one);
  const auto y = run_ok(Dir::forward, d, x, w, std::vector<float>(size_t(y_len(g))), 1.f, 0.f);
  const auto dx = run_ok(Dir::backward_data, d, dy, w, std::vector<float>(size_t(x_len(g))), 1.f, 0.f);
  for (int64_t n = 0; n < g.n; ++n) {
    const std::vector<float> xn(x.begin() + n * x_len(one), x.begin() + (n + 1) * x_len(one));
    const std::vector<float> dyn(dy.begin() + n * y_len(one), dy.begin() + (n + 1) * y_len(one));
    const auto yn = run_ok(Dir::forward, d1, xn, w, std::vector<float>(size_t(y_len(one))), 1.f, 0.f);
    const auto dxn = run_ok(Dir::backward_data, d1, dyn, w, std::vector<float>(size_t(x_len(one))), 1.f, 0.f);
    EXPECT_EQ(yn, std::vector<float>(y.begin() + n * y_len(one), y.begin() + (n + 1) * y_len(one)));
    EXPECT_EQ(dxn, std::vector<float>(dx.begin() + n * x_len(one), dx.begin() + (n + 1) * x_len(one)));
  }
  // Each output is summed by one OpenMP thread in a fixed order: the thread count changes nothing.
  const auto dw = run_ok(Dir::backward_filter, d, x, dy, std::vector<float>(size_t(w_len(g))), 1.f, 0.f);
  const int threads = omp_get_max_threads();
  omp_set_num_threads(threads == 1 ? 3 : 1);
  EXPECT_EQ(run_ok(Dir::forward, d, x, w, std::vector<float>(size_t(y_len(g))), 1.f, 0.f), y);
  EXPECT_EQ(run_ok(Dir::backward_data, d, dy, w, std::vector<float>(size_t(x_len(g))), 1.f, 0.f), dx);
  EXPECT_EQ(run_ok(Dir::backward_filter, d, x, dy, std::vector<float>(size_t(w_len(g))), 1.f, 0.f), dw);
  omp_set_num_threads(threads);
}

// What conv2d.cu's pick() reads: a non-deterministic usable entry first, the preferred algorithm
// usable and deterministic, the descriptor's math type echoed, workspace sizes as *WorkspaceSize says.
template <class Perf>
void check_list(const std::vector<Perf>& perfs, int returned, int max_count, int preferred, cudnnMathType_t math,
                const std::vector<size_t>& sizes) {
  ASSERT_GE(returned, 2);
  ASSERT_LE(returned, max_count);
  EXPECT_EQ(perfs[0].status, CUDNN_STATUS_SUCCESS);
  EXPECT_EQ(perfs[0].determinism, CUDNN_NON_DETERMINISTIC);
  bool found = false;
  for (int i = 0; i < returned; ++i) {
    EXPECT_EQ(perfs[i].mathType, math);
    if (perfs[i].status != CUDNN_STATUS_SUCCESS) continue;
    EXPECT_GT(perfs[i].memory, 0u);
    EXPECT_EQ(perfs[i].memory, sizes[size_t(perfs[i].algo)]) << "algo " << perfs[i].algo;
    if (int(perfs[i].algo) != preferred) continue;
    found = true;
    EXPECT_EQ(perfs[i].determinism, CUDNN_DETERMINISTIC);
  }
  EXPECT_TRUE(found);
}

TEST_F(EmuCudnn, AlgorithmQueriesAsConvCuReadsThem) {
  const ConvGeom g{8, 12, 12, 6, 5, 3, 2};
  for (cudnnMathType_t math : {CUDNN_FMA_MATH, CUDNN_TENSOR_OP_MATH}) {
    Descs d(g, CUDNN_DATA_FLOAT, math);
    int count = 0, returned = 0;
    ASSERT_EQ(cudnnGetConvolutionForwardAlgorithmMaxCount(h_, &count), CUDNN_STATUS_SUCCESS);
    std::vector<cudnnConvolutionFwdAlgoPerf_t> fwd(static_cast<size_t>(count)), fwd_find(static_cast<size_t>(count));
    std::vector<size_t> sizes(static_cast<size_t>(count));
    for (int a = 0; a < count; ++a)
      cudnnGetConvolutionForwardWorkspaceSize(h_, d.x, d.w, d.conv, d.y, cudnnConvolutionFwdAlgo_t(a), &sizes[a]);
    ASSERT_EQ(cudnnGetConvolutionForwardAlgorithm_v7(h_, d.x, d.w, d.conv, d.y, count, &returned, fwd.data()),
              CUDNN_STATUS_SUCCESS);
    check_list(fwd, returned, count, CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM, math, sizes);
    ASSERT_EQ(cudnnFindConvolutionForwardAlgorithm(h_, d.x, d.w, d.conv, d.y, count, &returned, fwd_find.data()),
              CUDNN_STATUS_SUCCESS);
    check_list(fwd_find, returned, count, CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM, math, sizes);
    ASSERT_EQ(cudnnGetConvolutionForwardAlgorithm_v7(h_, d.x, d.w, d.conv, d.y, 1, &returned, fwd.data()),
              CUDNN_STATUS_SUCCESS);
    EXPECT_EQ(returned, 1);

    ASSERT_EQ(cudnnGetConvolutionBackwardDataAlgorithmMaxCount(h_, &count), CUDNN_STATUS_SUCCESS);
    std::vector<cudnnConvolutionBwdDataAlgoPerf_t> bd(static_cast<size_t>(count));
    sizes.assign(size_t(count), 0);
    for (int a = 0; a < count; ++a)
      cudnnGetConvolutionBackwardDataWorkspaceSize(h_, d.w, d.y, d.conv, d.x, cudnnConvolutionBwdDataAlgo_t(a),
                                                   &sizes[a]);
    ASSERT_EQ(cudnnGetConvolutionBackwardDataAlgorithm_v7(h_, d.w, d.y, d.conv, d.x, count, &returned, bd.data()),
              CUDNN_STATUS_SUCCESS);
    check_list(bd, returned, count, CUDNN_CONVOLUTION_BWD_DATA_ALGO_1, math, sizes);
    ASSERT_EQ(cudnnFindConvolutionBackwardDataAlgorithm(h_, d.w, d.y, d.conv, d.x, count, &returned, bd.data()),
              CUDNN_STATUS_SUCCESS);
    check_list(bd, returned, count, CUDNN_CONVOLUTION_BWD_DATA_ALGO_1, math, sizes);

    ASSERT_EQ(cudnnGetConvolutionBackwardFilterAlgorithmMaxCount(h_, &count), CUDNN_STATUS_SUCCESS);
    std::vector<cudnnConvolutionBwdFilterAlgoPerf_t> bf(static_cast<size_t>(count));
    sizes.assign(size_t(count), 0);
    for (int a = 0; a < count; ++a)
      cudnnGetConvolutionBackwardFilterWorkspaceSize(h_, d.x, d.y, d.conv, d.w, cudnnConvolutionBwdFilterAlgo_t(a),
                                                     &sizes[a]);
    ASSERT_EQ(cudnnGetConvolutionBackwardFilterAlgorithm_v7(h_, d.x, d.y, d.conv, d.w, count, &returned, bf.data()),
              CUDNN_STATUS_SUCCESS);
    check_list(bf, returned, count, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1, math, sizes);
    ASSERT_EQ(cudnnFindConvolutionBackwardFilterAlgorithm(h_, d.x, d.y, d.conv, d.w, count, &returned, bf.data()),
              CUDNN_STATUS_SUCCESS);
    check_list(bf, returned, count, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1, math, sizes);
  }
}

TEST_F(EmuCudnn, WorkspaceMustBeLargeEnoughAndIsScribbledOver) {
  const ConvGeom g{2, 9, 9, 3, 4, 3, 1};
  for (Dir dir : kDirs) {
    Descs d(g);
    const auto a = random_vec(a_len(dir, g), 11), b = random_vec(b_len(dir, g), 12);
    std::vector<float> out(out_len(dir, g));
    const size_t n = need(dir, d);
    ASSERT_GT(n, 0u);
    std::vector<unsigned char> ws(n, 0);
    EXPECT_EQ(run(dir, d, a.data(), b.data(), out.data(), 1.f, 0.f, ws.data(), n - 1), CUDNN_STATUS_BAD_PARAM);
    EXPECT_EQ(run(dir, d, a.data(), b.data(), out.data(), 1.f, 0.f, nullptr, n), CUDNN_STATUS_BAD_PARAM);
    EXPECT_EQ(run(dir, d, a.data(), b.data(), out.data(), 1.f, 0.f, ws.data(), n), CUDNN_STATUS_SUCCESS);
    EXPECT_EQ(ws, std::vector<unsigned char>(n, 0xFF));
  }
  // An algorithm the queries report NOT_SUPPORTED does not run.
  Descs d(g);
  size_t n = 0;
  EXPECT_EQ(cudnnGetConvolutionForwardWorkspaceSize(h_, d.x, d.w, d.conv, d.y, CUDNN_CONVOLUTION_FWD_ALGO_FFT, &n),
            CUDNN_STATUS_NOT_SUPPORTED);
  const auto x = random_vec(x_len(g), 13), w = random_vec(w_len(g), 14);
  std::vector<float> y(size_t(y_len(g)));
  std::vector<unsigned char> ws(1 << 20);
  const float one = 1.f, zero = 0.f;
  EXPECT_EQ(cudnnConvolutionForward(h_, &one, d.x, x.data(), d.w, w.data(), d.conv, CUDNN_CONVOLUTION_FWD_ALGO_FFT,
                                    ws.data(), ws.size(), &zero, d.y, y.data()),
            CUDNN_STATUS_NOT_SUPPORTED);
}

TEST_F(EmuCudnn, MisuseStatuses) {
  const ConvGeom g{2, 9, 9, 3, 4, 3, 1};
  const auto x = random_vec(x_len(g), 15), w = random_vec(w_len(g), 16);
  std::vector<float> y(size_t(y_len(g)));
  std::vector<unsigned char> ws(1 << 20);
  const float one = 1.f, zero = 0.f;
  auto forward = [&](const Descs& d) {
    return cudnnConvolutionForward(h_, &one, d.x, x.data(), d.w, w.data(), d.conv,
                                   CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM, ws.data(), ws.size(), &zero, d.y,
                                   y.data());
  };
  {  // the emulator computes NHWC only: NCHW is valid cuDNN, hence NOT_SUPPORTED
    Descs d(g);
    ASSERT_EQ(cudnnSetTensor4dDescriptor(d.x, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 2, 3, 9, 9), CUDNN_STATUS_SUCCESS);
    EXPECT_EQ(forward(d), CUDNN_STATUS_NOT_SUPPORTED);
    cudnnConvolutionFwdAlgoPerf_t perfs[8];
    int returned = 0;
    ASSERT_EQ(cudnnGetConvolutionForwardAlgorithm_v7(h_, d.x, d.w, d.conv, d.y, 8, &returned, perfs),
              CUDNN_STATUS_SUCCESS);
    for (int i = 0; i < returned; ++i) EXPECT_EQ(perfs[i].status, CUDNN_STATUS_NOT_SUPPORTED);
    EXPECT_EQ(cudnnSetTensor4dDescriptor(d.x, cudnnTensorFormat_t(7), CUDNN_DATA_FLOAT, 2, 3, 9, 9),
              CUDNN_STATUS_BAD_PARAM);
    EXPECT_EQ(cudnnSetTensor4dDescriptor(d.x, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT, 0, 3, 9, 9), CUDNN_STATUS_BAD_PARAM);
  }
  {  // mismatched shapes between x, w, y
    Descs d(g);
    ASSERT_EQ(cudnnSetTensor4dDescriptor(d.x, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT, 2, 2, 9, 9), CUDNN_STATUS_SUCCESS);
    EXPECT_EQ(forward(d), CUDNN_STATUS_BAD_PARAM);
    Descs e(g);
    ASSERT_EQ(cudnnSetTensor4dDescriptor(e.y, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT, 2, 4, 6, 7), CUDNN_STATUS_SUCCESS);
    EXPECT_EQ(forward(e), CUDNN_STATUS_BAD_PARAM);
    size_t n = 0;
    EXPECT_EQ(cudnnGetConvolutionForwardWorkspaceSize(h_, e.x, e.w, e.conv, e.y,
                                                      CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM, &n),
              CUDNN_STATUS_BAD_PARAM);
  }
  {  // data types: mixed → BAD_PARAM, double → NOT_SUPPORTED here
    Descs d(g);
    ASSERT_EQ(cudnnSetTensor4dDescriptor(d.y, CUDNN_TENSOR_NHWC, CUDNN_DATA_BFLOAT16, 2, 4, 7, 7),
              CUDNN_STATUS_SUCCESS);
    EXPECT_EQ(forward(d), CUDNN_STATUS_BAD_PARAM);
    Descs e(g, CUDNN_DATA_DOUBLE);
    EXPECT_EQ(forward(e), CUDNN_STATUS_NOT_SUPPORTED);
  }
  {  // convolution descriptor: padding, dilation, true convolution, double compute
    Descs d(g);
    ASSERT_EQ(cudnnSetConvolution2dDescriptor(d.conv, 1, 1, 1, 1, 1, 1, CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT),
              CUDNN_STATUS_SUCCESS);
    ASSERT_EQ(cudnnSetTensor4dDescriptor(d.y, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT, 2, 4, 9, 9), CUDNN_STATUS_SUCCESS);
    EXPECT_EQ(forward(d), CUDNN_STATUS_NOT_SUPPORTED);
    ASSERT_EQ(cudnnSetConvolution2dDescriptor(d.conv, 0, 0, 1, 1, 2, 2, CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT),
              CUDNN_STATUS_SUCCESS);
    ASSERT_EQ(cudnnSetTensor4dDescriptor(d.y, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT, 2, 4, 5, 5), CUDNN_STATUS_SUCCESS);
    EXPECT_EQ(forward(d), CUDNN_STATUS_NOT_SUPPORTED);
    ASSERT_EQ(cudnnSetConvolution2dDescriptor(d.conv, 0, 0, 1, 1, 1, 1, CUDNN_CONVOLUTION, CUDNN_DATA_FLOAT),
              CUDNN_STATUS_SUCCESS);
    ASSERT_EQ(cudnnSetTensor4dDescriptor(d.y, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT, 2, 4, 7, 7), CUDNN_STATUS_SUCCESS);
    EXPECT_EQ(forward(d), CUDNN_STATUS_NOT_SUPPORTED);
    ASSERT_EQ(cudnnSetConvolution2dDescriptor(d.conv, 0, 0, 1, 1, 1, 1, CUDNN_CROSS_CORRELATION, CUDNN_DATA_DOUBLE),
              CUDNN_STATUS_SUCCESS);
    EXPECT_EQ(forward(d), CUDNN_STATUS_NOT_SUPPORTED);
    EXPECT_EQ(cudnnSetConvolution2dDescriptor(d.conv, 0, 0, 0, 1, 1, 1, CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT),
              CUDNN_STATUS_BAD_PARAM);
    EXPECT_EQ(cudnnSetConvolutionMathType(d.conv, cudnnMathType_t(9)), CUDNN_STATUS_BAD_PARAM);
  }
  {  // null handle, null scaling factors, null data
    Descs d(g);
    EXPECT_EQ(cudnnConvolutionForward(nullptr, &one, d.x, x.data(), d.w, w.data(), d.conv,
                                      CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM, ws.data(), ws.size(), &zero,
                                      d.y, y.data()),
              CUDNN_STATUS_BAD_PARAM);
    EXPECT_EQ(cudnnConvolutionForward(h_, &one, d.x, x.data(), d.w, w.data(), d.conv,
                                      CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM, ws.data(), ws.size(), nullptr,
                                      d.y, y.data()),
              CUDNN_STATUS_BAD_PARAM);
    EXPECT_EQ(cudnnConvolutionForward(h_, &one, d.x, nullptr, d.w, w.data(), d.conv,
                                      CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM, ws.data(), ws.size(), &zero,
                                      d.y, y.data()),
              CUDNN_STATUS_BAD_PARAM);
    EXPECT_EQ(forward(d), CUDNN_STATUS_SUCCESS);
  }
  EXPECT_EQ(cudnnGetVersion(), size_t(CUDNN_VERSION));
  EXPECT_STREQ(cudnnGetErrorString(CUDNN_STATUS_BAD_PARAM), "CUDNN_STATUS_BAD_PARAM");
  EXPECT_STREQ(cudnnGetErrorString(CUDNN_STATUS_NOT_SUPPORTED), "CUDNN_STATUS_NOT_SUPPORTED");
}

}  // namespace

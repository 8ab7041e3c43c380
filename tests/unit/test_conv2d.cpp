// CPU conv2d kernels (engine/cpu/conv2d.h) against naive loops in long double: forward, backward
// data and per-shard backward weight, float and double, odd sizes, strides 1/2/4, Cin = 1 (the
// first layer) and channel counts around the vector widths; bitwise equality across thread counts.
// Float runs twice: through the dispatch (the AVX2 kernels on such a CPU) and the portable loops.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "engine/cpu/conv2d.h"
#include "engine/cpu/conv2d_portable.h"

using cytocon::cpu::ConvGeom;

namespace {

using Ref = std::vector<long double>;

template <class T>
std::vector<T> random_vec(int64_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  std::vector<T> v(static_cast<size_t>(n));
  for (T& e : v) e = static_cast<T>(u(gen));
  return v;
}

int64_t x_len(const ConvGeom& g) { return g.n * g.h * g.w * g.cin; }
int64_t y_len(const ConvGeom& g) { return g.n * g.oh() * g.ow() * g.cout; }
int64_t w_len(const ConvGeom& g) { return g.cout * g.k * g.k * g.cin; }

// y[n,i,j,o] = Σ_{p,q,c} x[n, s·i+p, s·j+q, c]·w[o,p,q,c]
template <class T>
Ref naive_forward(const ConvGeom& g, const std::vector<T>& x, const std::vector<T>& w) {
  Ref y(static_cast<size_t>(y_len(g)), 0);
  for (int64_t n = 0; n < g.n; ++n)
    for (int64_t i = 0; i < g.oh(); ++i)
      for (int64_t j = 0; j < g.ow(); ++j)
        for (int64_t o = 0; o < g.cout; ++o)
          for (int64_t p = 0; p < g.k; ++p)
            for (int64_t q = 0; q < g.k; ++q)
              for (int64_t c = 0; c < g.cin; ++c)
                y[((n * g.oh() + i) * g.ow() + j) * g.cout + o] +=
                    (long double)x[((n * g.h + g.stride * i + p) * g.w + g.stride * j + q) * g.cin + c] *
                    w[((o * g.k + p) * g.k + q) * g.cin + c];
  return y;
}

// Scatter form, independent of the kernel's gather: dx[n, s·i+p, s·j+q, c] += dy[n,i,j,o]·w[o,p,q,c].
template <class T>
Ref naive_backward_data(const ConvGeom& g, const std::vector<T>& dy, const std::vector<T>& w) {
  Ref dx(static_cast<size_t>(x_len(g)), 0);
  for (int64_t n = 0; n < g.n; ++n)
    for (int64_t i = 0; i < g.oh(); ++i)
      for (int64_t j = 0; j < g.ow(); ++j)
        for (int64_t o = 0; o < g.cout; ++o)
          for (int64_t p = 0; p < g.k; ++p)
            for (int64_t q = 0; q < g.k; ++q)
              for (int64_t c = 0; c < g.cin; ++c)
                dx[((n * g.h + g.stride * i + p) * g.w + g.stride * j + q) * g.cin + c] +=
                    (long double)dy[((n * g.oh() + i) * g.ow() + j) * g.cout + o] *
                    w[((o * g.k + p) * g.k + q) * g.cin + c];
  return dx;
}

// dw[o,p,q,c] = Σ_{n in [n0,n1)} Σ_{i,j} dy[n,i,j,o]·x[n, s·i+p, s·j+q, c]
template <class T>
Ref naive_backward_weight(const ConvGeom& g, const std::vector<T>& x, const std::vector<T>& dy, int64_t n0,
                          int64_t n1) {
  Ref dw(static_cast<size_t>(w_len(g)), 0);
  for (int64_t n = n0; n < n1; ++n)
    for (int64_t i = 0; i < g.oh(); ++i)
      for (int64_t j = 0; j < g.ow(); ++j)
        for (int64_t o = 0; o < g.cout; ++o)
          for (int64_t p = 0; p < g.k; ++p)
            for (int64_t q = 0; q < g.k; ++q)
              for (int64_t c = 0; c < g.cin; ++c)
                dw[((o * g.k + p) * g.k + q) * g.cin + c] +=
                    (long double)dy[((n * g.oh() + i) * g.ow() + j) * g.cout + o] *
                    x[((n * g.h + g.stride * i + p) * g.w + g.stride * j + q) * g.cin + c];
  return dw;
}

std::string geom_str(const ConvGeom& g) {
  return "n=" + std::to_string(g.n) + " h=" + std::to_string(g.h) + " w=" + std::to_string(g.w) +
         " cin=" + std::to_string(g.cin) + " cout=" + std::to_string(g.cout) + " k=" + std::to_string(g.k) +
         " s=" + std::to_string(g.stride);
}

// |got - ref| ≤ tol·(number of products summed), relative to unit-sized inputs.
template <class T>
void expect_close(const std::vector<T>& got, const Ref& ref, double tol, const std::string& what) {
  ASSERT_EQ(got.size(), ref.size()) << what;
  for (size_t i = 0; i < ref.size(); ++i)
    ASSERT_NEAR((double)got[i], (double)ref[i], tol) << what << " at element " << i;
}

template <class T>
constexpr double eps() {
  return std::is_same<T, float>::value ? 1e-6 : 1e-14;
}

const std::vector<ConvGeom>& cases() {
  static const std::vector<ConvGeom> c = {
      {2, 9, 11, 3, 5, 3, 1},     // odd sizes, k=3 s=1
      {3, 21, 17, 1, 16, 5, 4},   // first layer: Cin=1, k=5 s=4, cout 16
      {2, 23, 25, 1, 7, 5, 4},    // Cin=1 with a cout that is not a vector multiple
      {2, 13, 10, 16, 16, 3, 1},  // block 1 conv 2 shape
      {1, 12, 14, 16, 32, 3, 1},  // widening
      {2, 9, 8, 33, 17, 3, 1},    // channel counts around the vector width
      {3, 8, 7, 2, 3, 2, 2},      // even kernel, stride 2
      {2, 6, 6, 4, 7, 1, 1},      // 1x1
      {1, 5, 5, 8, 9, 5, 1},      // single output pixel
      {2, 15, 15, 8, 24, 3, 2},   // stride 2 with channels
      {1, 4, 70, 3, 16, 3, 1},    // rows of >= 64 pixels: the weight gradient sums one row at a time
  };
  return c;
}

// The kernel set under test: the public dispatch, or the portable loops.
template <class T>
struct Kernels {
  bool portable;
  void forward(const ConvGeom& g, const T* x, const T* w, T* y) const {
    portable ? cytocon::cpu::portable::conv2d_forward<T>(g, x, w, y) : cytocon::cpu::conv2d_forward<T>(g, x, w, y);
  }
  void backward_data(const ConvGeom& g, const T* dy, const T* w, T* dx) const {
    portable ? cytocon::cpu::portable::conv2d_backward_data<T>(g, dy, w, dx)
             : cytocon::cpu::conv2d_backward_data<T>(g, dy, w, dx);
  }
  void backward_weight(const ConvGeom& g, const T* x, const T* dy, int shards, T* dw) const {
    portable ? cytocon::cpu::portable::conv2d_backward_weight<T>(g, x, dy, shards, dw)
             : cytocon::cpu::conv2d_backward_weight<T>(g, x, dy, shards, dw);
  }
};

template <class T>
void check_forward(Kernels<T> kn) {
  for (const ConvGeom& g : cases()) {
    auto x = random_vec<T>(x_len(g), 1), w = random_vec<T>(w_len(g), 2);
    std::vector<T> y(static_cast<size_t>(y_len(g)));
    kn.forward(g, x.data(), w.data(), y.data());
    expect_close(y, naive_forward(g, x, w), 4 * eps<T>() * g.k * g.k * g.cin, "forward " + geom_str(g));
  }
}

template <class T>
void check_backward_data(Kernels<T> kn) {
  for (const ConvGeom& g : cases()) {
    auto dy = random_vec<T>(y_len(g), 3), w = random_vec<T>(w_len(g), 4);
    std::vector<T> dx(static_cast<size_t>(x_len(g)), T(12345));  // every element must be written
    kn.backward_data(g, dy.data(), w.data(), dx.data());
    expect_close(dx, naive_backward_data(g, dy, w), 4 * eps<T>() * g.k * g.k * g.cout, "backward data " + geom_str(g));
  }
}

// Each shard's partial equals the naive gradient of its own samples, and their sum equals the
// gradient of the whole batch.
template <class T>
void check_backward_weight(Kernels<T> kn) {
  for (ConvGeom g : cases()) {
    for (int shards : {1, 2, 4}) {
      g.n = 2 * shards + 1 + (shards > 1);  // batch larger than the shard count
      if (g.n % shards) g.n += shards - g.n % shards;
      auto x = random_vec<T>(x_len(g), 5), dy = random_vec<T>(y_len(g), 6);
      const int64_t len = w_len(g);
      std::vector<T> partials(static_cast<size_t>(shards * len), T(12345));
      kn.backward_weight(g, x.data(), dy.data(), shards, partials.data());
      const double tol = 4 * eps<T>() * g.n * g.oh() * g.ow();
      Ref total(static_cast<size_t>(len), 0);
      for (int t = 0; t < shards; ++t) {
        std::vector<T> part(partials.begin() + t * len, partials.begin() + (t + 1) * len);
        const int64_t n0 = t * g.n / shards, n1 = (t + 1) * g.n / shards;
        expect_close(part, naive_backward_weight(g, x, dy, n0, n1), tol,
                     "backward weight shard " + std::to_string(t) + "/" + std::to_string(shards) + " " + geom_str(g));
        for (int64_t e = 0; e < len; ++e) total[e] += part[e];
      }
      std::vector<T> sum(total.begin(), total.end());
      expect_close(sum, naive_backward_weight(g, x, dy, 0, g.n), tol, "backward weight sum " + geom_str(g));
    }
  }
}

}  // namespace

TEST(Conv2dKernel, ForwardMatchesNaiveFloat) { check_forward<float>({false}); }
TEST(Conv2dKernel, ForwardMatchesNaiveFloatPortable) { check_forward<float>({true}); }
TEST(Conv2dKernel, ForwardMatchesNaiveDouble) { check_forward<double>({false}); }
TEST(Conv2dKernel, BackwardDataMatchesNaiveFloat) { check_backward_data<float>({false}); }
TEST(Conv2dKernel, BackwardDataMatchesNaiveFloatPortable) { check_backward_data<float>({true}); }
TEST(Conv2dKernel, BackwardDataMatchesNaiveDouble) { check_backward_data<double>({false}); }
TEST(Conv2dKernel, BackwardWeightPerShardFloat) { check_backward_weight<float>({false}); }
TEST(Conv2dKernel, BackwardWeightPerShardFloatPortable) { check_backward_weight<float>({true}); }
TEST(Conv2dKernel, BackwardWeightPerShardDouble) { check_backward_weight<double>({false}); }

// Threads split only independent outputs: 1, 2 and 3 threads give the same bits, in both kernel
// sets (3 threads also splits the single-shard weight gradient into more tile groups).
TEST(Conv2dKernel, BitIdenticalAcrossThreadCounts) {
  for (const bool portable : {false, true})
    for (const ConvGeom& g0 : cases()) {
      const Kernels<float> kn{portable};
      ConvGeom g = g0;
      g.n = 4;
      auto x = random_vec<float>(x_len(g), 7), w = random_vec<float>(w_len(g), 8), dy = random_vec<float>(y_len(g), 9);
      std::vector<std::vector<float>> out[3];
      const int saved = omp_get_max_threads();
      for (int t = 0; t < 3; ++t) {
        omp_set_num_threads(t + 1);
        std::vector<float> y(y_len(g)), dx(x_len(g)), dw2(2 * w_len(g)), dw1(w_len(g));
        kn.forward(g, x.data(), w.data(), y.data());
        kn.backward_data(g, dy.data(), w.data(), dx.data());
        kn.backward_weight(g, x.data(), dy.data(), 2, dw2.data());
        kn.backward_weight(g, x.data(), dy.data(), 1, dw1.data());
        out[t] = {y, dx, dw2, dw1};
      }
      omp_set_num_threads(saved);
      for (int t = 1; t < 3; ++t)
        for (int k = 0; k < 4; ++k)
          EXPECT_EQ(out[t][k], out[0][k]) << "output " << k << (portable ? " portable " : " ") << geom_str(g);
    }
}

TEST(Conv2dKernel, RejectsAKernelLargerThanTheInput) {
  const ConvGeom g{1, 2, 5, 1, 4, 3, 1};  // 3x3 kernel on a 2-row input
  std::vector<float> buf(64);
  EXPECT_THROW(cytocon::cpu::conv2d_forward<float>(g, buf.data(), buf.data(), buf.data()), std::exception);
  EXPECT_THROW(cytocon::cpu::conv2d_backward_weight<float>(g, buf.data(), buf.data(), 1, buf.data()), std::exception);
}

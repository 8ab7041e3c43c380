// The CPU reference backend: checks the arguments, dispatches on the element type (float32 or
// float64) and calls the kernels of engine/cpu/. Reductions over samples are computed per local
// micro-shard by the kernels and combined here with sum_shards / merge_moments (engine/shards.h),
// so every gradient and statistic returned is the global one.
#include <cmath>
#include <string>
#include <vector>

#include "engine/backend.h"
#include "engine/cpu/batch_norm.h"
#include "engine/cpu/caching_allocator.h"
#include "engine/cpu/conv2d.h"
#include "engine/cpu/cross_entropy.h"
#include "engine/cpu/elementwise.h"
#include "engine/cpu/l2_normalize.h"
#include "engine/cpu/linear.h"
#include "engine/cpu/max_pool.h"
#include "engine/cpu/optim_step.h"
#include "engine/cpu/relu.h"
#include "engine/cpu/supcon.h"
#include "engine/cpu/topk.h"

namespace cytocon {

namespace {

void need(const Tensor& t, const char* op, const char* name) {
  check(t.defined(), std::string(op) + ": " + name + " is undefined");
  check(t.device() == Device::cpu, std::string(op) + ": " + name + " is on device " + device_name(t.device()) +
                                       ", expected cpu");
}
void need_rank(const Tensor& t, int rank, const char* op, const char* name) {
  need(t, op, name);
  check(t.ndim() == rank, std::string(op) + ": " + name + " has shape " + shape_str(t.shape()) + ", expected " +
                              std::to_string(rank) + "-D");
}
void same_dtype(const Tensor& a, const Tensor& b, const char* op, const char* name) {
  check(a.dtype() == b.dtype(), std::string(op) + ": " + name + " is " + dtype_name(b.dtype()) + ", expected " +
                                    dtype_name(a.dtype()) + " like the first input");
}
void need_shape(const Tensor& t, const Shape& s, const char* op, const char* name) {
  need(t, op, name);
  check(t.shape() == s, std::string(op) + ": " + name + " has shape " + shape_str(t.shape()) + ", expected " +
                            shape_str(s));
}

// Calls f(T{}) with T = float or double according to dt.
template <class F>
decltype(auto) dispatch(DType dt, const char* op, F&& f) {
  switch (dt) {
    case DType::f32: return f(float{});
    case DType::f64: return f(double{});
    default: fail(std::string(op) + ": element type " + dtype_name(dt) + " is not supported (expected float32 or float64)");
  }
}

cpu::BnGeom bn_geom(const Tensor& x, const char* op) {
  need(x, op, "x");
  check(x.ndim() >= 2, std::string(op) + ": x has shape " + shape_str(x.shape()) + ", expected [N,...,C]");
  const int64_t n = x.dim(0), c = x.dim(-1);
  check(c > 0, std::string(op) + ": x has shape " + shape_str(x.shape()) + ", expected at least one channel");
  return {n, n ? x.numel() / (n * c) : 0, c};
}

cpu::ConvGeom conv_geom(const Shape& x, const Shape& w, int stride, const char* op) {
  check(x.size() == 4, std::string(op) + ": input shape " + shape_str(x) + ", expected NHWC [N,H,W,Cin]");
  check(w.size() == 4 && w[1] == w[2], std::string(op) + ": weight shape " + shape_str(w) +
                                           ", expected OHWI [Cout,k,k,Cin] with a square kernel");
  check(w[3] == x[3], std::string(op) + ": weight has " + std::to_string(w[3]) + " input channels, input has " +
                          std::to_string(x[3]));
  check(stride >= 1, std::string(op) + ": stride " + std::to_string(stride) + ", expected >= 1");
  check(x[1] >= w[1] && x[2] >= w[2], std::string(op) + ": input " + shape_str(x) + " is smaller than the " +
                                          std::to_string(w[1]) + "x" + std::to_string(w[2]) + " kernel");
  return {x[0], x[1], x[2], x[3], w[0], w[1], stride};
}

class CpuBackend final : public Backend {
 public:
  Device device() const override { return Device::cpu; }

  // ---- elementwise ----
  Tensor add(const Tensor& a, const Tensor& b) override {
    need(a, "add", "a");
    need_shape(b, a.shape(), "add", "b");
    same_dtype(a, b, "add", "b");
    Tensor c = Tensor::empty(a.shape(), a.dtype());
    dispatch(a.dtype(), "add", [&](auto t) {
      using T = decltype(t);
      cpu::add<T>(a.numel(), a.data<T>(), b.data<T>(), c.data<T>());
    });
    return c;
  }
  Tensor convert(const Tensor& x, DType dt) override { return x.to(dt); }
  Tensor scale(const Tensor& a, double s) override {
    need(a, "scale", "a");
    Tensor c = Tensor::empty(a.shape(), a.dtype());
    dispatch(a.dtype(), "scale", [&](auto t) {
      using T = decltype(t);
      cpu::scale<T>(a.numel(), a.data<T>(), static_cast<T>(s), c.data<T>());
    });
    return c;
  }

  // ---- conv2d (kernels: engine/cpu/conv2d*.cpp) ----
  Tensor conv2d_forward(const Tensor& x, const Tensor& w, int stride) override {
    need(x, "conv2d", "x");
    need(w, "conv2d", "w");
    same_dtype(x, w, "conv2d", "w");
    const cpu::ConvGeom g = conv_geom(x.shape(), w.shape(), stride, "conv2d");
    Tensor y = Tensor::empty({g.n, g.oh(), g.ow(), g.cout}, x.dtype());
    dispatch(x.dtype(), "conv2d", [&](auto t) {
      using T = decltype(t);
      cpu::conv2d_forward<T>(g, x.data<T>(), w.data<T>(), y.data<T>());
    });
    return y;
  }
  Tensor conv2d_backward_data(const Tensor& dy, const Tensor& w, const Shape& x_shape, int stride) override {
    need(dy, "conv2d backward", "dy");
    need(w, "conv2d backward", "w");
    same_dtype(dy, w, "conv2d backward", "w");
    const cpu::ConvGeom g = conv_geom(x_shape, w.shape(), stride, "conv2d backward");
    need_shape(dy, {g.n, g.oh(), g.ow(), g.cout}, "conv2d backward", "dy");
    Tensor dx = Tensor::empty(x_shape, dy.dtype());
    dispatch(dy.dtype(), "conv2d backward", [&](auto t) {
      using T = decltype(t);
      cpu::conv2d_backward_data<T>(g, dy.data<T>(), w.data<T>(), dx.data<T>());
    });
    return dx;
  }
  Tensor conv2d_backward_weight(const Tensor& x, const Tensor& dy, const Shape& w_shape, int stride,
                                const Shards& sh) override {
    need(x, "conv2d weight gradient", "x");
    need(dy, "conv2d weight gradient", "dy");
    same_dtype(x, dy, "conv2d weight gradient", "dy");
    const cpu::ConvGeom g = conv_geom(x.shape(), w_shape, stride, "conv2d weight gradient");
    need_shape(dy, {g.n, g.oh(), g.ow(), g.cout}, "conv2d weight gradient", "dy");
    sh.shard_size(g.n);  // checks the local batch splits into the local shards
    const int64_t len = shape_numel(w_shape);
    Tensor dw = Tensor::empty(w_shape, x.dtype());
    dispatch(x.dtype(), "conv2d weight gradient", [&](auto t) {
      using T = decltype(t);
      // One partial per local shard (up to ~10 MB): a Tensor, so the caching allocator reuses
      // the block from step to step instead of faulting in fresh pages on every call.
      Tensor partials = Tensor::zeros({sh.count, len}, x.dtype());
      T* p = partials.data<T>();
      cpu::conv2d_backward_weight<T>(g, x.data<T>(), dy.data<T>(), sh.count, p);
      sum_shards(sh, p, len);
      std::copy(p, p + len, dw.data<T>());
    });
    return dw;
  }

  // ---- BatchNorm (engine/cpu/batch_norm.h, docs/math.md "BatchNorm") ----
  void batch_norm_forward_train(const Tensor& x, const Tensor& gamma, const Tensor& beta, double eps,
                                const Shards& sh, Tensor& y, Tensor& mean, Tensor& invstd,
                                Tensor& var_unbiased) override {
    bn_forward_train(x, gamma, beta, eps, sh, false, y, mean, invstd, var_unbiased);
  }
  void batch_norm_relu_forward_train(const Tensor& x, const Tensor& gamma, const Tensor& beta, double eps,
                                     const Shards& sh, Tensor& y, Tensor& mean, Tensor& invstd,
                                     Tensor& var_unbiased) override {
    bn_forward_train(x, gamma, beta, eps, sh, true, y, mean, invstd, var_unbiased);
  }
  Tensor batch_norm_forward_infer(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                  const Tensor& running_mean, const Tensor& running_var, double eps) override {
    return bn_forward_infer(x, gamma, beta, running_mean, running_var, eps, false);
  }
  Tensor batch_norm_relu_forward_infer(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                       const Tensor& running_mean, const Tensor& running_var, double eps) override {
    return bn_forward_infer(x, gamma, beta, running_mean, running_var, eps, true);
  }
  void batch_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& gamma, const Tensor& mean,
                           const Tensor& invstd, const Shards& sh, Tensor& dx, Tensor& dgamma,
                           Tensor& dbeta) override {
    bn_backward(dy, Tensor(), x, gamma, mean, invstd, sh, dx, dgamma, dbeta);
  }
  void batch_norm_relu_backward(const Tensor& dy, const Tensor& y, const Tensor& x, const Tensor& gamma,
                                const Tensor& mean, const Tensor& invstd, const Shards& sh, Tensor& dx,
                                Tensor& dgamma, Tensor& dbeta) override {
    need_shape(y, x.shape(), "batch_norm_relu backward", "y");
    same_dtype(x, y, "batch_norm_relu backward", "y");
    bn_backward(dy, y, x, gamma, mean, invstd, sh, dx, dgamma, dbeta);
  }
  // The BatchNorm kernels; `relu` / a defined `y` select the fused BN+ReLU variant.
  static void bn_forward_train(const Tensor& x, const Tensor& gamma, const Tensor& beta, double eps,
                               const Shards& sh, bool relu, Tensor& y, Tensor& mean, Tensor& invstd,
                               Tensor& var_unbiased) {
    const cpu::BnGeom g = bn_geom(x, "batch_norm");
    need_shape(gamma, {g.c}, "batch_norm", "gamma");
    need_shape(beta, {g.c}, "batch_norm", "beta");
    same_dtype(x, gamma, "batch_norm", "gamma");
    same_dtype(x, beta, "batch_norm", "beta");
    sh.shard_size(g.n);
    y = Tensor::empty(x.shape(), x.dtype());
    mean = Tensor::empty({g.c}, x.dtype());
    invstd = Tensor::empty({g.c}, x.dtype());
    var_unbiased = Tensor::empty({g.c}, x.dtype());
    dispatch(x.dtype(), "batch_norm", [&](auto t) {
      using T = decltype(t);
      std::vector<Moments<T>> mom(static_cast<size_t>(sh.count * g.c));
      cpu::batch_norm_moments<T>(g, x.data<T>(), sh.count, mom.data());
      merge_moments(sh, mom.data(), g.c);
      const T count = mom[0].n;
      check(count > 1, "batch_norm: " + std::to_string(static_cast<int64_t>(count)) +
                           " value(s) per channel in the global batch, expected more than 1 in training mode");
      std::vector<T> a(g.c);
      const T* gm = gamma.data<T>();
      for (int64_t c = 0; c < g.c; ++c) {
        const T mu = mom[c].mean;
        const T var = mom[c].m2 / count;                     // biased: normalisation (eq. BN-1)
        const T is = T(1) / std::sqrt(var + static_cast<T>(eps));
        mean.data<T>()[c] = mu;
        invstd.data<T>()[c] = is;
        var_unbiased.data<T>()[c] = mom[c].m2 / (count - T(1));  // unbiased: running statistics
        a[c] = gm[c] * is;
      }
      cpu::batch_norm_apply<T>(g, x.data<T>(), mean.data<T>(), a.data(), beta.data<T>(), relu, y.data<T>());
    });
  }
  static Tensor bn_forward_infer(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                 const Tensor& running_mean, const Tensor& running_var, double eps, bool relu) {
    const cpu::BnGeom g = bn_geom(x, "batch_norm (inference)");
    need_shape(gamma, {g.c}, "batch_norm (inference)", "gamma");
    need_shape(beta, {g.c}, "batch_norm (inference)", "beta");
    need_shape(running_mean, {g.c}, "batch_norm (inference)", "running_mean");
    need_shape(running_var, {g.c}, "batch_norm (inference)", "running_var");
    for (const Tensor* t : {&gamma, &beta, &running_mean, &running_var}) same_dtype(x, *t, "batch_norm (inference)", "a parameter");
    Tensor y = Tensor::empty(x.shape(), x.dtype());
    dispatch(x.dtype(), "batch_norm (inference)", [&](auto t) {
      using T = decltype(t);
      std::vector<T> a(g.c);
      for (int64_t c = 0; c < g.c; ++c)
        a[c] = gamma.data<T>()[c] / std::sqrt(running_var.data<T>()[c] + static_cast<T>(eps));
      cpu::batch_norm_apply<T>(g, x.data<T>(), running_mean.data<T>(), a.data(), beta.data<T>(), relu,
                               y.data<T>());
    });
    return y;
  }
  static void bn_backward(const Tensor& dy, const Tensor& y, const Tensor& x, const Tensor& gamma, const Tensor& mean,
                          const Tensor& invstd, const Shards& sh, Tensor& dx, Tensor& dgamma, Tensor& dbeta) {
    const cpu::BnGeom g = bn_geom(x, "batch_norm backward");
    need_shape(dy, x.shape(), "batch_norm backward", "dy");
    for (const Tensor* t : {&gamma, &mean, &invstd}) need_shape(*t, {g.c}, "batch_norm backward", "a [C] vector");
    for (const Tensor* t : {&dy, &gamma, &mean, &invstd}) same_dtype(x, *t, "batch_norm backward", "an input");
    sh.shard_size(g.n);
    dx = Tensor::empty(x.shape(), x.dtype());
    dgamma = Tensor::empty({g.c}, x.dtype());
    dbeta = Tensor::empty({g.c}, x.dtype());
    dispatch(x.dtype(), "batch_norm backward", [&](auto t) {
      using T = decltype(t);
      const T* mu = mean.data<T>();
      const T* is = invstd.data<T>();
      const T* gm = gamma.data<T>();
      std::vector<T> sums(static_cast<size_t>(sh.count * 2 * g.c));
      const T* mask = y.defined() ? y.data<T>() : nullptr;  // dz = dy·[y > 0] (fused ReLU) or dy
      cpu::batch_norm_backward_sums<T>(g, dy.data<T>(), mask, x.data<T>(), mu, sh.count, sums.data());
      sum_shards(sh, sums.data(), 2 * g.c);
      const T count = static_cast<T>(sh.global_n(g.n) * g.rows);  // N: values per channel, all ranks
      std::vector<T> a(g.c), b(g.c), k(g.c);
      for (int64_t c = 0; c < g.c; ++c) {
        const T sdy = sums[c];                  // Σ dy                     (eq. BN-3)
        const T sdyxh = sums[g.c + c] * is[c];  // Σ dy·x̂ = invstd·Σ dy·(x−μ) (eq. BN-4)
        dbeta.data<T>()[c] = sdy;
        dgamma.data<T>()[c] = sdyxh;
        // dx = γ·invstd/N·(N·dy − Σdy − x̂·Σdy·x̂) = a·dy + b·(x − μ) + k   (eq. BN-5)
        a[c] = gm[c] * is[c];
        b[c] = -(a[c] * is[c] * sdyxh) / count;
        k[c] = -(a[c] * sdy) / count;
      }
      cpu::batch_norm_backward_data<T>(g, dy.data<T>(), mask, x.data<T>(), mu, a.data(), b.data(), k.data(),
                                       dx.data<T>());
    });
  }
  void update_running(Tensor& running, const Tensor& batch, double momentum) override {
    need(running, "update_running", "running");
    need_shape(batch, running.shape(), "update_running", "batch");
    same_dtype(running, batch, "update_running", "batch");
    dispatch(running.dtype(), "update_running", [&](auto t) {
      using T = decltype(t);
      const T m = static_cast<T>(momentum);
      T* r = running.data<T>();
      const T* b = batch.data<T>();
      for (int64_t i = 0; i < running.numel(); ++i) r[i] = (T(1) - m) * r[i] + m * b[i];
    });
  }

  // ---- ReLU ----
  Tensor relu_forward(const Tensor& x) override {
    need(x, "relu", "x");
    Tensor y = Tensor::empty(x.shape(), x.dtype());
    dispatch(x.dtype(), "relu", [&](auto t) {
      using T = decltype(t);
      cpu::relu_forward<T>(x.numel(), x.data<T>(), y.data<T>());
    });
    return y;
  }
  Tensor relu_backward(const Tensor& dy, const Tensor& y) override {
    need(y, "relu backward", "y");
    need_shape(dy, y.shape(), "relu backward", "dy");
    same_dtype(y, dy, "relu backward", "dy");
    Tensor dx = Tensor::empty(y.shape(), y.dtype());
    dispatch(y.dtype(), "relu backward", [&](auto t) {
      using T = decltype(t);
      cpu::relu_backward<T>(y.numel(), dy.data<T>(), y.data<T>(), dx.data<T>());
    });
    return dx;
  }

  // ---- max-pool ----
  Tensor max_pool_forward(const Tensor& x) override {
    need_rank(x, 4, "max_pool2d", "x (NHWC)");
    const cpu::PoolGeom g{x.dim(0), x.dim(1), x.dim(2), x.dim(3)};
    Tensor y = Tensor::empty({g.n, g.oh(), g.ow(), g.c}, x.dtype());
    dispatch(x.dtype(), "max_pool2d", [&](auto t) {
      using T = decltype(t);
      cpu::max_pool_forward<T>(g, x.data<T>(), y.data<T>());
    });
    return y;
  }
  Tensor max_pool_backward(const Tensor& dy, const Tensor& x) override {
    need_rank(x, 4, "max_pool2d backward", "x (NHWC)");
    const cpu::PoolGeom g{x.dim(0), x.dim(1), x.dim(2), x.dim(3)};
    need_shape(dy, {g.n, g.oh(), g.ow(), g.c}, "max_pool2d backward", "dy");
    same_dtype(x, dy, "max_pool2d backward", "dy");
    Tensor dx = Tensor::empty(x.shape(), x.dtype());
    dispatch(x.dtype(), "max_pool2d backward", [&](auto t) {
      using T = decltype(t);
      cpu::max_pool_backward<T>(g, dy.data<T>(), x.data<T>(), dx.data<T>());
    });
    return dx;
  }

  // ---- linear ----
  Tensor linear_forward(const Tensor& x, const Tensor& w, const Tensor& b) override {
    need_rank(x, 2, "linear", "x");
    need_rank(w, 2, "linear", "w");
    same_dtype(x, w, "linear", "w");
    check(w.dim(1) == x.dim(1), "linear: w has shape " + shape_str(w.shape()) + ", expected [out," +
                                    std::to_string(x.dim(1)) + "] to match x " + shape_str(x.shape()));
    const cpu::LinearGeom g{x.dim(0), x.dim(1), w.dim(0)};
    if (b.defined()) {
      need_shape(b, {g.out}, "linear", "b");
      same_dtype(x, b, "linear", "b");
    }
    Tensor y = Tensor::empty({g.n, g.out}, x.dtype());
    dispatch(x.dtype(), "linear", [&](auto t) {
      using T = decltype(t);
      cpu::linear_forward<T>(g, x.data<T>(), w.data<T>(), b.defined() ? b.data<T>() : nullptr, y.data<T>());
    });
    return y;
  }
  Tensor linear_backward_data(const Tensor& dy, const Tensor& w) override {
    need_rank(dy, 2, "linear backward", "dy");
    need_rank(w, 2, "linear backward", "w");
    same_dtype(dy, w, "linear backward", "w");
    check(dy.dim(1) == w.dim(0), "linear backward: dy " + shape_str(dy.shape()) + " does not match w " +
                                     shape_str(w.shape()));
    const cpu::LinearGeom g{dy.dim(0), w.dim(1), w.dim(0)};
    Tensor dx = Tensor::empty({g.n, g.in}, dy.dtype());
    dispatch(dy.dtype(), "linear backward", [&](auto t) {
      using T = decltype(t);
      cpu::linear_backward_data<T>(g, dy.data<T>(), w.data<T>(), dx.data<T>());
    });
    return dx;
  }
  void linear_backward_weight(const Tensor& x, const Tensor& dy, bool with_bias, const Shards& sh, Tensor& dw,
                              Tensor& db) override {
    need_rank(x, 2, "linear weight gradient", "x");
    need_rank(dy, 2, "linear weight gradient", "dy");
    same_dtype(x, dy, "linear weight gradient", "dy");
    check(dy.dim(0) == x.dim(0), "linear weight gradient: dy " + shape_str(dy.shape()) + " and x " +
                                     shape_str(x.shape()) + " differ in batch size");
    const cpu::LinearGeom g{x.dim(0), x.dim(1), dy.dim(1)};
    sh.shard_size(g.n);
    dw = Tensor::empty({g.out, g.in}, x.dtype());
    db = with_bias ? Tensor::empty({g.out}, x.dtype()) : Tensor();
    dispatch(x.dtype(), "linear weight gradient", [&](auto t) {
      using T = decltype(t);
      const int64_t len = g.out * g.in + (with_bias ? g.out : 0);
      std::vector<T> part(static_cast<size_t>(sh.count * len));
      cpu::linear_backward_weight<T>(g, x.data<T>(), dy.data<T>(), sh.count, with_bias, part.data());
      sum_shards(sh, part.data(), len);
      std::copy(part.begin(), part.begin() + g.out * g.in, dw.data<T>());
      if (with_bias) std::copy(part.begin() + g.out * g.in, part.begin() + len, db.data<T>());
    });
  }

  // ---- l2 normalisation ----
  Tensor l2_normalize_forward(const Tensor& x, double eps) override {
    need_rank(x, 2, "l2_normalize", "x");
    Tensor z = Tensor::empty(x.shape(), x.dtype());
    dispatch(x.dtype(), "l2_normalize", [&](auto t) {
      using T = decltype(t);
      cpu::l2_normalize_forward<T>(x.dim(0), x.dim(1), x.data<T>(), static_cast<T>(eps), z.data<T>());
    });
    return z;
  }
  Tensor l2_normalize_backward(const Tensor& dz, const Tensor& x, const Tensor& z, double eps) override {
    need_rank(x, 2, "l2_normalize backward", "x");
    need_shape(dz, x.shape(), "l2_normalize backward", "dz");
    need_shape(z, x.shape(), "l2_normalize backward", "z");
    same_dtype(x, dz, "l2_normalize backward", "dz");
    same_dtype(x, z, "l2_normalize backward", "z");
    Tensor dx = Tensor::empty(x.shape(), x.dtype());
    dispatch(x.dtype(), "l2_normalize backward", [&](auto t) {
      using T = decltype(t);
      cpu::l2_normalize_backward<T>(x.dim(0), x.dim(1), dz.data<T>(), x.data<T>(), z.data<T>(), static_cast<T>(eps),
                                    dx.data<T>());
    });
    return dx;
  }

  // ---- supervised contrastive loss ----
  Tensor supcon_forward(const Tensor& z, const Tensor& labels, double tau) override {
    check_supcon(z, labels, tau);
    Tensor loss = Tensor::empty({1}, z.dtype());
    dispatch(z.dtype(), "supcon_loss", [&](auto t) {
      using T = decltype(t);
      loss.data<T>()[0] = cpu::supcon_loss<T>(z.dim(0), z.dim(1), z.data<T>(), labels.data<int32_t>(), static_cast<T>(tau));
    });
    return loss;
  }
  Tensor supcon_backward(const Tensor& z, const Tensor& labels, double tau, double dloss) override {
    check_supcon(z, labels, tau);
    Tensor dz = Tensor::empty(z.shape(), z.dtype());
    dispatch(z.dtype(), "supcon_loss backward", [&](auto t) {
      using T = decltype(t);
      cpu::supcon_backward<T>(z.dim(0), z.dim(1), z.data<T>(), labels.data<int32_t>(), static_cast<T>(tau),
                              static_cast<T>(dloss), dz.data<T>());
    });
    return dz;
  }

  // ---- cross-entropy ----
  Tensor cross_entropy_forward(const Tensor& logits, const Tensor& labels, const Shards& sh) override {
    check_ce(logits, labels);
    const int64_t n = logits.dim(0), c = logits.dim(1);
    sh.shard_size(n);
    Tensor loss = Tensor::empty({1}, logits.dtype());
    dispatch(logits.dtype(), "cross_entropy", [&](auto t) {
      using T = decltype(t);
      std::vector<T> partials(static_cast<size_t>(sh.count));
      cpu::cross_entropy_partials<T>(n, c, logits.data<T>(), labels.data<int32_t>(), sh.count, partials.data());
      sum_shards(sh, partials.data(), 1);
      loss.data<T>()[0] = partials[0] / static_cast<T>(sh.global_n(n));
    });
    return loss;
  }
  Tensor cross_entropy_backward(const Tensor& logits, const Tensor& labels, const Shards& sh, double dloss) override {
    check_ce(logits, labels);
    const int64_t n = logits.dim(0), c = logits.dim(1);
    Tensor d = Tensor::empty(logits.shape(), logits.dtype());
    dispatch(logits.dtype(), "cross_entropy backward", [&](auto t) {
      using T = decltype(t);
      const T scale = static_cast<T>(dloss) / static_cast<T>(sh.global_n(n));
      cpu::cross_entropy_backward<T>(n, c, logits.data<T>(), labels.data<int32_t>(), scale, d.data<T>());
    });
    return d;
  }

  // ---- optimiser steps ----
  void lars_step(Tensor& w, const Tensor& g, Tensor& v, const LarsArgs& a) override {
    check_step(w, g, v, "lars_step");
    dispatch(w.dtype(), "lars_step", [&](auto t) {
      using T = decltype(t);
      cpu::lars_step<T>(w.numel(), w.data<T>(), g.data<T>(), v.data<T>(),
                        cpu::LarsParams{a.lr, a.momentum, a.weight_decay, a.eta, a.adapt});
    });
  }
  void sgd_step(Tensor& w, const Tensor& g, Tensor& v, double lr, double momentum, double weight_decay) override {
    check_step(w, g, v, "sgd_step");
    dispatch(w.dtype(), "sgd_step", [&](auto t) {
      using T = decltype(t);
      cpu::sgd_step<T>(w.numel(), w.data<T>(), g.data<T>(), v.data<T>(), lr, momentum, weight_decay);
    });
  }

  // ---- top-k ----
  Tensor topk(const Tensor& scores, int k) override {
    need_rank(scores, 2, "topk", "scores");
    check(k >= 1 && k <= scores.dim(1), "topk: k = " + std::to_string(k) + ", expected 1.." +
                                            std::to_string(scores.dim(1)) + " (the number of classes)");
    Tensor out = Tensor::empty({scores.dim(0), k}, DType::i32);
    dispatch(scores.dtype(), "topk", [&](auto t) {
      using T = decltype(t);
      cpu::topk<T>(scores.dim(0), scores.dim(1), scores.data<T>(), k, out.data<int32_t>());
    });
    return out;
  }

  int64_t first_non_finite(const std::vector<Tensor>& ts) override {
    for (size_t i = 0; i < ts.size(); ++i) {
      need(ts[i], "first_non_finite", "tensor");
      if (ts[i].dtype() != DType::f32) continue;
      const float* p = ts[i].data<float>();
      for (int64_t k = 0; k < ts[i].numel(); ++k)
        if (!std::isfinite(p[k])) return static_cast<int64_t>(i);
    }
    return -1;
  }

 private:
  static void check_labels(const Tensor& labels, int64_t n, const char* op) {
    need(labels, op, "labels");
    check(labels.dtype() == DType::i32, std::string(op) + ": labels are " + dtype_name(labels.dtype()) +
                                            ", expected int32");
    need_shape(labels, {n}, op, "labels");
  }
  static void check_supcon(const Tensor& z, const Tensor& labels, double tau) {
    need_rank(z, 2, "supcon_loss", "z");
    check(z.dim(0) >= 1, "supcon_loss: empty batch");
    check(tau > 0, "supcon_loss: temperature " + std::to_string(tau) + ", expected > 0");
    check_labels(labels, z.dim(0), "supcon_loss");
  }
  static void check_ce(const Tensor& logits, const Tensor& labels) {
    need_rank(logits, 2, "cross_entropy", "logits");
    check(logits.dim(1) >= 1, "cross_entropy: logits have no classes");
    check_labels(labels, logits.dim(0), "cross_entropy");
    cpu::check_class_labels(logits.dim(0), logits.dim(1), labels.data<int32_t>(), "cross_entropy");
  }
  static void check_step(const Tensor& w, const Tensor& g, const Tensor& v, const char* op) {
    need(w, op, "w");
    need_shape(g, w.shape(), op, "gradient");
    need_shape(v, w.shape(), op, "momentum buffer");
    same_dtype(w, g, op, "gradient");
    same_dtype(w, v, op, "momentum buffer");
  }
};

// Installed during static initialisation (single-threaded, before any loader thread exists) and
// again, idempotently, on first use of the backend.
const bool kCachingAllocatorInstalled = (cpu::install_caching_allocator(), true);

}  // namespace

Backend& cpu_backend() {
  static CpuBackend& b = [] () -> CpuBackend& {
    cpu::install_caching_allocator();
    static CpuBackend backend;
    return backend;
  }();
  return b;
}

}  // namespace cytocon

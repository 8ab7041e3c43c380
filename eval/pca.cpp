#include "eval/pca.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace cytocon::eval {

namespace {

// Eigen-decomposition of a symmetric d×d matrix a (destroyed) by cyclic Jacobi rotations
// (Golub & Van Loan §8.5); eigenvalues into w, eigenvectors as columns of v.
void jacobi_eigen(std::vector<double>& a, int64_t d, std::vector<double>& w, std::vector<double>& v) {
  v.assign(d * d, 0.0);
  for (int64_t i = 0; i < d; ++i) v[i * d + i] = 1;
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0, total = 0;
    for (int64_t i = 0; i < d; ++i)
      for (int64_t j = 0; j < d; ++j) (i == j ? total : off) += a[i * d + j] * a[i * d + j];
    if (off <= 1e-24 * (total + off)) break;
    for (int64_t p = 0; p < d; ++p)
      for (int64_t q = p + 1; q < d; ++q) {
        double apq = a[p * d + q];
        if (apq == 0) continue;
        double theta = (a[q * d + q] - a[p * d + p]) / (2 * apq);
        double t = (theta >= 0 ? 1 : -1) / (std::fabs(theta) + std::sqrt(theta * theta + 1));
        double c = 1 / std::sqrt(t * t + 1), s = t * c;
        for (int64_t k = 0; k < d; ++k) {  // columns p, q
          double akp = a[k * d + p], akq = a[k * d + q];
          a[k * d + p] = c * akp - s * akq;
          a[k * d + q] = s * akp + c * akq;
        }
        for (int64_t k = 0; k < d; ++k) {  // rows p, q
          double apk = a[p * d + k], aqk = a[q * d + k];
          a[p * d + k] = c * apk - s * aqk;
          a[q * d + k] = s * apk + c * aqk;
        }
        for (int64_t k = 0; k < d; ++k) {
          double vkp = v[k * d + p], vkq = v[k * d + q];
          v[k * d + p] = c * vkp - s * vkq;
          v[k * d + q] = s * vkp + c * vkq;
        }
      }
  }
  w.resize(d);
  for (int64_t i = 0; i < d; ++i) w[i] = a[i * d + i];
}

}  // namespace

template <class T>
PrincipalAxes principal_axes(const T* x, int64_t n, int64_t d) {
  PrincipalAxes pa;
  pa.d = d;
  pa.mean.assign(d, 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t a = 0; a < d; ++a) pa.mean[a] += x[i * d + a];
  for (double& m : pa.mean) m /= static_cast<double>(std::max<int64_t>(n, 1));
  // Covariance, upper triangle; each entry sums over points in order (rows split across threads).
  std::vector<double> cov(d * d, 0.0);
#pragma omp parallel for schedule(dynamic, 4) if (n * d > (1 << 16))
  for (int64_t a = 0; a < d; ++a)
    for (int64_t i = 0; i < n; ++i) {
      double xa = x[i * d + a] - pa.mean[a];
      for (int64_t b = a; b < d; ++b) cov[a * d + b] += xa * (x[i * d + b] - pa.mean[b]);
    }
  for (int64_t a = 0; a < d; ++a)
    for (int64_t b = 0; b < a; ++b) cov[a * d + b] = cov[b * d + a];
  std::vector<double> w, v;
  jacobi_eigen(cov, d, w, v);
  std::vector<int64_t> order(d);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return w[a] > w[b]; });
  pa.variance.resize(d);
  pa.axes.resize(d * d);
  for (int64_t k = 0; k < d; ++k) {
    const int64_t e = order[k];
    pa.variance[k] = w[e] / static_cast<double>(std::max<int64_t>(n, 1));
    int64_t big = 0;
    for (int64_t a = 1; a < d; ++a)
      if (std::fabs(v[a * d + e]) > std::fabs(v[big * d + e])) big = a;
    const double sign = v[big * d + e] < 0 ? -1 : 1;
    for (int64_t a = 0; a < d; ++a) pa.axes[k * d + a] = sign * v[a * d + e];
  }
  return pa;
}

template <class T>
void project(const PrincipalAxes& pa, const T* x, int64_t k, double* out) {
  for (int64_t j = 0; j < k; ++j) {
    double s = 0;
    for (int64_t a = 0; a < pa.d; ++a) s += (x[a] - pa.mean[a]) * pa.axes[j * pa.d + a];
    out[j] = s;
  }
}

template PrincipalAxes principal_axes<float>(const float*, int64_t, int64_t);
template PrincipalAxes principal_axes<double>(const double*, int64_t, int64_t);
template void project<float>(const PrincipalAxes&, const float*, int64_t, double*);
template void project<double>(const PrincipalAxes&, const double*, int64_t, double*);

}  // namespace cytocon::eval

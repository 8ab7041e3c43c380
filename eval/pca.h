// Principal axes of a point set (eigen-decomposition of the covariance by cyclic Jacobi
// rotations, float64), for t-SNE's PCA initialisation.
#pragma once
#include <cstdint>
#include <vector>

namespace cytocon::eval {

struct PrincipalAxes {
  int64_t d = 0;
  std::vector<double> mean;      // [d]
  std::vector<double> variance;  // [d], descending (ties keep the eigen-solver's order)
  std::vector<double> axes;      // [d, d], row k = unit axis k; its largest-magnitude entry > 0
};

// Axes of points x [n, d] (row-major). Deterministic: sums in point order, fixed sweep order.
template <class T>
PrincipalAxes principal_axes(const T* x, int64_t n, int64_t d);

// Coordinates of point x [d] on the first k axes: (x − mean)·axis_j, j < k.
template <class T>
void project(const PrincipalAxes& pa, const T* x, int64_t k, double* out);

}  // namespace cytocon::eval

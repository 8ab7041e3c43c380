// Shared by the MPI GoogleTest suites (tests/mpi/mpi_main.cpp owns the Context).
#pragma once
#include <cstdint>
#include <vector>

#include "engine/dist/context.h"
#include "engine/rng.h"
#include "engine/tensor.h"

namespace cytocon::test {

dist::Context& ctx();

// Rows [first_row, first_row + rows) of a [*, cols] tensor of standard normals keyed by the
// GLOBAL row index: every rank generates its own share of the same global batch.
template <class T>
Tensor global_normal_rows(uint64_t seed, int64_t first_row, int64_t rows, const Shape& row_shape) {
  int64_t cols = shape_numel(row_shape);
  std::vector<T> v(rows * cols);
  for (int64_t r = 0; r < rows; ++r) {
    Rng rng(seed, Purpose::test, static_cast<uint32_t>(first_row + r));
    for (int64_t c = 0; c < cols; ++c) v[r * cols + c] = static_cast<T>(rng.normal(static_cast<uint32_t>(c)));
  }
  Shape s = row_shape;
  s.insert(s.begin(), rows);
  return Tensor::from_vector(v, s);
}

}  // namespace cytocon::test

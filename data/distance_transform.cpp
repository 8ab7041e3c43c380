// Felzenszwalb–Huttenlocher exact squared EDT with arg-min (data/distance_transform.h).
#include "data/distance_transform.h"

#include <cstddef>
#include <limits>

namespace cytocon::data {

using std::size_t;

std::vector<int32_t> nearest_seed(const std::vector<uint8_t>& seed, int w, int h) {
  const size_t n = static_cast<size_t>(w) * static_cast<size_t>(h);
  // Columns: the row of the nearest seed in the same column (-1: none), two sweeps.
  std::vector<int32_t> col_row(n, -1);
  for (int x = 0; x < w; ++x) {
    int last = -1;
    for (int y = 0; y < h; ++y) {
      if (seed[size_t(y) * w + x]) last = y;
      col_row[size_t(y) * w + x] = last;
    }
    last = -1;
    for (int y = h - 1; y >= 0; --y) {
      const size_t i = size_t(y) * w + x;
      if (seed[i]) last = y;
      if (last >= 0 && (col_row[i] < 0 || last - y < y - col_row[i])) col_row[i] = last;
    }
  }
  // Rows: lower envelope of the parabolas (x - q)² + f(q), f(q) = (y - col_row(q))².
  std::vector<int32_t> out(n, -1);
  std::vector<int> v(w);
  std::vector<double> z(size_t(w) + 1), f(w);
  const double inf = std::numeric_limits<double>::infinity();
  for (int y = 0; y < h; ++y) {
    const int32_t* cr = &col_row[size_t(y) * w];
    int k = -1;
    for (int q = 0; q < w; ++q) {
      if (cr[q] < 0) continue;
      f[q] = double(y - cr[q]) * double(y - cr[q]);
      double s = -inf;
      while (k >= 0) {
        const int p = v[k];
        s = ((f[q] + double(q) * q) - (f[p] + double(p) * p)) / (2.0 * (q - p));
        if (s > z[k]) break;
        --k;
      }
      ++k;
      v[k] = q;
      z[k] = k == 0 ? -inf : s;
      z[k + 1] = inf;
    }
    if (k < 0) continue;
    int j = 0;
    for (int x = 0; x < w; ++x) {
      while (z[j + 1] < x) ++j;
      out[size_t(y) * w + x] = cr[v[j]] * w + v[j];
    }
  }
  return out;
}

}  // namespace cytocon::data

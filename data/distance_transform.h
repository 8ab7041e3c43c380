// Exact Euclidean distance transform with the nearest seed ("feature transform") on a grid,
// Felzenszwalb & Huttenlocher, "Distance transforms of sampled functions", ToC 8 (2012):
// one 1-D pass down the columns, one lower envelope of parabolas along the rows.
#pragma once
#include <cstdint>
#include <vector>

namespace cytocon::data {

// seed: w·h cells, row-major, non-zero = seed. Returns for every cell the index of its nearest
// seed (ties: the smaller column, then the one the column pass found), -1 if there is no seed.
std::vector<int32_t> nearest_seed(const std::vector<uint8_t>& seed, int w, int h);

}  // namespace cytocon::data

// One-cell-wide curves on a grid (docs/data.md, "Derived centrelines"): distance-ordered homotopic
// thinning, removal of short end branches (spurs), and tracing into polylines in a fixed order.
// Cells are row-major indices y·w + x; connectivity is 8 for the curve, 4 for the background.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

namespace cytocon::data {

struct CellGrid {
  int w = 0, h = 0;
  std::vector<uint8_t> on;  // w·h, non-zero = on the curve
  int neighbours(int32_t i) const;  // 8-neighbours that are on
};

// Removes cells in the given priority order (repeated passes) while they are simple (removing one
// changes no connectivity: Yokoi's 8-connectivity number is 1) and not the end of a curve.
void thin(CellGrid& g, const std::vector<int32_t>& order);

// Repeatedly removes end branches (an end cell up to, not including, a junction) whose length in
// cells is below min_length(junction cell).
void prune_spurs(CellGrid& g, const std::function<double(int32_t)>& min_length);

// The curves as polylines of cells: branches between ends/junctions starting from ends, then
// junctions, then closed loops (first cell repeated at the end), each in row-major order.
std::vector<std::vector<int32_t>> trace(const CellGrid& g);

}  // namespace cytocon::data

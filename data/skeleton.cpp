// Thinning, spur pruning and tracing of grid curves (data/skeleton.h).
#include "data/skeleton.h"

#include <cmath>

namespace cytocon::data {
namespace {

// E, NE, N, NW, W, SW, S, SE (counter-clockwise; y grows downwards).
constexpr int kDx[8] = {1, 1, 0, -1, -1, -1, 0, 1};
constexpr int kDy[8] = {0, -1, -1, -1, 0, 1, 1, 1};

// The 8 neighbours of cell i (-1 outside the grid).
void around(const CellGrid& g, int32_t i, int32_t nb[8]) {
  const int x = i % g.w, y = i / g.w;
  for (int k = 0; k < 8; ++k) {
    const int xx = x + kDx[k], yy = y + kDy[k];
    nb[k] = (xx < 0 || yy < 0 || xx >= g.w || yy >= g.h) ? -1 : yy * g.w + xx;
  }
}

bool is_on(const CellGrid& g, int32_t i) { return i >= 0 && g.on[i]; }

// Yokoi's connectivity number for 8-connected curves: 1 means removing the cell keeps topology.
int connectivity8(const CellGrid& g, int32_t i) {
  int32_t nb[8];
  around(g, i, nb);
  int b[9];
  for (int k = 0; k < 8; ++k) b[k] = is_on(g, nb[k]) ? 0 : 1;  // background indicator
  b[8] = b[0];
  int n = 0;
  for (int k = 0; k < 8; k += 2) n += b[k] - b[k] * b[k + 1] * b[(k + 2) % 8];
  return n;
}

// The first on-neighbour of cur other than prev (cur has one or two on-neighbours).
int32_t next_along(const CellGrid& g, int32_t cur, int32_t prev) {
  int32_t nb[8];
  around(g, cur, nb);
  for (int k = 0; k < 8; ++k)
    if (is_on(g, nb[k]) && nb[k] != prev) return nb[k];
  return -1;
}

double step_length(int32_t a, int32_t b, int w) {
  return (a % w != b % w && a / w != b / w) ? std::sqrt(2.0) : 1.0;
}

}  // namespace

int CellGrid::neighbours(int32_t i) const {
  int32_t nb[8];
  around(*this, i, nb);
  int n = 0;
  for (int k = 0; k < 8; ++k) n += is_on(*this, nb[k]);
  return n;
}

void thin(CellGrid& g, const std::vector<int32_t>& order) {
  for (bool changed = true; changed;) {
    changed = false;
    for (int32_t i : order)
      if (g.on[i] && g.neighbours(i) > 1 && connectivity8(g, i) == 1) {
        // A cell whose 4-neighbours are all on is interior, not simple for the background.
        const int x = i % g.w, y = i / g.w;
        const bool interior = x > 0 && y > 0 && x + 1 < g.w && y + 1 < g.h && g.on[i - 1] && g.on[i + 1] &&
                              g.on[i - g.w] && g.on[i + g.w];
        if (interior) continue;
        g.on[i] = 0;
        changed = true;
      }
  }
}

void prune_spurs(CellGrid& g, const std::function<double(int32_t)>& min_length) {
  for (bool changed = true; changed;) {
    changed = false;
    for (int32_t s = 0; s < static_cast<int32_t>(g.on.size()); ++s) {
      if (!g.on[s] || g.neighbours(s) != 1) continue;
      std::vector<int32_t> branch{s};
      int32_t prev = -1, cur = s, junction = -1;
      double len = 0;
      while (true) {
        const int32_t next = next_along(g, cur, prev);
        len += step_length(cur, next, g.w);
        const int deg = g.neighbours(next);
        if (deg > 2) junction = next;
        if (deg != 2) break;  // a junction, or the other end of a whole curve (kept)
        branch.push_back(next);
        prev = cur;
        cur = next;
      }
      if (junction >= 0 && len < min_length(junction)) {
        for (int32_t c : branch) g.on[c] = 0;
        changed = true;
      }
    }
  }
}

std::vector<std::vector<int32_t>> trace(const CellGrid& g) {
  const int32_t n = static_cast<int32_t>(g.on.size());
  std::vector<uint8_t> done(g.on.size(), 0);  // cells of degree 2 already on a polyline
  std::vector<std::vector<int32_t>> out;
  auto is_node = [&](int32_t i) { return g.neighbours(i) != 2; };
  // From s through its neighbour `first` along cells of degree 2 to the next node, or back to s.
  auto walk = [&](int32_t s, int32_t first) {
    std::vector<int32_t> line{s};
    int32_t prev = s, cur = first;
    while (true) {
      line.push_back(cur);
      if (cur == s || is_node(cur)) break;
      done[cur] = 1;
      const int32_t next = next_along(g, cur, prev);
      prev = cur;
      cur = next;
    }
    return line;
  };
  for (int pass = 0; pass < 2; ++pass)  // from ends first, then from junctions
    for (int32_t s = 0; s < n; ++s) {
      if (!g.on[s] || !is_node(s) || (pass == 0) != (g.neighbours(s) <= 1)) continue;
      int32_t nb[8];
      around(g, s, nb);
      for (int k = 0; k < 8; ++k)
        if (is_on(g, nb[k]) && !is_node(nb[k]) && !done[nb[k]]) out.push_back(walk(s, nb[k]));
    }
  for (int32_t s = 0; s < n; ++s) {  // closed loops without a node
    if (!g.on[s] || done[s] || is_node(s)) continue;
    done[s] = 1;
    out.push_back(walk(s, next_along(g, s, -1)));
  }
  return out;
}

}  // namespace cytocon::data

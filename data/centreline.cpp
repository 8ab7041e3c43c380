// Drawn or derived centrelines (data/centreline.h); the derivation is described in docs/data.md,
// "Derived centrelines".
#include "data/centreline.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "data/distance_transform.h"
#include "data/skeleton.h"
#include "engine/tensor.h"

namespace cytocon::data {

CentrelineSource parse_centreline_source(const std::string& s) {
  if (s == "auto") return CentrelineSource::automatic;
  if (s == "annotated") return CentrelineSource::annotated;
  if (s == "derived") return CentrelineSource::derived;
  fail("centrelines '" + s + "': expected auto, annotated or derived");
}

const char* centreline_source_name(CentrelineSource s) {
  switch (s) {
    case CentrelineSource::automatic: return "auto";
    case CentrelineSource::annotated: return "annotated";
    case CentrelineSource::derived: return "derived";
  }
  return "?";
}

std::vector<Centreline> select_centrelines(const Annotations& a, CentrelineSource s, double um_per_px,
                                          SectionSize image) {
  if (s == CentrelineSource::annotated || (s == CentrelineSource::automatic && !a.centrelines.empty()))
    return a.centrelines;
  return derive_centrelines(a, um_per_px, image);
}

namespace {

constexpr double kGridUm = 16;              // grid step (µm); coarser when a group exceeds kMaxCells
constexpr double kMaxCells = 1 << 23;       // cells per rasterised group of polygons (memory bound)
constexpr double kRidgeRatio = 0.8;         // λ: nearest boundary points of neighbours ≥ λ·(d + d') apart
constexpr double kMinThicknessUm = 200;     // thinner ribbon parts (slivers, raster steps) have no mid-line
constexpr double kMinPieceMm2 = 0.05;       // smaller ribbon pieces are dropped
constexpr double kOnEdgePx = 0.5;           // a polygon edge this close to an image edge runs along it
constexpr double kMirrorUm = 3000;          // how far beyond a cut the ribbon is continued
constexpr int kSmoothCells = 3;             // moving-average half-window along the traced cells

enum : uint8_t { kOut = 0, kRibbon = 1, kVoid = 2 };  // kVoid: unknown, neither tissue nor glass

struct Box {
  double x0 = INFINITY, y0 = INFINITY, x1 = -INFINITY, y1 = -INFINITY;
  void add(Point2 p) { x0 = std::min(x0, p.x), y0 = std::min(y0, p.y), x1 = std::max(x1, p.x), y1 = std::max(y1, p.y); }
  void add(const Box& b) { add(Point2{b.x0, b.y0}), add(Point2{b.x1, b.y1}); }
  bool near(const Box& b, double m) const { return x0 <= b.x1 + m && b.x0 <= x1 + m && y0 <= b.y1 + m && b.y0 <= y1 + m; }
};

Box box_of(const AreaPolygon& p) {
  Box b;
  for (const auto& r : p.rings)
    for (Point2 q : r) b.add(q);
  return b;
}

// A grid of square cells of g px over part of the section; cell (x, y) has its centre at
// (ox + (x + ½)g, oy + (y + ½)g) in full-resolution pixels.
struct Raster {
  int w = 0, h = 0;
  double ox = 0, oy = 0, g = 1;
  std::vector<uint8_t> cell;
  Point2 centre(int32_t i) const { return {ox + (i % w + 0.5) * g, oy + (i / w + 0.5) * g}; }
  int32_t at(Point2 p) const {
    const double fx = std::floor((p.x - ox) / g), fy = std::floor((p.y - oy) / g);
    if (!(fx >= 0 && fy >= 0 && fx < w && fy < h)) return -1;
    return static_cast<int32_t>(fy) * w + static_cast<int32_t>(fx);
  }
};

// Sets the cells whose centre the polygon contains (even-odd over its rings) to kRibbon.
void fill(Raster& r, const AreaPolygon& p) {
  std::vector<std::pair<int, double>> cross;  // (row, x of an edge crossing the row's centre line)
  for (const auto& ring : p.rings)
    for (size_t i = 0; i < ring.size(); ++i) {
      const Point2 a = ring[i], b = ring[(i + 1) % ring.size()];
      if (a.y == b.y) continue;
      const double lo = std::min(a.y, b.y), hi = std::max(a.y, b.y);
      const int j0 = std::max(0, static_cast<int>(std::ceil((lo - r.oy) / r.g - 0.5)));
      const int j1 = std::min(r.h - 1, static_cast<int>(std::ceil((hi - r.oy) / r.g - 0.5)) - 1);
      for (int j = j0; j <= j1; ++j) {
        const double y = r.oy + (j + 0.5) * r.g;
        if ((a.y > y) == (b.y > y)) continue;
        cross.emplace_back(j, a.x + (y - a.y) * (b.x - a.x) / (b.y - a.y));
      }
    }
  std::sort(cross.begin(), cross.end());
  for (size_t k = 0; k + 1 < cross.size(); k += 2) {
    const int j = cross[k].first;
    const int i0 = std::max(0, static_cast<int>(std::ceil((cross[k].second - r.ox) / r.g - 0.5)));
    const int i1 = std::min(r.w - 1, static_cast<int>(std::ceil((cross[k + 1].second - r.ox) / r.g - 0.5)) - 1);
    for (int i = i0; i <= i1; ++i) r.cell[size_t(j) * r.w + i] = kRibbon;
  }
}

// Gaps of one cell between neighbouring polygons (drawn separately, not snapped) are closed.
void close_cracks(Raster& r) {
  std::vector<uint8_t> c = r.cell;
  for (int y = 1; y + 1 < r.h; ++y)
    for (int x = 1; x + 1 < r.w; ++x) {
      const size_t i = size_t(y) * r.w + x;
      if (c[i] != kOut) continue;
      if ((c[i - 1] == kRibbon && c[i + 1] == kRibbon) || (c[i - r.w] == kRibbon && c[i + r.w] == kRibbon))
        r.cell[i] = kRibbon;
    }
}

// Intervals (along the side) of polygon edges lying on side `side` of the image: where QuPath
// clipped an annotation to the image. Sides: 0 left, 1 right, 2 top, 3 bottom.
std::vector<std::pair<double, double>> edges_on_side(const std::vector<const AreaPolygon*>& polys, int side,
                                                     double edge) {
  std::vector<std::pair<double, double>> out;
  for (const AreaPolygon* p : polys)
    for (const auto& ring : p->rings)
      for (size_t i = 0; i < ring.size(); ++i) {
        const Point2 a = ring[i], b = ring[(i + 1) % ring.size()];
        const double ua = side < 2 ? a.x : a.y, ub = side < 2 ? b.x : b.y;
        const double va = side < 2 ? a.y : a.x, vb = side < 2 ? b.y : b.x;
        if (std::abs(ua - edge) <= kOnEdgePx && std::abs(ub - edge) <= kOnEdgePx)
          out.emplace_back(std::min(va, vb), std::max(va, vb));
      }
  return out;
}

// Beyond the image edge the ribbon continues unseen. Each run of ribbon cells along an edge where
// the ribbon is cut (polygons extend beyond the edge there, or were clipped to it: their edges run
// along it) is continued by point reflection through the run's midpoint: a straight band maps onto
// its own continuation, a curved one continues with a smooth tangent. Every cell beyond an edge
// takes the state of its reflection through the nearest cut's midpoint, so the distance transform
// near a cut sees both surfaces go on and the ridge runs straight to the edge (the medial axis of
// the clipped shape itself bends into the obtuse corner of an oblique cut; a mirror across the
// edge makes a chevron whose axis bends as well). A ribbon that only touches the edge is no cut.
// Other cells beyond the edge are glass; those whose reflection leaves the image are void
// (unknown: neither tissue nor boundary).
void continue_beyond_edges(Raster& r, const Box& visible, const std::vector<const AreaPolygon*>& polys) {
  const std::vector<uint8_t> c = r.cell;
  auto inside = [&](Point2 p) { return p.x >= visible.x0 && p.y >= visible.y0 && p.x <= visible.x1 && p.y <= visible.y1; };
  std::vector<Point2> cuts[4];  // midpoints of the cuts per side
  for (int side = 0; side < 4; ++side) {
    const bool vertical = side < 2;
    const double edge = side == 0 ? visible.x0 : side == 1 ? visible.x1 : side == 2 ? visible.y0 : visible.y1;
    if (!std::isfinite(edge)) continue;
    const double o = vertical ? r.ox : r.oy, along = vertical ? r.oy : r.ox;
    // The line of cells just inside the edge, and the one just beyond it.
    const int k = side % 2 == 0 ? static_cast<int>(std::ceil((edge - o) / r.g - 0.5))
                                : static_cast<int>(std::floor((edge - o) / r.g - 0.5));
    const int out_k = side % 2 == 0 ? k - 1 : k + 1;
    const int len = vertical ? r.h : r.w, lines = vertical ? r.w : r.h;
    if (k < 0 || k >= lines) continue;
    auto cell = [&](int line, int t) { return vertical ? t * r.w + line : line * r.w + t; };
    const auto clipped = edges_on_side(polys, side, edge);
    int start = -1, beyond = 0;
    for (int t = 0; t <= len; ++t) {
      const bool on = t < len && c[cell(k, t)] == kRibbon && inside(r.centre(cell(k, t)));
      if (on && start < 0) start = t, beyond = 0;
      if (on && out_k >= 0 && out_k < lines && c[cell(out_k, t)] == kRibbon) ++beyond;
      if (!on && start >= 0) {
        const double v0 = along + start * r.g, v1 = along + t * r.g;
        double covered = 0;
        for (const auto& [a, b] : clipped) covered += std::max(0.0, std::min(b, v1) - std::max(a, v0));
        if (2 * beyond >= t - start || 2 * covered >= v1 - v0) {
          const double mid = 0.5 * (v0 + v1);
          cuts[side].push_back(vertical ? Point2{edge, mid} : Point2{mid, edge});
        }
        start = -1;
      }
    }
  }
  for (int32_t i = 0; i < static_cast<int32_t>(c.size()); ++i) {
    const Point2 p = r.centre(i);
    if (inside(p)) continue;
    const bool beyond[4] = {p.x < visible.x0, p.x > visible.x1, p.y < visible.y0, p.y > visible.y1};
    r.cell[i] = kOut;
    if (beyond[0] + beyond[1] + beyond[2] + beyond[3] != 1) continue;  // beyond a corner
    const Point2* best = nullptr;
    for (const Point2& m : cuts[beyond[0] ? 0 : beyond[1] ? 1 : beyond[2] ? 2 : 3])
      if (!best || std::hypot(p.x - m.x, p.y - m.y) < std::hypot(p.x - best->x, p.y - best->y)) best = &m;
    if (!best) continue;
    const Point2 q{2 * best->x - p.x, 2 * best->y - p.y};
    const int32_t j = r.at(q);
    r.cell[i] = (j >= 0 && inside(q)) ? c[j] : uint8_t{kVoid};
  }
}

// The parts of a polyline inside the image (the continued ribbon beyond it is only an aid).
void clip_to(const std::vector<Point2>& p, const Box& v, std::vector<Centreline>& out) {
  auto in = [&](Point2 q) { return q.x >= v.x0 && q.y >= v.y0 && q.x <= v.x1 && q.y <= v.y1; };
  // The point where segment a→b (a inside, b outside) leaves the box.
  auto exit = [&](Point2 a, Point2 b) {
    double t = 1;
    if (b.x < v.x0) t = std::min(t, (v.x0 - a.x) / (b.x - a.x));
    if (b.x > v.x1) t = std::min(t, (v.x1 - a.x) / (b.x - a.x));
    if (b.y < v.y0) t = std::min(t, (v.y0 - a.y) / (b.y - a.y));
    if (b.y > v.y1) t = std::min(t, (v.y1 - a.y) / (b.y - a.y));
    return Point2{a.x + t * (b.x - a.x), a.y + t * (b.y - a.y)};
  };
  std::vector<Point2> run;
  auto flush = [&] {
    if (run.size() >= 2) out.push_back(Centreline{"", run});
    run.clear();
  };
  for (size_t k = 0; k < p.size(); ++k) {
    if (in(p[k])) {
      if (run.empty() && k > 0) run.push_back(exit(p[k], p[k - 1]));
      run.push_back(p[k]);
    } else if (!run.empty()) {
      run.push_back(exit(p[k - 1], p[k]));
      flush();
    }
  }
  flush();
}

// The seeds of the distance transform: glass cells.
std::vector<uint8_t> glass_cells(const Raster& r) {
  std::vector<uint8_t> g(r.cell.size());
  for (size_t i = 0; i < g.size(); ++i) g[i] = r.cell[i] == kOut;
  return g;
}

// Ribbon cells of 8-connected pieces too small or too thin to be cortex.
std::vector<uint8_t> kept_pieces(const Raster& r, const std::vector<float>& dist, double um_per_cell) {
  std::vector<uint8_t> keep(r.cell.size(), 0);
  std::vector<int32_t> label(r.cell.size(), -1), stack, piece;
  for (int32_t s = 0; s < static_cast<int32_t>(r.cell.size()); ++s) {
    if (r.cell[s] != kRibbon || label[s] >= 0) continue;
    piece.clear();
    stack.assign(1, s);
    label[s] = s;
    float deepest = 0;
    while (!stack.empty()) {
      const int32_t i = stack.back();
      stack.pop_back();
      piece.push_back(i);
      deepest = std::max(deepest, dist[i]);
      const int x = i % r.w, y = i / r.w;
      for (int dy = -1; dy <= 1; ++dy)
        for (int dx = -1; dx <= 1; ++dx) {
          const int xx = x + dx, yy = y + dy;
          if (xx < 0 || yy < 0 || xx >= r.w || yy >= r.h) continue;
          const int32_t j = yy * r.w + xx;
          if (r.cell[j] == kRibbon && label[j] < 0) label[j] = s, stack.push_back(j);
        }
    }
    const double area_mm2 = piece.size() * um_per_cell * um_per_cell * 1e-6;
    if (area_mm2 >= kMinPieceMm2 && 2 * deepest * um_per_cell >= kMinThicknessUm)
      for (int32_t i : piece) keep[i] = 1;
  }
  return keep;
}

// Moving average over ±kSmoothCells points (the window shrinks at open ends, which stay fixed).
std::vector<Point2> smooth(const std::vector<Point2>& p, bool closed) {
  const int n = static_cast<int>(p.size()) - (closed ? 1 : 0);
  std::vector<Point2> out(p.size());
  for (int i = 0; i < n; ++i) {
    const int k = closed ? std::min(kSmoothCells, (n - 1) / 2) : std::min({kSmoothCells, i, n - 1 - i});
    Point2 s{0, 0};
    for (int d = -k; d <= k; ++d) {
      const Point2 q = p[((i + d) % n + n) % n];
      s.x += q.x, s.y += q.y;
    }
    out[i] = {s.x / (2 * k + 1), s.y / (2 * k + 1)};
  }
  if (closed) out[n] = out[0];
  return out;
}

// Extends an open end straight on (its direction over the last `depth` cells) to the last point
// still in the ribbon: the ridge stops about half a thickness before a ribbon's end.
void extend_end(std::vector<Point2>& p, const Raster& r, double depth) {
  const size_t n = p.size(), m = std::min(n - 1, static_cast<size_t>(std::max(3.0, std::round(depth))));
  const Point2 e = p[n - 1], b = p[n - 1 - m];
  const double len = std::hypot(e.x - b.x, e.y - b.y);
  if (len <= 0) return;
  const Point2 u{(e.x - b.x) / len, (e.y - b.y) / len};
  const double step = 0.5 * r.g, reach = (1.5 * depth + 1) * r.g;
  Point2 last = e;
  for (double t = step; t <= reach; t += step) {
    const Point2 q{e.x + t * u.x, e.y + t * u.y};
    const int32_t i = r.at(q);
    if (i < 0 || r.cell[i] != kRibbon) break;
    last = q;
  }
  if (last.x != e.x || last.y != e.y) p.push_back(last);
}

// The mid-lines of one group of nearby polygons, rasterised together.
void derive_group(const std::vector<const AreaPolygon*>& polys, const Box& bb, const Box& visible,
                  double um_per_px, std::vector<Centreline>& out) {
  Raster r;
  // The grid step: kGridUm, coarser while the group's box with its margins exceeds kMaxCells. A few
  // cells of glass around the polygons; where they reach the image edge, room for the continued
  // ribbon (kMirrorUm, more than half the thickest cortex).
  r.g = std::max(kGridUm / um_per_px, std::sqrt((bb.x1 - bb.x0) * (bb.y1 - bb.y0) / kMaxCells));
  check(std::isfinite(r.g) && r.g > 0, "area polygons with coordinates out of range (a bounding box of " +
                                           std::to_string(bb.x1 - bb.x0) + " x " + std::to_string(bb.y1 - bb.y0) +
                                           " px): cannot derive centrelines");
  for (;; r.g *= 1.25) {
    const double mirror = std::ceil(kMirrorUm / (r.g * um_per_px)) * r.g, glass = 3 * r.g;
    auto margin = [&](double side, double edge) { return std::abs(side - edge) <= r.g ? mirror : glass; };
    r.ox = bb.x0 - margin(bb.x0, visible.x0);
    r.oy = bb.y0 - margin(bb.y0, visible.y0);
    const double w = std::ceil((bb.x1 + margin(bb.x1, visible.x1) - r.ox) / r.g);
    const double h = std::ceil((bb.y1 + margin(bb.y1, visible.y1) - r.oy) / r.g);
    if (w * h <= kMaxCells) {
      r.w = static_cast<int>(w);
      r.h = static_cast<int>(h);
      break;
    }
  }
  r.cell.assign(size_t(r.w) * r.h, kOut);
  for (const AreaPolygon* p : polys) fill(r, *p);
  close_cracks(r);
  continue_beyond_edges(r, visible, polys);

  // Distance (cells) from each cell to its nearest glass cell, and where that cell is.
  const std::vector<int32_t> near = nearest_seed(glass_cells(r), r.w, r.h);
  std::vector<float> dist(near.size(), 0);
  for (size_t i = 0; i < near.size(); ++i)
    if (near[i] >= 0)
      dist[i] = std::hypot(static_cast<float>(int(i % r.w) - near[i] % r.w), static_cast<float>(int(i / r.w) - near[i] / r.w));
  const double um_per_cell = r.g * um_per_px;
  const std::vector<uint8_t> keep = kept_pieces(r, dist, um_per_cell);

  // Ridge of the distance transform (λ-medial axis): neighbours whose nearest glass cells lie on
  // opposite sides of the ribbon, at least kMinThicknessUm apart.
  CellGrid sk{r.w, r.h, std::vector<uint8_t>(r.cell.size(), 0)};
  const double min_sep = kMinThicknessUm / um_per_cell;
  for (int32_t i = 0; i < static_cast<int32_t>(r.cell.size()); ++i) {
    if (!keep[i] || near[i] < 0) continue;
    for (const int32_t j : {i + 1, i + r.w}) {
      if ((j == i + 1 && (i + 1) % r.w == 0) || j >= static_cast<int32_t>(r.cell.size()) || !keep[j] || near[j] < 0)
        continue;
      const double sep = std::hypot(double(near[i] % r.w - near[j] % r.w), double(near[i] / r.w - near[j] / r.w));
      if (sep >= min_sep && sep >= kRidgeRatio * (dist[i] + dist[j])) sk.on[i] = sk.on[j] = 1;
    }
  }
  std::vector<int32_t> order;
  for (int32_t i = 0; i < static_cast<int32_t>(sk.on.size()); ++i)
    if (sk.on[i]) order.push_back(i);
  std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return dist[a] < dist[b]; });
  thin(sk, order);
  prune_spurs(sk, [&](int32_t junction) { return 2 * dist[junction]; });  // shorter than the thickness

  for (const std::vector<int32_t>& cells : trace(sk)) {
    if (cells.size() < 2) continue;
    const bool closed = cells.front() == cells.back();
    std::vector<Point2> pts;
    for (int32_t c : cells) pts.push_back(r.centre(c));
    pts = smooth(pts, closed);
    if (!closed) {
      if (sk.neighbours(cells.back()) <= 1) extend_end(pts, r, dist[cells.back()]);
      if (sk.neighbours(cells.front()) <= 1) {
        std::reverse(pts.begin(), pts.end());
        extend_end(pts, r, dist[cells.front()]);
        std::reverse(pts.begin(), pts.end());
      }
    }
    clip_to(pts, visible, out);
  }
}

}  // namespace

std::vector<Centreline> derive_centrelines(const Annotations& a, double um_per_px, SectionSize image) {
  check(um_per_px > 0 && std::isfinite(um_per_px),
        "deriving centrelines needs a pixel size > 0 um, got " + std::to_string(um_per_px));
  // The part of the plane that can hold tissue: the image, or x, y >= 0 when its size is unknown.
  const Box visible{0, 0, image.width > 0 ? image.width : INFINITY, image.height > 0 ? image.height : INFINITY};
  std::vector<const AreaPolygon*> polys;
  std::vector<Box> boxes;
  for (const AreaPolygon& p : a.polygons) {
    Box b = box_of(p);
    b = Box{std::max(b.x0, visible.x0), std::max(b.y0, visible.y0), std::min(b.x1, visible.x1), std::min(b.y1, visible.y1)};
    if (p.rings.empty() || !(b.x0 < b.x1 && b.y0 < b.y1)) continue;
    polys.push_back(&p);
    boxes.push_back(b);
  }
  std::vector<Centreline> out;
  const double g0 = kGridUm / um_per_px;

  // Groups of polygons whose boxes lie within a few cells of each other (union-find), so that a
  // section's separate ribbon pieces are rasterised one box at a time.
  std::vector<size_t> parent(polys.size());
  std::iota(parent.begin(), parent.end(), 0);
  auto root = [&](size_t i) {
    while (parent[i] != i) i = parent[i] = parent[parent[i]];
    return i;
  };
  for (size_t i = 0; i < polys.size(); ++i)
    for (size_t j = i + 1; j < polys.size(); ++j)
      if (boxes[i].near(boxes[j], 4 * g0)) parent[std::max(root(i), root(j))] = std::min(root(i), root(j));
  for (size_t gi = 0; gi < polys.size(); ++gi) {
    if (root(gi) != gi) continue;
    std::vector<const AreaPolygon*> group;
    Box bb;
    for (size_t i = 0; i < polys.size(); ++i)
      if (root(i) == gi) group.push_back(polys[i]), bb.add(boxes[i]);
    derive_group(group, bb, visible, um_per_px, out);
  }
  return out;
}

}  // namespace cytocon::data

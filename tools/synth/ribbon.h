// Geometry of one synthetic section: a folded tissue outline (part of a large convex surface with
// narrow deep sulci cut in),
// its pial surface as a dense polyline with inward normals and arc length, the areas laid out
// along it, and a coarse nearest-pial-point field giving every pixel its cortical depth and its
// position along the ribbon.
#pragma once
#include <cstdint>
#include <vector>

#include "cortex_model.h"

namespace cytocon::synth {

struct SectionSpec {
  int64_t width = 3072, height = 2304;
  double um_per_px = 4.0;
  uint64_t seed = 1;
  int brain = 0, section = 0;
};

// A profile sampled in relative depth ρ (0 = pial surface, 1 = white-matter border), smoothed
// at layer borders: what the cell generator needs at any ρ.
struct ProfileLut {
  static constexpr int N = 256;
  static constexpr float lo = -0.05f, hi = 1.25f;  // ρ range covered
  float density[N], size_px[N], pyramidal[N], giant[N];
  float thickness_px = 0, columns = 0, column_px = 10;
  int index(float rho) const {
    int k = static_cast<int>((rho - lo) / (hi - lo) * (N - 1) + 0.5f);
    return k < 0 ? 0 : (k >= N ? N - 1 : k);
  }
};
ProfileLut make_lut(const AreaProfile& a, const BrainStyle& b, double um_per_px);

struct Ribbon {
  SectionSpec spec;
  double cx = 0, cy = 0;            // outline centre
  std::vector<float> x, y, nx, ny;  // pial vertices (≈1 px apart) and inward unit normals
  std::vector<double> u;            // arc length (px) at each vertex
  double length = 0;                // polyline length (px)
  // Areas along the visible ribbon: area k occupies visible arc length [c[k], c[k+1]), where the
  // visible arc length vis[i] counts the vertices before i whose mid-depth point is in the image.
  std::vector<int> order;           // area ids in ribbon order
  std::vector<double> c;            // cumulative boundaries, c[0] = 0, c.back() = length
  std::vector<float> vis;
  double span = 0;                  // total visible arc length
  double blend_px = 0;              // half-width of the transition at area borders
  // Coarse field: node (gx, gy) at pixel (gx·step, gy·step) stores its nearest pial vertex.
  int step = 4;
  int64_t gw = 0, gh = 0;
  std::vector<int32_t> nearest;
  std::vector<float> T;             // cortical thickness (px) at each pial vertex (areas blended)

  struct Local {
    int32_t v;    // nearest pial vertex
    float depth;  // px below the pial surface along its normal (< 0 outside the tissue)
    float along;  // arc length of the foot point
    float rho;    // relative cortical depth depth / T (0 pial, 1 white-matter border)
  };
  Local at(float px, float py) const;

  // The nominal area at arc length s and the blend: (area a, area b, weight of b).
  void areas_at(double s, int& a, int& b, float& w) const;
  int nominal_area(double s) const;
  // Nearest pial vertex of pixel position (px, py) (from the coarse field).
  int32_t vertex_near(float px, float py) const;
};

Ribbon make_ribbon(const SectionSpec& spec, const BrainStyle& brain);

}  // namespace cytocon::synth

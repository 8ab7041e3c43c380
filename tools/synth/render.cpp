// Section rendering (render.h). Work is cut into 128-px tiles: cells are generated per tile from
// the tile's own Philox stream (candidates at the maximal density, thinned to the local density,
// i.e. an inhomogeneous Poisson-like process), then each tile draws the cells of its 3×3
// neighbourhood, so the result does not depend on the number of threads.
#include "render.h"

#include <algorithm>
#include <cmath>

#include "engine/rng.h"

namespace cytocon::synth {
namespace {

constexpr int kTile = 128;
constexpr float kPi = 3.14159265f;

struct Cell {
  float x, y;        // centre (px)
  float ax, ay;      // unit axis pointing to the pial surface
  float len, wid;    // half-length along the axis, half-width
  float dark;        // 0..1: how much light the soma absorbs
  float pyr;         // taper and apical dendrite, 0..1
  float reach;       // bounding radius
};

struct Vessel {
  float x0, y0, x1, y1, r;
};

using Local = Ribbon::Local;

struct Ctx {
  const Ribbon& r;
  const BrainStyle& b;
  std::vector<ProfileLut> luts;
  const std::vector<float>& T;
  uint32_t key;
  float noise_sd, grad_amp, grad_fx, grad_fy, grad_p;
  Local at(float px, float py) const { return r.at(px, py); }
};

float smoothstep(float e0, float e1, float x) {
  const float t = std::clamp((x - e0) / (e1 - e0), 0.0f, 1.0f);
  return t * t * (3 - 2 * t);
}

uint32_t hash3(uint32_t a, uint32_t b, uint32_t c) {  // cheap per-pixel noise (lowbias32 mix)
  uint32_t h = a * 0x9E3779B1u ^ (b + 0x7F4A7C15u) * 0x85EBCA77u ^ c * 0xC2B2AE3Du;
  h ^= h >> 16;
  h *= 0x7FEB352Du;
  h ^= h >> 15;
  h *= 0x846CA68Bu;
  h ^= h >> 16;
  return h;
}

std::vector<Cell> make_cells(const Ctx& c, int64_t tx, int64_t ty, int64_t tiles_x, float lambda_max) {
  const SectionSpec& sp = c.r.spec;
  const int64_t x0 = tx * kTile, y0 = ty * kTile;
  const int64_t w = std::min<int64_t>(kTile, sp.width - x0), h = std::min<int64_t>(kTile, sp.height - y0);
  const double px_mm2 = (sp.um_per_px / 1000.0) * (sp.um_per_px / 1000.0);
  const int64_t n = static_cast<int64_t>(std::ceil(lambda_max * px_mm2 * w * h));
  const cytocon::Rng rng(sp.seed, cytocon::Purpose::synth, c.key, 0x10000000u + static_cast<uint32_t>(ty * tiles_x + tx));
  std::vector<Cell> out;
  for (int64_t j = 0; j < n; ++j) {
    const uint32_t q = static_cast<uint32_t>(j * 12);
    const float x = x0 + rng.uniform(q) * w, y = y0 + rng.uniform(q + 1) * h;
    const Local l = c.at(x, y);
    if (l.rho < 0) continue;
    int a, b;
    float wb;
    c.r.areas_at(l.along, a, b, wb);
    const ProfileLut &La = c.luts[a], &Lb = c.luts[b];
    const int k = La.index(l.rho);
    float dens = (1 - wb) * La.density[k] + wb * Lb.density[k];
    const float cols = (1 - wb) * La.columns + wb * Lb.columns;
    if (cols > 0 && l.rho > 0.12f && l.rho < 0.95f) {
      const float per = (1 - wb) * La.column_px + wb * Lb.column_px;
      dens *= (1 + cols * std::cos(2 * kPi * l.along / per)) / (1 + cols);
    }
    if (rng.uniform(q + 2) * lambda_max >= dens) continue;
    const bool white = l.rho >= 1.0f;
    const bool glia = white || rng.uniform(q + 3) < 0.22f;
    float size = glia ? 6.0f / static_cast<float>(sp.um_per_px) : (1 - wb) * La.size_px[k] + wb * Lb.size_px[k];
    float pyr = glia ? 0 : (1 - wb) * La.pyramidal[k] + wb * Lb.pyramidal[k];
    const float giant = glia ? 0 : (1 - wb) * La.giant[k] + wb * Lb.giant[k];
    size *= std::exp(0.22f * (rng.uniform(q + 4) + rng.uniform(q + 5) - 1.0f) * 2.4f);
    if (rng.uniform(q + 6) < giant) size *= 2.5f;
    size = std::max(size, 1.1f);
    // Axis: towards the pial surface (−normal), ±15°; round cells get a random axis.
    float ang = std::atan2(-c.r.ny[l.v], -c.r.nx[l.v]);
    ang += pyr > 0.3f ? (rng.uniform(q + 7) - 0.5f) * 0.5f : rng.uniform(q + 7) * 2 * kPi;
    Cell cell;
    cell.x = x, cell.y = y;
    cell.ax = std::cos(ang), cell.ay = std::sin(ang);
    cell.len = 0.5f * size * (1 + 0.35f * pyr);
    cell.wid = 0.5f * size * (1 - 0.15f * pyr) * (glia ? 1.0f : 0.85f + 0.3f * rng.uniform(q + 8));
    cell.dark = std::clamp(c.b.stain * (glia ? 0.75f + 0.15f * rng.uniform(q + 9) : 0.5f + 0.3f * rng.uniform(q + 9)),
                           0.0f, 0.95f);
    cell.pyr = pyr;
    cell.reach = std::max(cell.len * (1 + 1.4f * pyr), cell.wid) + 1.5f;
    out.push_back(cell);
  }
  return out;
}

// Coverage of pixel offset (ox, oy) by a cell: soma (tapered ellipse), pale nucleus with a dark
// nucleolus in large cells, apical dendrite of pyramidal cells.
float cell_cover(const Cell& c, float ox, float oy) {
  const float a = ox * c.ax + oy * c.ay, b = -ox * c.ay + oy * c.ax;
  const float an = a / c.len;
  const float wa = c.wid * std::max(0.3f, 1 - 0.45f * c.pyr * std::max(0.0f, an));
  const float e = an * an + (b / wa) * (b / wa);
  float cov = 1 - smoothstep(0.6f, 1.25f, e);
  if (c.len > 3.0f) {
    const float na = (a + 0.1f * c.len) / (0.45f * c.len), nb = b / (0.5f * c.wid);
    const float en = na * na + nb * nb;
    cov *= 1 - 0.45f * (1 - smoothstep(0.5f, 1.0f, en));
    const float nuc = (a * a + b * b) / (0.04f * c.len * c.len + 0.3f);
    cov = std::max(cov, 1 - smoothstep(0.6f, 1.0f, nuc));
  }
  if (c.pyr > 0.3f && a > 0 && a < c.len * (1 + 1.4f * c.pyr))
    cov = std::max(cov, 0.55f * c.pyr * (1 - smoothstep(0.35f, 0.9f, std::abs(b))) * (1 - a / (c.len * (1 + 1.4f * c.pyr))));
  return cov;
}

std::vector<Vessel> make_vessels(const Ctx& c) {
  const SectionSpec& sp = c.r.spec;
  const cytocon::Rng rng(sp.seed, cytocon::Purpose::synth, c.key, 0x20000000u);
  uint32_t q = 0;
  auto U = [&](float lo, float hi) { return rng.uniform(q++, lo, hi); };
  std::vector<Vessel> v;
  const float um = static_cast<float>(sp.um_per_px);
  // Penetrating cortical vessels: ~0.8 per mm of ribbon, from the pial surface along the normal.
  const int np = static_cast<int>(c.r.span * um / 1000.0 * 0.8);
  for (int i = 0; i < np; ++i) {
    const float target = U(0, 1) * static_cast<float>(c.r.span);  // uniform in visible arc length
    const size_t s = std::min<size_t>(c.r.x.size() - 1, std::lower_bound(c.r.vis.begin(), c.r.vis.end(), target) - c.r.vis.begin());
    const float len = U(0.2f, 1.0f) * c.T[s], ang = U(-0.2f, 0.2f);
    const float dx = c.r.nx[s] * std::cos(ang) - c.r.ny[s] * std::sin(ang);
    const float dy = c.r.nx[s] * std::sin(ang) + c.r.ny[s] * std::cos(ang);
    v.push_back({c.r.x[s], c.r.y[s], c.r.x[s] + dx * len, c.r.y[s] + dy * len, U(3, 9) / um});
  }
  // Vessels cut across or obliquely: short segments anywhere in the tissue (~1.5 per mm²).
  const int nh = static_cast<int>(sp.width * sp.height * (um / 1000.0) * (um / 1000.0) * 1.5);
  for (int i = 0; i < nh; ++i) {
    const float x = U(0, 1) * sp.width, y = U(0, 1) * sp.height;
    if (c.at(x, y).rho < 0.02f) {
      q += 3;
      continue;
    }
    const float len = U(0, 60) / um, ang = U(0, 2 * kPi), r = U(4, 20) / um;
    v.push_back({x, y, x + len * std::cos(ang), y + len * std::sin(ang), r});
  }
  return v;
}

float segment_distance(const Vessel& v, float x, float y) {
  const float dx = v.x1 - v.x0, dy = v.y1 - v.y0, l2 = dx * dx + dy * dy;
  float t = l2 > 0 ? ((x - v.x0) * dx + (y - v.y0) * dy) / l2 : 0;
  t = std::clamp(t, 0.0f, 1.0f);
  return std::hypot(x - v.x0 - t * dx, y - v.y0 - t * dy);
}

}  // namespace

std::vector<uint8_t> render_section(const Ribbon& r, const BrainStyle& b) {
  const SectionSpec& sp = r.spec;
  Ctx c{r, b, {}, r.T, static_cast<uint32_t>(sp.brain) * 1000003u + static_cast<uint32_t>(sp.section), 0, 0, 0, 0, 0};
  float lambda_max = b.glia_density;
  for (const auto& a : b.areas) {
    c.luts.push_back(make_lut(a, b, sp.um_per_px));
    for (float d : c.luts.back().density) lambda_max = std::max(lambda_max, d * (1 + a.columns));
  }
  {
    const cytocon::Rng g(sp.seed, cytocon::Purpose::synth, c.key, 0x30000000u);
    c.noise_sd = g.uniform(0, 0.01f, 0.03f);
    c.grad_amp = g.uniform(1, 0.0f, 0.05f);
    c.grad_fx = g.uniform(2, -1.0f, 1.0f) * 2 * kPi / sp.width;
    c.grad_fy = g.uniform(3, -1.0f, 1.0f) * 2 * kPi / sp.height;
    c.grad_p = g.uniform(4, 0.0f, 2 * kPi);
  }
  const int64_t tiles_x = (sp.width + kTile - 1) / kTile, tiles_y = (sp.height + kTile - 1) / kTile;
  std::vector<std::vector<Cell>> cells(static_cast<size_t>(tiles_x * tiles_y));
#pragma omp parallel for schedule(dynamic, 4)
  for (int64_t t = 0; t < tiles_x * tiles_y; ++t) cells[t] = make_cells(c, t % tiles_x, t / tiles_x, tiles_x, lambda_max);
  const std::vector<Vessel> vessels = make_vessels(c);
  std::vector<uint8_t> img(static_cast<size_t>(sp.width * sp.height));
#pragma omp parallel
  {
    std::vector<float> buf(kTile * kTile);
#pragma omp for schedule(dynamic, 4)
    for (int64_t t = 0; t < tiles_x * tiles_y; ++t) {
      const int64_t tx = t % tiles_x, ty = t / tiles_x, x0 = tx * kTile, y0 = ty * kTile;
      const int64_t w = std::min<int64_t>(kTile, sp.width - x0), h = std::min<int64_t>(kTile, sp.height - y0);
      // Background: glass, neuropil (layer I slightly paler), white matter, staining gradient.
      for (int64_t y = 0; y < h; ++y)
        for (int64_t x = 0; x < w; ++x) {
          const float px = x0 + x + 0.5f, py = y0 + y + 0.5f;
          const Local l = c.at(px, py);
          const float tissue = smoothstep(-1.0f, 1.0f, l.depth);
          float bg = b.neuropil + 0.015f * (1 - smoothstep(0.03f, 0.10f, l.rho));
          bg += (b.white - b.neuropil) * smoothstep(0.95f, 1.1f, l.rho);
          bg *= 1 + c.grad_amp * std::sin(c.grad_fx * px + c.grad_fy * py + c.grad_p);
          buf[y * kTile + x] = b.glass + tissue * (bg - b.glass);
        }
      // Cell bodies of the 3×3 tile neighbourhood.
      for (int64_t ny = std::max<int64_t>(0, ty - 1); ny <= std::min(tiles_y - 1, ty + 1); ++ny)
        for (int64_t nx = std::max<int64_t>(0, tx - 1); nx <= std::min(tiles_x - 1, tx + 1); ++nx)
          for (const Cell& cell : cells[ny * tiles_x + nx]) {
            const int64_t xa = std::max<int64_t>(x0, static_cast<int64_t>(cell.x - cell.reach));
            const int64_t xb = std::min<int64_t>(x0 + w, static_cast<int64_t>(cell.x + cell.reach) + 1);
            const int64_t ya = std::max<int64_t>(y0, static_cast<int64_t>(cell.y - cell.reach));
            const int64_t yb = std::min<int64_t>(y0 + h, static_cast<int64_t>(cell.y + cell.reach) + 1);
            for (int64_t y = ya; y < yb; ++y)
              for (int64_t x = xa; x < xb; ++x) {
                const float cov = cell_cover(cell, x + 0.5f - cell.x, y + 0.5f - cell.y);
                if (cov > 0) buf[(y - y0) * kTile + (x - x0)] *= 1 - cell.dark * cov;
              }
          }
      // Vessels: an unstained lumen with a thin darker wall.
      for (const Vessel& v : vessels) {
        const float reach = v.r + 2.5f;
        if (std::max(v.x0, v.x1) + reach < x0 || std::min(v.x0, v.x1) - reach > x0 + w ||
            std::max(v.y0, v.y1) + reach < y0 || std::min(v.y0, v.y1) - reach > y0 + h)
          continue;
        for (int64_t y = 0; y < h; ++y)
          for (int64_t x = 0; x < w; ++x) {
            const float d = segment_distance(v, x0 + x + 0.5f, y0 + y + 0.5f);
            if (d > reach) continue;
            float& p = buf[y * kTile + x];
            const float lumen = 1 - smoothstep(v.r - 0.7f, v.r + 0.7f, d);
            const float wall = 0.25f * (1 - smoothstep(0.0f, 1.2f, std::abs(d - v.r - 0.6f)));
            p = (p + lumen * (b.glass * 0.99f - p)) * (1 - wall * b.stain);
          }
      }
      // Per-pixel noise, quantisation.
      for (int64_t y = 0; y < h; ++y)
        for (int64_t x = 0; x < w; ++x) {
          const uint32_t hsh = hash3(static_cast<uint32_t>(x0 + x), static_cast<uint32_t>(y0 + y), c.key ^ static_cast<uint32_t>(sp.seed));
          const float n = ((hsh & 0xFFFF) + (hsh >> 16)) / 65536.0f - 1.0f;  // triangular, sd ≈ 0.41
          const float v = buf[y * kTile + x] + c.noise_sd * 2.45f * n;
          img[(y0 + y) * sp.width + x0 + x] = static_cast<uint8_t>(std::lround(std::clamp(v, 0.0f, 1.0f) * 255.0f));
        }
    }
  }
  return img;
}

}  // namespace cytocon::synth

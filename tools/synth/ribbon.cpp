// Section geometry (ribbon.h): outline, pial polyline, area layout, nearest-vertex field.
#include "ribbon.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/rng.h"

namespace cytocon::synth {
namespace {

constexpr double kPi = 3.14159265358979323846;

struct Draw {
  cytocon::Rng r;
  uint32_t i = 0;
  Draw(uint64_t seed, uint32_t a, uint32_t b) : r(seed, cytocon::Purpose::synth, a, b) {}
  double u(double lo, double hi) { return r.uniform(i++, static_cast<float>(lo), static_cast<float>(hi)); }
};

// Felzenszwalb–Huttenlocher 1-D squared distance transform with arg-min.
void dt1d(const double* f, int64_t n, double* d, int64_t* arg, std::vector<int64_t>& v, std::vector<double>& z) {
  v.resize(n);
  z.resize(n + 1);
  int64_t k = 0;
  v[0] = 0;
  z[0] = -std::numeric_limits<double>::infinity();
  z[1] = std::numeric_limits<double>::infinity();
  auto cross = [&](int64_t q, int64_t p) {
    return ((f[q] + double(q) * q) - (f[p] + double(p) * p)) / (2.0 * q - 2.0 * p);
  };
  for (int64_t q = 1; q < n; ++q) {
    double s = cross(q, v[k]);
    while (s <= z[k]) s = cross(q, v[--k]);  // z[0] = −∞ stops the loop
    ++k;
    v[k] = q;
    z[k] = s;
    z[k + 1] = std::numeric_limits<double>::infinity();
  }
  k = 0;
  for (int64_t q = 0; q < n; ++q) {
    while (z[k + 1] < q) ++k;
    d[q] = double(q - v[k]) * (q - v[k]) + f[v[k]];
    arg[q] = v[k];
  }
}

}  // namespace

ProfileLut make_lut(const AreaProfile& a, const BrainStyle& b, double um) {
  ProfileLut L;
  constexpr int F = 4 * ProfileLut::N;
  std::vector<float> den(F), siz(F), pyr(F), gia(F);
  const float glia_size = 6.0f;
  for (int k = 0; k < F; ++k) {
    const float rho = ProfileLut::lo + (ProfileLut::hi - ProfileLut::lo) * k / (F - 1);
    if (rho < 0) continue;
    if (rho >= 1) {
      den[k] = b.glia_density, siz[k] = glia_size, pyr[k] = 0, gia[k] = 0;
      continue;
    }
    float top = 0;
    for (const Layer& l : a.layers) {
      if (rho < top + l.thickness || &l == &a.layers.back()) {
        den[k] = l.density, siz[k] = l.size_um, pyr[k] = l.pyramidal, gia[k] = l.giant;
        break;
      }
      top += l.thickness;
    }
  }
  // Blur layer borders: a box of width border_blur × (mean layer thickness) in ρ.
  const float width = a.border_blur / a.layers.size();
  const int half = std::max(1, static_cast<int>(width / (ProfileLut::hi - ProfileLut::lo) * (F - 1) / 2));
  for (int n = 0; n < ProfileLut::N; ++n) {
    const int k = n * 4;
    double sd = 0, ss = 0, sp = 0, sg = 0;
    int cnt = 0;
    for (int j = std::max(0, k - half); j <= std::min(F - 1, k + half); ++j, ++cnt)
      sd += den[j], ss += siz[j], sp += pyr[j], sg += gia[j];
    const float rho = ProfileLut::lo + (ProfileLut::hi - ProfileLut::lo) * k / (F - 1);
    L.density[n] = rho < 0 ? 0 : static_cast<float>(sd / cnt);
    L.size_px[n] = static_cast<float>(ss / cnt / um);
    L.pyramidal[n] = static_cast<float>(sp / cnt);
    L.giant[n] = static_cast<float>(sg / cnt);
  }
  L.thickness_px = static_cast<float>(a.thickness_mm * 1000.0 / um);
  L.columns = a.columns;
  L.column_px = static_cast<float>(a.column_um / um);
  return L;
}

void Ribbon::areas_at(double s, int& a, int& b, float& w) const {
  const size_t i = static_cast<size_t>(std::clamp<double>(std::lround(s), 0.0, double(vis.size() - 1)));
  const double v = std::clamp<double>(vis[i], 0.0, span);
  size_t k = std::upper_bound(c.begin(), c.end(), v) - c.begin() - 1;
  k = std::min(k, order.size() - 1);
  a = b = order[k];
  w = 0;
  const double dl = v - c[k], du = c[k + 1] - v;
  if (k > 0 && dl < blend_px && dl <= du) b = order[k - 1], w = static_cast<float>(0.5 * (1 - dl / blend_px));
  else if (k + 1 < order.size() && du < blend_px) b = order[k + 1], w = static_cast<float>(0.5 * (1 - du / blend_px));
}

int Ribbon::nominal_area(double s) const {
  int a, b;
  float w;
  areas_at(s, a, b, w);
  return a;
}

int32_t Ribbon::vertex_near(float px, float py) const {
  int64_t gx = std::clamp<int64_t>(std::lround(px / step), 0, gw - 1);
  int64_t gy = std::clamp<int64_t>(std::lround(py / step), 0, gh - 1);
  return nearest[gy * gw + gx];
}

Ribbon::Local Ribbon::at(float px, float py) const {
  Local l;
  l.v = vertex_near(px, py);
  const float dx = px - x[l.v], dy = py - y[l.v];
  l.depth = dx * nx[l.v] + dy * ny[l.v];
  l.along = static_cast<float>(u[l.v]) + dx * ny[l.v] - dy * nx[l.v];
  l.rho = l.depth / T[l.v];
  return l;
}

namespace {

// The pial surface: a piece of a large convex surface, R(φ) = R0 + A sin(...) − Σ_j D_j (1 − t²)²,
// t = (φ − φ_j)/w_j: its centre C lies outside the image in direction ψ, the gyral crown a
// distance q from the image centre on the other side, so tissue fills most of the frame; narrow
// deep sulci cut in. Sets r's centre, vertices (1 px of arc length apart), arc lengths and length.
void trace_pial_surface(Ribbon& r, Draw& d, double mean_t) {
  const double W = r.spec.width, H = r.spec.height, m = std::min(W, H);
  const double R0 = d.u(1.6, 2.4) * std::max(W, H);
  const double psi = d.u(0, 2 * kPi), q = d.u(0.22, 0.36) * m;
  r.cx = W / 2 + (R0 - q) * std::cos(psi);
  r.cy = H / 2 + (R0 - q) * std::sin(psi);
  const double phi_c = psi + kPi;  // direction from C to the image centre
  double lo = 0, hi = 0;           // visible angular range around phi_c
  for (double fx : {0.0, 0.5, 1.0})
    for (double fy : {0.0, 0.5, 1.0}) {
      const double a = std::remainder(std::atan2(fy * H - r.cy, fx * W - r.cx) - phi_c, 2 * kPi);
      lo = std::min(lo, a), hi = std::max(hi, a);
    }
  lo -= 0.05 * (hi - lo), hi += 0.05 * (hi - lo);
  const double amp = d.u(0.0, 0.08) * m, freq = d.u(0.5, 1.5), ph = d.u(0, 2 * kPi);
  const double spacing = d.u(2.6, 3.6) * mean_t;  // between sulci, along the surface
  const int K = std::max(1, static_cast<int>((hi - lo) * R0 / spacing));
  std::vector<double> phi_j(K), D(K), w(K);
  for (int j = 0; j < K; ++j) {
    phi_j[j] = phi_c + lo + (hi - lo) * (j + 0.5 + d.u(-0.2, 0.2)) / K;
    D[j] = d.u(1.6, 2.8) * mean_t;
    w[j] = d.u(0.35, 0.8) * mean_t / (2 * R0);
  }
  auto R = [&](double phi) {
    double v = R0 + amp * std::sin(2 * kPi * freq * (phi - phi_c - lo) / (hi - lo) + ph);
    for (int j = 0; j < K; ++j) {
      const double t = (phi - phi_j[j]) / w[j];
      if (std::abs(t) < 1) v -= D[j] * (1 - t * t) * (1 - t * t);
    }
    return v;
  };
  // Fine polar sampling of the visible range (steep sulcal walls need small steps), then
  // resampling at 1 px of arc length.
  const int Nf = static_cast<int>(std::min(4e6, 40.0 * (hi - lo) * R0));
  std::vector<double> fx(Nf + 1), fy(Nf + 1);
  for (int i = 0; i <= Nf; ++i) {
    const double phi = phi_c + lo + (hi - lo) * i / Nf, rr = R(phi);
    fx[i] = r.cx + rr * std::cos(phi);
    fy[i] = r.cy + rr * std::sin(phi);
  }
  double acc = 0, next = 0;
  for (int i = 0; i < Nf; ++i) {
    const double len = std::hypot(fx[i + 1] - fx[i], fy[i + 1] - fy[i]);
    while (next <= acc + len) {
      const double t = len > 0 ? (next - acc) / len : 0;
      r.x.push_back(static_cast<float>(fx[i] + t * (fx[i + 1] - fx[i])));
      r.y.push_back(static_cast<float>(fy[i] + t * (fy[i + 1] - fy[i])));
      r.u.push_back(next);
      next += 1.0;
    }
    acc += len;
  }
  r.length = acc;
}

// The inward unit normal at every vertex.
void set_normals(Ribbon& r) {
  const size_t n = r.x.size();
  r.nx.resize(n);
  r.ny.resize(n);
  for (size_t i = 0; i < n; ++i) {  // φ increases clockwise on screen (y down): inward = right turn
    const size_t ip = std::min(i + 1, n - 1), im = i > 0 ? i - 1 : 0;
    double tx = r.x[ip] - r.x[im], ty = r.y[ip] - r.y[im];
    const double l = std::hypot(tx, ty);
    tx /= l, ty /= l;
    r.nx[i] = static_cast<float>(-ty);
    r.ny[i] = static_cast<float>(tx);
  }
}

// Areas along the visible ribbon, in the fixed order, lengths ∝ per-brain weights ± 15 %.
void lay_out_areas(Ribbon& r, Draw& d, const BrainStyle& brain, double mean_t) {
  const double W = r.spec.width, H = r.spec.height, m = std::min(W, H);
  const size_t n = r.x.size();
  const int A = static_cast<int>(brain.areas.size());
  // Visible arc length: vertices whose mid-depth point lies inside the image (with a margin).
  r.vis.resize(n);
  double seen = 0;
  const double mg = 0.03 * m;
  for (size_t i = 0; i < n; ++i) {
    r.vis[i] = static_cast<float>(seen);
    const double x = r.x[i] + 0.5 * mean_t * r.nx[i], y = r.y[i] + 0.5 * mean_t * r.ny[i];
    if (x >= mg && y >= mg && x < W - mg && y < H - mg) seen += 1;
  }
  r.span = std::max(1.0, seen);
  r.c.push_back(0);
  double total = 0;
  std::vector<double> wt(A);
  for (int k = 0; k < A; ++k) total += (wt[k] = brain.areas[k].size_weight * d.u(0.85, 1.15));
  for (int k = 0; k < A; ++k) {
    r.order.push_back(k);
    r.c.push_back(r.c.back() + wt[k] / total * r.span);
  }
  r.c.back() = r.span;
  r.blend_px = 250.0 / r.spec.um_per_px;
}

// Thickness changes between areas over ~1 mm: per-vertex area thickness, box-filtered twice.
void set_thickness(Ribbon& r, const BrainStyle& brain) {
  const size_t n = r.x.size();
  std::vector<double> t0(n), t1(n);
  for (size_t i = 0; i < n; ++i)
    t0[i] = brain.areas[r.nominal_area(r.u[i])].thickness_mm * 1000.0 / r.spec.um_per_px;
  const int64_t half = static_cast<int64_t>(500.0 / r.spec.um_per_px);
  for (int pass = 0; pass < 2; ++pass) {
    std::vector<double> pre(n + 1, 0.0);
    for (size_t i = 0; i < n; ++i) pre[i + 1] = pre[i] + t0[i];
    for (int64_t i = 0; i < static_cast<int64_t>(n); ++i) {
      const int64_t a = std::max<int64_t>(0, i - half), b = std::min<int64_t>(n, i + half + 1);
      t1[i] = (pre[b] - pre[a]) / (b - a);
    }
    std::swap(t0, t1);
  }
  r.T.assign(t0.begin(), t0.end());
}

// Nearest pial vertex for each coarse node: exact squared-EDT with arg-min, columns then rows.
void set_nearest_field(Ribbon& r) {
  const size_t n = r.x.size();
  r.step = std::max(2, static_cast<int>(std::lround(16.0 / r.spec.um_per_px)));
  r.gw = r.spec.width / r.step + 1;
  r.gh = r.spec.height / r.step + 1;
  std::vector<int32_t> seed(static_cast<size_t>(r.gw * r.gh), -1);
  for (size_t i = 0; i < n; ++i) {
    const int64_t gx = std::lround(r.x[i] / r.step), gy = std::lround(r.y[i] / r.step);
    if (gx >= 0 && gy >= 0 && gx < r.gw && gy < r.gh) seed[gy * r.gw + gx] = static_cast<int32_t>(i);
  }
  const double BIG = 1e18;
  std::vector<double> colD(seed.size());
  std::vector<int64_t> colArg(seed.size());
#pragma omp parallel
  {
    std::vector<double> f, dd;
    std::vector<int64_t> arg, v;
    std::vector<double> z;
#pragma omp for schedule(static)
    for (int64_t gx = 0; gx < r.gw; ++gx) {
      f.resize(r.gh), dd.resize(r.gh), arg.resize(r.gh);
      for (int64_t gy = 0; gy < r.gh; ++gy) f[gy] = seed[gy * r.gw + gx] >= 0 ? 0 : BIG;
      dt1d(f.data(), r.gh, dd.data(), arg.data(), v, z);
      for (int64_t gy = 0; gy < r.gh; ++gy) colD[gy * r.gw + gx] = dd[gy], colArg[gy * r.gw + gx] = arg[gy];
    }
  }
  r.nearest.assign(seed.size(), 0);
#pragma omp parallel
  {
    std::vector<double> dd;
    std::vector<int64_t> arg, v;
    std::vector<double> z;
#pragma omp for schedule(static)
    for (int64_t gy = 0; gy < r.gh; ++gy) {
      dd.resize(r.gw), arg.resize(r.gw);
      dt1d(colD.data() + gy * r.gw, r.gw, dd.data(), arg.data(), v, z);
      for (int64_t gx = 0; gx < r.gw; ++gx) {
        const int64_t sx = arg[gx], sy = colArg[gy * r.gw + sx];
        r.nearest[gy * r.gw + gx] = std::max(0, seed[sy * r.gw + sx]);
      }
    }
  }
}

}  // namespace

Ribbon make_ribbon(const SectionSpec& spec, const BrainStyle& brain) {
  Ribbon r;
  r.spec = spec;
  const uint32_t key = static_cast<uint32_t>(spec.brain) * 1000003u + static_cast<uint32_t>(spec.section);
  Draw d(spec.seed, 0x52494221u, key);  // "RIB!"
  double mean_t = 0;
  for (const auto& ar : brain.areas) mean_t += ar.thickness_mm;
  mean_t = mean_t / brain.areas.size() * 1000.0 / spec.um_per_px;  // px
  trace_pial_surface(r, d, mean_t);
  set_normals(r);
  lay_out_areas(r, d, brain, mean_t);
  set_thickness(r, brain);
  set_nearest_field(r);
  return r;
}

}  // namespace cytocon::synth

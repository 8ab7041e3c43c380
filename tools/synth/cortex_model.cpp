// Built-in laminar profiles (docs/synth.md lists the sources and how the numbers were chosen).
// Densities are cell bodies (neurons and glia) per mm² in a 20 µm Merker-stained section; sizes
// are soma diameters. They are plausible round figures, not measurements.
#include "cortex_model.h"

#include <algorithm>
#include <cmath>

#include "engine/rng.h"

namespace cytocon::synth {
namespace {

using L = Layer;

std::vector<AreaProfile> templates() {
  std::vector<AreaProfile> t;
  // hOc1 (BA17): thin koniocortex; layer IV split by the cell-poor stripe of Gennari (IVb);
  // very dense small cells in II and IVc; sparse Meynert cells in V.
  t.push_back({"hOc1", 1.8f,
               {L{"I", 0.10f, 250, 7, 0}, L{"II", 0.09f, 4200, 9, 0.2f}, L{"III", 0.21f, 2600, 12, 0.6f},
                L{"IVa", 0.06f, 3600, 9, 0.1f}, L{"IVb", 0.09f, 900, 10, 0.2f}, L{"IVc", 0.16f, 6500, 8, 0},
                L{"V", 0.12f, 1700, 13, 0.7f, 0.02f}, L{"VI", 0.17f, 3000, 11, 0.4f}},
               0.08f, 0.25f, 30, 1.2f});
  // hOc2 (BA18): no stripe, broad dense IV, large IIIc pyramids at the III/IV border.
  t.push_back({"hOc2", 2.0f,
               {L{"I", 0.10f, 250, 7, 0}, L{"II", 0.10f, 3600, 9, 0.2f}, L{"III", 0.30f, 2200, 15, 0.8f, 0.04f},
                L{"IV", 0.12f, 4800, 9, 0.1f}, L{"V", 0.15f, 1600, 15, 0.8f}, L{"VI", 0.23f, 2600, 12, 0.5f}},
               0.10f, 0.15f, 35, 1.0f});
  // Area 4 (BA4, primary motor): agranular (no IV), thick, low density, blurred laminae, giant
  // Betz pyramids in V.
  t.push_back({"4", 3.6f,
               {L{"I", 0.08f, 200, 7, 0}, L{"II", 0.07f, 1700, 11, 0.4f}, L{"III", 0.36f, 1200, 18, 0.9f},
                L{"V", 0.22f, 900, 20, 0.9f, 0.06f}, L{"VI", 0.27f, 1500, 15, 0.6f}},
               0.35f, 0.05f, 50, 1.1f});
  // Area 6 (BA6, premotor): agranular like 4 but no Betz cells, slightly denser; deliberately
  // similar to 4.
  t.push_back({"6", 3.3f,
               {L{"I", 0.08f, 200, 7, 0}, L{"II", 0.08f, 1900, 11, 0.4f}, L{"III", 0.36f, 1400, 17, 0.9f},
                L{"V", 0.21f, 1100, 18, 0.9f, 0.005f}, L{"VI", 0.27f, 1600, 14, 0.6f}},
               0.30f, 0.05f, 50, 1.2f});
  // Area 3b (primary somatosensory koniocortex): thin, dense small cells in II and a broad IV.
  t.push_back({"3b", 1.9f,
               {L{"I", 0.10f, 250, 7, 0}, L{"II", 0.12f, 4000, 9, 0.2f}, L{"III", 0.24f, 2700, 11, 0.6f},
                L{"IV", 0.16f, 5600, 8, 0}, L{"V", 0.15f, 1900, 13, 0.7f}, L{"VI", 0.23f, 2800, 11, 0.4f}},
               0.10f, 0.20f, 35, 0.9f});
  // Area 44 (dysgranular Broca region): thin, interrupted IV; large IIIc pyramids.
  t.push_back({"44", 2.8f,
               {L{"I", 0.09f, 220, 7, 0}, L{"II", 0.09f, 2600, 10, 0.3f}, L{"III", 0.34f, 1700, 17, 0.9f, 0.04f},
                L{"IV", 0.05f, 2600, 10, 0.2f}, L{"V", 0.20f, 1400, 17, 0.8f}, L{"VI", 0.23f, 2000, 13, 0.5f}},
               0.22f, 0.05f, 45, 1.0f});
  // Area 45 (granular Broca region): like 44 with a well-developed IV; deliberately similar to 44.
  t.push_back({"45", 2.7f,
               {L{"I", 0.09f, 220, 7, 0}, L{"II", 0.10f, 2800, 10, 0.3f}, L{"III", 0.32f, 1800, 16, 0.9f, 0.03f},
                L{"IV", 0.08f, 3400, 9, 0.1f}, L{"V", 0.18f, 1500, 16, 0.8f}, L{"VI", 0.23f, 2100, 13, 0.5f}},
               0.20f, 0.05f, 45, 1.0f});
  // TE1 (primary auditory koniocortex): dense II and IV, small pyramids, columnar "rain shower".
  t.push_back({"TE1", 2.2f,
               {L{"I", 0.10f, 250, 7, 0}, L{"II", 0.11f, 3800, 9, 0.2f}, L{"III", 0.27f, 2500, 11, 0.6f},
                L{"IV", 0.13f, 4800, 8, 0}, L{"V", 0.16f, 1800, 12, 0.7f}, L{"VI", 0.23f, 2600, 11, 0.4f}},
               0.12f, 0.6f, 30, 0.9f});
  // PFm (inferior parietal, granular association): broad III with large deep pyramids, clear IV.
  t.push_back({"PFm", 2.6f,
               {L{"I", 0.09f, 220, 7, 0}, L{"II", 0.10f, 3000, 10, 0.3f}, L{"III", 0.33f, 1900, 16, 0.9f, 0.05f},
                L{"IV", 0.09f, 3800, 9, 0.1f}, L{"V", 0.17f, 1500, 15, 0.8f}, L{"VI", 0.22f, 2200, 12, 0.5f}},
               0.15f, 0.10f, 40, 1.1f});
  // FG1 (ventral occipito-temporal): thin II, medium III, thin IV, prominent V, broad VI.
  t.push_back({"FG1", 2.5f,
               {L{"I", 0.10f, 230, 7, 0}, L{"II", 0.07f, 2700, 10, 0.3f}, L{"III", 0.28f, 1900, 13, 0.8f},
                L{"IV", 0.07f, 3300, 9, 0.1f}, L{"V", 0.20f, 1800, 17, 0.8f}, L{"VI", 0.28f, 2300, 12, 0.5f}},
               0.18f, 0.15f, 40, 0.9f});
  // Area 3a (between 4 and 3b): thin, dysgranular IV, some large V pyramids; an intermediate.
  t.push_back({"3a", 2.3f,
               {L{"I", 0.09f, 220, 7, 0}, L{"II", 0.09f, 2500, 10, 0.3f}, L{"III", 0.30f, 1800, 14, 0.8f},
                L{"IV", 0.06f, 3000, 9, 0.1f}, L{"V", 0.21f, 1300, 17, 0.8f, 0.02f}, L{"VI", 0.25f, 1900, 13, 0.5f}},
               0.25f, 0.10f, 40, 0.7f});
  // Fp1 (frontal pole, granular): dense II, homogeneous medium III, IV present, broad V/VI.
  t.push_back({"Fp1", 2.6f,
               {L{"I", 0.10f, 220, 7, 0}, L{"II", 0.11f, 3300, 9, 0.2f}, L{"III", 0.30f, 2100, 13, 0.8f},
                L{"IV", 0.08f, 3500, 9, 0.1f}, L{"V", 0.18f, 1800, 14, 0.7f}, L{"VI", 0.23f, 2300, 12, 0.5f}},
               0.15f, 0.10f, 40, 0.8f});
  return t;
}

// Philox-backed helpers: stream (seed, synth, a, b).
struct Draw {
  cytocon::Rng r;
  uint32_t i = 0;
  Draw(uint64_t seed, uint32_t a, uint32_t b) : r(seed, cytocon::Purpose::synth, a, b) {}
  float u(float lo, float hi) { return r.uniform(i++, lo, hi); }
  float n(float mean, float sd) { return mean + sd * static_cast<float>(r.normal(1000 + i++)); }
};

void normalise(AreaProfile& a) {
  float s = 0;
  for (auto& l : a.layers) s += l.thickness;
  for (auto& l : a.layers) l.thickness /= s;
}

// A blend of templates p and q with weight w on q, layer by layer (layers matched by name; a
// layer present in one only is kept and scaled by its weight).
AreaProfile blend(const AreaProfile& p, const AreaProfile& q, float w, const std::string& name) {
  AreaProfile a = p;
  a.name = name;
  a.thickness_mm = (1 - w) * p.thickness_mm + w * q.thickness_mm;
  a.border_blur = (1 - w) * p.border_blur + w * q.border_blur;
  a.columns = (1 - w) * p.columns + w * q.columns;
  for (auto& l : a.layers) {
    auto it = std::find_if(q.layers.begin(), q.layers.end(), [&](const Layer& m) { return m.name == l.name; });
    if (it == q.layers.end()) {
      l.thickness *= (1 - w);
      continue;
    }
    l.thickness = (1 - w) * l.thickness + w * it->thickness;
    l.density = (1 - w) * l.density + w * it->density;
    l.size_um = (1 - w) * l.size_um + w * it->size_um;
    l.pyramidal = (1 - w) * l.pyramidal + w * it->pyramidal;
    l.giant = (1 - w) * l.giant + w * it->giant;
  }
  normalise(a);
  return a;
}

}  // namespace

std::vector<AreaProfile> make_areas(int A, uint64_t seed) {
  const auto t = templates();
  std::vector<AreaProfile> out;
  for (int i = 0; i < A; ++i) {
    if (i < static_cast<int>(t.size())) {
      out.push_back(t[i]);
    } else {
      Draw d(seed, 0x41524541u, static_cast<uint32_t>(i));  // "AREA"
      const int p = static_cast<int>(d.u(0, 1) * t.size()) % t.size();
      const int q = (p + 1 + static_cast<int>(d.u(0, 1) * (t.size() - 1))) % t.size();
      AreaProfile a = blend(t[p], t[q], d.u(0.25f, 0.75f), "syn" + std::to_string(i + 1));
      a.thickness_mm *= d.u(0.9f, 1.1f);
      for (auto& l : a.layers) l.density *= d.u(0.85f, 1.15f), l.thickness *= d.u(0.85f, 1.15f);
      normalise(a);
      out.push_back(a);
    }
    normalise(out.back());
  }
  return out;
}

BrainStyle make_brain(const std::vector<AreaProfile>& areas, uint64_t seed, int brain) {
  BrainStyle b;
  Draw g(seed, 0x4252414Eu, static_cast<uint32_t>(brain));  // "BRAN"
  b.stain = g.u(0.85f, 1.15f);
  b.neuropil = g.u(0.80f, 0.87f);
  b.white = b.neuropil + g.u(0.0f, 0.04f);
  b.glass = g.u(0.92f, 0.96f);
  b.glia_density = g.u(350, 600);
  const float brain_thick = g.n(1.0f, 0.05f), brain_density = g.n(1.0f, 0.06f);
  for (size_t k = 0; k < areas.size(); ++k) {
    AreaProfile a = areas[k];
    Draw d(seed, 0x42415245u ^ static_cast<uint32_t>(brain) * 7919u, static_cast<uint32_t>(k));
    a.thickness_mm *= std::clamp(brain_thick * d.n(1.0f, 0.06f), 0.8f, 1.2f);
    for (auto& l : a.layers) {
      l.thickness *= std::clamp(d.n(1.0f, 0.08f), 0.75f, 1.25f);
      l.density *= std::clamp(brain_density * d.n(1.0f, 0.07f), 0.75f, 1.25f);
      l.size_um *= std::clamp(d.n(1.0f, 0.05f), 0.85f, 1.15f);
    }
    normalise(a);
    a.size_weight *= d.u(0.8f, 1.25f);
    b.areas.push_back(a);
  }
  return b;
}

}  // namespace cytocon::synth

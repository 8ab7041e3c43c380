// The paper's augmentation parameters (§3; docs/design.md "Augmentation", errata included), drawn from
// Philox keyed by (seed, Purpose::augment, epoch, global sample index): a pure function, shared by
// the CPU and the CUDA extraction so both make identical choices.
#pragma once
#include <cstdint>
#include <cstring>

#include "engine/rng.h"

namespace cytocon::data {

enum class Filter : int32_t { none = 0, blur = 1, sharpen = 2 };

struct AugmentParams {
  float theta = 0;       // rotation (rad), U[−π, π]
  float shift_mm = 0;    // translation distance d ~ U[0, 0.2] mm ...
  float shift_dir = 0;   // ... in direction φ ~ U[−π, π]
  int32_t mirror = 0;    // vertical mirror (before rotation), p = 0.5
  float alpha = 1, beta = 0, gamma = 1;  // x → α x^γ + β
  float z = 0;           // the Z of the unbiased gamma, U[−0.05, 0.05]
  Filter filter = Filter::none;  // blur p = 0.25, sharpen p = 0.25, none p = 0.5
  float sigma = 0;       // Gaussian σ (output pixels), U[0.125, 1]
  float delta = 0;       // sharpening strength, U[0.5, 1.5]
};

// Identity: what test-time extraction uses.
CYTOCON_HD AugmentParams no_augment() { return AugmentParams{}; }

// Unbiased gamma (Pohlen et al.): γ = ln(0.5 + Z/√2) / ln(0.5 − Z/√2) (erratum: Z/√2, not 2^{−0.5Z}).
CYTOCON_HD float unbiased_gamma(float z) {
  const double s = 0.70710678118654752 * static_cast<double>(z);
  return static_cast<float>(std::log(0.5 + s) / std::log(0.5 - s));
}

// x^γ for x in [0, 1] as 2^(γ·log2 x), with polynomials that vectorise (CPU) and run the same
// on the GPU: log via ln m = 2 atanh((m−1)/(m+1)) (5 odd terms, m ∈ [1, 2)), 2^f by its Taylor
// series to degree 7 (f ∈ [0, 1)); absolute error < 2e-6 on [0, 1]. Exact for γ = 1 is not
// needed: callers skip the transform then.
CYTOCON_HD float pow01(float x, float gamma) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  const float e = static_cast<float>(static_cast<int>(u >> 23) - 127);  // x ≥ 0: no sign bit
  u = (u & 0x7FFFFFu) | 0x3F800000u;  // mantissa m ∈ [1, 2)
  float m;
  std::memcpy(&m, &u, 4);
  const float t = (m - 1.0f) / (m + 1.0f), t2 = t * t;
  const float ln_m = 2.0f * t * (1.0f + t2 * (1.0f / 3 + t2 * (1.0f / 5 + t2 * (1.0f / 7 + t2 * (1.0f / 9)))));
  float y = gamma * (e + ln_m * 1.44269504088896f);  // γ·log2 x ≤ 0 (x = 0 gives ≈ 2^−126)
  y = y < -126.0f ? -126.0f : y;
  const float n = floorf(y);
  const float f = (y - n) * 0.693147180559945f;  // 2^(y−n) = e^f
  const float p = 1.0f + f * (1.0f + f * (0.5f + f * (1.0f / 6 + f * (1.0f / 24 + f * (1.0f / 120 + f * (1.0f / 720 + f * (1.0f / 5040)))))));
  const uint32_t su = static_cast<uint32_t>(static_cast<int>(n) + 127) << 23;  // 2^n
  float s;
  std::memcpy(&s, &su, 4);
  return p * s;
}

// Clamp to [0, 1] as std::clamp does it (v < 0 ? 0 : 1 < v ? 1 : v; −0 and NaN pass through):
// the CPU and the GPU extraction both use this one, so they clamp to the same bits.
CYTOCON_HD float clamp01(float v) { return v < 0.0f ? 0.0f : (1.0f < v ? 1.0f : v); }

// Draw i of the stream (seed, augment, epoch, index) is uniform(i): one draw per parameter, fixed
// slots, so adding a parameter later never shifts the others.
CYTOCON_HD AugmentParams draw_augment(uint64_t seed, uint32_t epoch, uint32_t index) {
  const Rng r(seed, Purpose::augment, epoch, index);
  constexpr float kPi = 3.14159265358979f;
  AugmentParams p;
  p.theta = r.uniform(0, -kPi, kPi);
  p.shift_mm = r.uniform(1, 0.0f, 0.2f);
  p.shift_dir = r.uniform(2, -kPi, kPi);
  p.mirror = r.uniform(3) < 0.5f ? 1 : 0;
  p.alpha = r.uniform(4, 0.9f, 1.0f);
  p.beta = r.uniform(5, -0.1f, 0.1f);
  p.z = r.uniform(6, -0.05f, 0.05f);
  p.gamma = unbiased_gamma(p.z);
  const float f = r.uniform(7);  // [0, .25): blur, [.25, .5): sharpen, else none
  p.filter = f < 0.25f ? Filter::blur : (f < 0.5f ? Filter::sharpen : Filter::none);
  p.sigma = r.uniform(8, 0.125f, 1.0f);
  p.delta = r.uniform(9, 0.5f, 1.5f);
  if (p.filter == Filter::none) p.sigma = p.delta = 0;
  if (p.filter == Filter::blur) p.delta = 0;
  return p;
}

}  // namespace cytocon::data

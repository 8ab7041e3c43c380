// Patch extraction (paper §3, docs/design.md "Augmentation"): ONE inverse-mapping pass from the section
// to the S×S output grid does mirror, rotation, translation and scaling to the target µm/px with
// bilinear interpolation; then the intensity transform α x^γ + β, clamped to [0, 1]; then blur
// G_σ(x) or sharpening x + δ(x − G_σ(x)) (clamped to [0, 1]). Output: float32 in [0, 1].
//
// Coordinates: annotation pixel k spans [k, k+1) (QuPath); index coordinates put pixel k's centre
// at k. Output pixel (i, j) (row, column) is offset (u, v) = (j − c, i − c), c = (S−1)/2, from the
// patch centre; level index position q = P/ds − ½ + s·R(θ)·M·(u, v), with M = diag(1, −1) when
// mirrored, s = target µm/px ÷ level µm/px, and P = point + d·(cos φ, sin φ) in full-res pixels.
#pragma once
#include <cstdint>
#include <vector>

#include "data/augment.h"
#include "data/dataset.h"
#include "data/sampler.h"

namespace cytocon::data {

struct ExtractConfig {
  int patch_px = 561;       // S (tiny preset 561 @ 4 µm/px; paper 1129 @ 2 µm/px)
  double um_per_px = 4.0;   // target resolution of the patch
  float background = 1.0f;  // value of pixels outside the section (glass is bright)
};

// Output pixel (i, j) samples level pixel (ox + axx·j + axy·i, oy + ayx·j + ayy·i).
struct PatchTransform {
  double ox = 0, oy = 0, axx = 1, axy = 0, ayx = 0, ayy = 1;
  int level = 0;
};

// The transform for one sample (host code; the CUDA path uses the same values).
PatchTransform patch_transform(const Image& img, const Section& sec, const SampleRef& s,
                               const AugmentParams& a, const ExtractConfig& cfg);

// Bounding box of the level pixels a transform reads (bilinear taps included).
struct Box {
  int64_t x0 = 0, y0 = 0, w = 0, h = 0;
};
Box footprint(const PatchTransform& t, int S);

// α x^γ + β then clamp to [0, 1], in place (x^γ by pow01; γ = 1 skips the power).
void apply_intensity(float* x, int64_t n, const AugmentParams& a);
// Separable Gaussian (radius ⌈3σ⌉, edge pixels replicated) on an S×S image, in place:
// blur x ← G_σ(x); sharpen x ← clamp(x + δ(x − G_σ(x))). `tmp` is resized as needed.
void apply_filter(float* x, int S, const AugmentParams& a, std::vector<float>& tmp);
// Normalised 1-D Gaussian taps for σ (2r+1 values, r = ⌈3σ⌉).
std::vector<float> gaussian_taps(float sigma);

// Per-thread scratch memory, reused between patches.
struct ExtractScratch {
  std::vector<float> region, tmp;
};

// Extracts one patch into out[S·S] (row-major). Pass no_augment() at test time.
void extract_patch(const Dataset& ds, const SampleRef& s, const AugmentParams& a,
                   const ExtractConfig& cfg, float* out, ExtractScratch& scratch);
// The same from an image and its section record (s.section unused): points outside a dataset's
// centrelines (cytocon-map).
void extract_patch(const Image& img, const Section& sec, const SampleRef& s, const AugmentParams& a,
                   const ExtractConfig& cfg, float* out, ExtractScratch& scratch);

}  // namespace cytocon::data

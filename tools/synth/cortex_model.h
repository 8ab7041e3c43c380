// The synthetic cortex's cytoarchitecture: per area, a laminar profile (relative thickness, cell
// density, soma size and shape of each layer), and its per-brain variation. Values and their
// sources are in docs/synth.md (von Economo & Koskinas 1925; Amunts & Zilles 2015; area papers).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace cytocon::synth {

struct Layer {
  std::string name;    // "I" ... "VI", sublayers "IVa" ...
  float thickness;     // relative (normalised per area to sum 1)
  float density;       // cell bodies per mm² of a 20 µm section
  float size_um;       // mean soma diameter (µm)
  float pyramidal;     // 0 = round (granule, glia) ... 1 = pyramidal (radially elongated, tapered)
  float giant = 0;     // fraction of giant cells (Betz, Meynert), 2.5× the size
};

struct AreaProfile {
  std::string name;
  float thickness_mm;      // cortical thickness
  std::vector<Layer> layers;  // from the pial surface (layer I) to the white matter (VI)
  float border_blur = 0.15f;  // layer transitions blur over this fraction of a layer
  float columns = 0.0f;       // strength of radial cell columns ("rain shower", 0..1)
  float column_um = 40.0f;    // column spacing
  float size_weight = 1.0f;   // relative share of the ribbon this area occupies
};

// The A areas of a dataset: the first min(A, 12) built-in templates (ordered so that similar
// areas neighbour each other), then blends of two templates with perturbed parameters.
std::vector<AreaProfile> make_areas(int A, uint64_t seed);

// Per-brain appearance: areas with varied thickness, layer proportions, densities and sizes,
// and global staining.
struct BrainStyle {
  std::vector<AreaProfile> areas;
  float stain = 1.0f;       // darkness multiplier of cell bodies
  float neuropil = 0.84f;   // background intensity of grey matter
  float white = 0.86f;      // background intensity of white matter
  float glass = 0.94f;      // outside the tissue
  float glia_density = 450; // white-matter glia per mm²
};
BrainStyle make_brain(const std::vector<AreaProfile>& areas, uint64_t seed, int brain);

}  // namespace cytocon::synth

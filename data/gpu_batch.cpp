// Host planning of a GPU extraction batch (gpu_batch.h).
#include "data/gpu_batch.h"

#include <algorithm>
#include <string>

#include "engine/tensor.h"

namespace cytocon::data {

std::vector<PatchJob> plan_batch(TileStager& st, const Dataset& ds, const std::vector<SampleRef>& refs,
                                 const std::vector<AugmentParams>& aug, const ExtractConfig& cfg) {
  check(refs.size() == aug.size(), "GPU extraction: refs and aug differ in length");
  const int S = cfg.patch_px;
  check(S > 1, "GPU extraction: patch size must be > 1, got " + std::to_string(S));
  st.begin_batch();
  std::vector<PatchJob> jobs(refs.size());
  for (size_t k = 0; k < refs.size(); ++k) {
    const SampleRef& r = refs[k];
    const Image& img = ds.image(r.section);
    const PatchTransform t = patch_transform(img, ds.sections()[r.section], r, aug[k], cfg);
    const Box box = footprint(t, S);
    check(box.w * box.h < (int64_t(1) << 31), "patch footprint too large");
    const Level& L = img.levels()[t.level];
    PatchJob& J = jobs[k];
    J = PatchJob{};
    J.ox = t.ox, J.oy = t.oy, J.axy = t.axy, J.ayy = t.ayy;
    J.axx = static_cast<float>(t.axx), J.ayx = static_cast<float>(t.ayx);
    J.x0 = box.x0, J.y0 = box.y0, J.bw = static_cast<int32_t>(box.w), J.bh = static_cast<int32_t>(box.h);
    J.tiles = st.add(img, r.section, t.level, box);
    J.width = static_cast<int32_t>(L.width), J.height = static_cast<int32_t>(L.height), J.bits = img.bits();
    J.map = img.intensity_map();
    J.alpha = aug[k].alpha, J.beta = aug[k].beta, J.gamma = aug[k].gamma;
    J.filter = static_cast<int32_t>(aug[k].filter);
    J.delta = aug[k].delta;
    if (aug[k].filter != Filter::none) {
      const std::vector<float> w = gaussian_taps(aug[k].sigma);  // the CPU's taps, bit for bit
      J.radius = static_cast<int32_t>(w.size() / 2);
      check(J.radius <= kMaxBlurRadius, "GPU extraction: blur sigma above 1 px is not supported");
      std::copy(w.begin(), w.end(), J.taps);
    }
  }
  return jobs;
}

}  // namespace cytocon::data

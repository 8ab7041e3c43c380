// cytocon-synth: writes a synthetic dataset of folded cortical ribbons (docs/synth.md) in the
// dataset layout of DESIGN.md: images/*.tif (tiled, pyramid), annotations/*.geojson,
// manifest.csv (the last --unseen brains have split "unseen"), labels.txt.
#include <omp.h>
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>

#include "annotate.h"
#include "cortex_model.h"
#include "data/tiff_writer.h"
#include "render.h"
#include "ribbon.h"

namespace {

void make_dir(const std::string& d) {
  if (mkdir(d.c_str(), 0755) != 0 && errno != EEXIST) {
    std::fprintf(stderr, "cytocon-synth: cannot create directory %s\n", d.c_str());
    std::exit(1);
  }
}

std::string name(const char* prefix, int i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%s%02d", prefix, i + 1);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace cytocon;
  CLI::App app{"cytocon-synth: a synthetic cell-body-stained cortex dataset (docs/synth.md)"};
  std::string out, size = "3072x2304", compression = "deflate", pyramid = "pages";
  int brains = 4, sections = 5, areas = 8, unseen = 1;
  uint64_t seed = 1;
  double um = 4.0;
  app.add_option("--out", out, "output directory")->required();
  app.add_option("--brains", brains, "number of brains")->check(CLI::Range(1, 1000));
  app.add_option("--sections", sections, "sections per brain")->check(CLI::Range(1, 100000));
  app.add_option("--areas", areas, "number of cortical areas (12 built-in profiles, then blends)")
      ->check(CLI::Range(2, 1000));
  app.add_option("--seed", seed, "random seed (the output is a function of all options)");
  app.add_option("--um-per-px", um, "resolution of the written sections (µm per pixel)")
      ->check(CLI::Range(0.25, 64.0));
  app.add_option("--size", size, "section size WxH in pixels");
  app.add_option("--unseen", unseen, "brains (the last ones) held out as X_un")->check(CLI::Range(0, 1000));
  app.add_option("--compression", compression, "TIFF compression")
      ->check(CLI::IsMember({"none", "deflate", "lzw"}));
  app.add_option("--pyramid", pyramid, "pyramid levels as further pages or SubIFDs")
      ->check(CLI::IsMember({"none", "pages", "subifds"}));
  CLI11_PARSE(app, argc, argv);
  long long W = 0, H = 0;
  if (std::sscanf(size.c_str(), "%lldx%lld", &W, &H) != 2 || W < 256 || H < 256 || W > 200000 || H > 200000) {
    std::fprintf(stderr, "cytocon-synth: --size '%s': expected WxH with 256 <= W, H <= 200000\n", size.c_str());
    return 1;
  }
  if (unseen >= brains && brains > 1) {
    std::fprintf(stderr, "cytocon-synth: --unseen %d leaves no training brain of %d\n", unseen, brains);
    return 1;
  }
  data::TiffWriteOptions topt;
  topt.compression = compression == "deflate" ? data::Compression::deflate
                     : compression == "lzw"   ? data::Compression::lzw
                                              : data::Compression::none;
  topt.pyramid = pyramid == "pages" ? data::Pyramid::pages : pyramid == "subifds" ? data::Pyramid::subifds : data::Pyramid::none;
  topt.bigtiff = W * H > (int64_t(3) << 30);
  topt.um_per_px = um;  // in the resolution tags too (docs/data.md, "Pixel size")

  make_dir(out);
  make_dir(out + "/images");
  make_dir(out + "/annotations");
  const auto model = synth::make_areas(areas, seed);
  {
    std::ofstream lf(out + "/labels.txt");
    for (const auto& a : model) lf << a.name << "\n";
  }
  std::ofstream mf(out + "/manifest.csv");
  mf << "brain,section,image,annotation,um_per_px,split\n";
  const auto t0 = std::chrono::steady_clock::now();
  for (int b = 0; b < brains; ++b) {
    const auto style = synth::make_brain(model, seed, b);
    const bool held_out = b >= brains - unseen && brains > 1;
    for (int s = 0; s < sections; ++s) {
      const auto ts = std::chrono::steady_clock::now();
      synth::SectionSpec spec{W, H, um, seed, b, s};
      const auto ribbon = synth::make_ribbon(spec, style);
      const auto tg = std::chrono::steady_clock::now();
      const auto img = synth::render_section(ribbon, style);
      const auto tr = std::chrono::steady_clock::now();
      const std::string base = name("brain", b) + "_" + name("s", s);
      data::write_tiff(out + "/images/" + base + ".tif", img.data(), W, H, 8, topt);
      const auto tw = std::chrono::steady_clock::now();
      std::ofstream(out + "/annotations/" + base + ".geojson") << synth::annotations_geojson(ribbon, style);
      mf << name("brain", b) << "," << name("s", s) << ",images/" << base << ".tif,annotations/" << base
         << ".geojson," << um << "," << (held_out ? "unseen" : "") << "\n";
      auto secs = [](auto a, auto b) { return std::chrono::duration<double>(b - a).count(); };
      std::printf("cytocon-synth: %s %lldx%lld px at %g um/px in %.2f s (geometry %.2f, render %.2f, tiff %.2f)\n",
                  base.c_str(), W, H, um, secs(ts, std::chrono::steady_clock::now()), secs(ts, tg), secs(tg, tr),
                  secs(tr, tw));
      std::fflush(stdout);
    }
  }
  const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("cytocon-synth: %d brains x %d sections, %d areas, %.1f s (%d threads) -> %s\n", brains,
              sections, areas, total, omp_get_max_threads(), out.c_str());
  return 0;
}

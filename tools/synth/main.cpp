// cytocon-synth: writes a synthetic dataset of folded cortical ribbons (docs/synth.md) in the
// dataset layout of docs/design.md: images/*.tif (tiled, pyramid), annotations/*.geojson,
// manifest.csv (the last --unseen brains have split "unseen"), labels.txt.
#include <omp.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "annotate.h"
#include "cortex_model.h"
#include "data/tiff_writer.h"
#include "engine/io/atomic_file.h"
#include "engine/io/output_dir.h"
#include "engine/program.h"
#include "engine/tensor.h"
#include "render.h"
#include "ribbon.h"

namespace {

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
  bool overwrite = false;
  app.add_option("--out", out, "output directory")->required();
  app.add_option("--brains", brains, "number of brains")->check(CLI::Range(1, 1000));
  app.add_option("--sections", sections, "sections per brain")->check(CLI::Range(1, 100000));
  app.add_option("--areas", areas, "number of cortical areas (12 built-in profiles, then blends)")
      ->check(CLI::Range(2, 1000));
  app.add_option("--seed", seed, "random seed (the output is a function of all options)")->check(CLI::NonNegativeNumber);
  app.add_option("--um-per-px", um, "resolution of the written sections (µm per pixel)")
      ->check(program::finite(Range{0.25, 64.0}));
  app.add_option("--size", size, "section size WxH in pixels");
  app.add_option("--unseen", unseen, "brains (the last ones) held out as X_un")->check(CLI::Range(0, 1000));
  app.add_option("--compression", compression, "TIFF compression")
      ->check(CLI::IsMember({"none", "deflate", "lzw"}));
  app.add_option("--pyramid", pyramid, "pyramid levels as further pages or SubIFDs")
      ->check(CLI::IsMember({"none", "pages", "subifds"}));
  app.add_flag("--overwrite", overwrite, "replace a dataset already in --out (its files are deleted)");
  return program::main("cytocon-synth", app, argc, argv, [&] {
    long long W = 0, H = 0;
    char rest = 0;
    if (std::sscanf(size.c_str(), "%lldx%lld%c", &W, &H, &rest) != 2 || W < 256 || H < 256 || W > 200000 || H > 200000)
      program::usage_error("--size " + size + ": expected WxH with 256 <= W, H <= 200000");
    if (unseen >= brains && brains > 1)
      program::usage_error("--unseen " + std::to_string(unseen) + " leaves no training brain of " + std::to_string(brains));
    // One section is rendered whole in memory (8-bit, plus the pyramid's levels): it must fit.
    const uint64_t need = checked_bytes("a section", 2, {uint64_t(W), uint64_t(H)});
    const uint64_t ram = physical_memory_bytes();
    if (ram && need > ram)
      fail("--size " + size + ": a section needs about " + gib_text(need) + " of memory, this machine has " +
           gib_text(ram));
    data::TiffWriteOptions topt;
    topt.compression = compression == "deflate" ? data::Compression::deflate
                       : compression == "lzw"   ? data::Compression::lzw
                                                : data::Compression::none;
    topt.pyramid = pyramid == "pages" ? data::Pyramid::pages : pyramid == "subifds" ? data::Pyramid::subifds : data::Pyramid::none;
    topt.bigtiff = W * H > (int64_t(3) << 30);
    topt.um_per_px = um;  // in the resolution tags too (docs/data.md, "Pixel size")

    io::claim_output_dir(out, {"manifest.csv", "labels.txt", "images/", "annotations/"}, overwrite,
                         "choose another --out or give --overwrite to replace that dataset");
    for (const char* sub : {"/images", "/annotations"}) std::filesystem::create_directories(out + sub);
    const auto model = synth::make_areas(areas, seed);
    std::string labels, manifest = "brain,section,image,annotation,um_per_px,split\n";
    for (const auto& a : model) labels += a.name + "\n";
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
        io::write_file_atomic(out + "/annotations/" + base + ".geojson", synth::annotations_geojson(ribbon, style));
        std::ostringstream row;
        row << name("brain", b) << "," << name("s", s) << ",images/" << base << ".tif,annotations/" << base
            << ".geojson," << um << "," << (held_out ? "unseen" : "") << "\n";
        manifest += row.str();
        auto secs = [](auto a, auto b) { return std::chrono::duration<double>(b - a).count(); };
        std::printf("cytocon-synth: %s %lldx%lld px at %g um/px in %.2f s (geometry %.2f, render %.2f, tiff %.2f)\n",
                    base.c_str(), W, H, um, secs(ts, std::chrono::steady_clock::now()), secs(ts, tg), secs(tg, tr),
                    secs(tr, tw));
        std::fflush(stdout);
      }
    }
    // The manifest last: a dataset whose writing failed has none, and so is never read half-done.
    io::write_file_atomic(out + "/labels.txt", labels);
    io::write_file_atomic(out + "/manifest.csv", manifest);
    const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("cytocon-synth: %d brains x %d sections, %d areas, %.1f s (%d threads) -> %s\n", brains, sections,
                areas, total, omp_get_max_threads(), out.c_str());
    return 0;
  });
}

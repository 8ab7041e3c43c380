// One section of a prepared store (prepare.h): tile mask from the sample points, one bilinear
// resampling per kept tile, libtiff writing with the chosen codec, the annotation rescaled.
#include "data/prepare.h"

#include <tiffio.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/tensor.h"

namespace cytocon::data {
namespace {

// Scales every position of a GeoJSON value ([x, y, ...] inside "coordinates") by k.
void scale_coordinates(nlohmann::json& j, double k) {
  if (j.is_array() && j.size() >= 2 && j[0].is_number() && j[1].is_number()) {
    j[0] = j[0].get<double>() * k;
    j[1] = j[1].get<double>() * k;
    return;
  }
  if (j.is_array() || j.is_object())
    for (auto& v : j) scale_coordinates(v, k);
}

void rescale_geojson(const std::string& in, const std::string& out, double k) {
  std::ifstream f(in);
  if (!f) fail(in + ": annotation not found or unreadable");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(f);
  } catch (const std::exception& e) {
    fail(in + ": invalid GeoJSON (" + e.what() + ")");
  }
  // Only geometry coordinates move; properties stay as they are.
  std::function<void(nlohmann::json&)> walk = [&](nlohmann::json& v) {
    if (v.is_object()) {
      for (auto it = v.begin(); it != v.end(); ++it) {
        if (it.key() == "coordinates") scale_coordinates(it.value(), k);
        else if (it.key() != "properties") walk(it.value());
      }
    } else if (v.is_array()) {
      for (auto& e : v) walk(e);
    }
  };
  walk(j);
  const std::string tmp = out + ".part";
  {
    std::ofstream o(tmp);
    o << j.dump() << "\n";
    if (!o) fail(tmp + ": cannot write");
  }
  std::filesystem::rename(tmp, out);
}

uint16_t tiff_codec(StoreCodec c) {
  return c == StoreCodec::zstd ? COMPRESSION_ZSTD : c == StoreCodec::deflate ? COMPRESSION_ADOBE_DEFLATE : COMPRESSION_NONE;
}

}  // namespace

StoreCodec parse_store_codec(const std::string& name) {
  if (name == "none") return StoreCodec::none;
  if (name == "deflate") return StoreCodec::deflate;
  if (name == "zstd") return StoreCodec::zstd;
  fail("codec '" + name + "': expected none, deflate or zstd");
}

double prepare_reach_px(const PrepareOptions& o) {
  return 0.5 * o.patch_px * std::sqrt(2.0) + o.shift_mm * 1000.0 / o.um_per_px + 2.0;
}

PreparedSection prepare_section(const Dataset& ds, int section, const PrepareOptions& o,
                                const std::string& image_path, const std::string& annotation_path) {
  const Section& sec = ds.sections()[section];
  const Image& img = ds.image(section);
  const double k = sec.um_per_px / o.um_per_px;  // output px per full-resolution px
  PreparedSection r;
  r.width = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(sec.width * k)));
  r.height = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(sec.height * k)));
  const int T = o.tile;
  const int64_t across = (r.width + T - 1) / T, down = (r.height + T - 1) / T;
  r.tiles_total = across * down;
  // Tiles within reach of a sample point (a square around each point: a superset of the disc).
  std::vector<uint8_t> keep(static_cast<size_t>(r.tiles_total), 0);
  const double reach = prepare_reach_px(o);
  for (const SamplePoint& p : ds.points()) {
    if (p.section != section) continue;
    const double x = p.x * k, y = p.y * k;
    const int64_t tx0 = std::clamp<int64_t>(static_cast<int64_t>(std::floor((x - reach) / T)), 0, across - 1);
    const int64_t tx1 = std::clamp<int64_t>(static_cast<int64_t>(std::floor((x + reach) / T)), 0, across - 1);
    const int64_t ty0 = std::clamp<int64_t>(static_cast<int64_t>(std::floor((y - reach) / T)), 0, down - 1);
    const int64_t ty1 = std::clamp<int64_t>(static_cast<int64_t>(std::floor((y + reach) / T)), 0, down - 1);
    for (int64_t ty = ty0; ty <= ty1; ++ty)
      for (int64_t tx = tx0; tx <= tx1; ++tx) keep[ty * across + tx] = 1;
  }
  const std::string tmp = image_path + ".part";
  TIFF* tif = TIFFOpen(tmp.c_str(), "w8");
  if (!tif) fail(tmp + ": cannot create TIFF file");
  const int bits = img.bits();
  TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, static_cast<uint32_t>(r.width));
  TIFFSetField(tif, TIFFTAG_IMAGELENGTH, static_cast<uint32_t>(r.height));
  TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, bits);
  TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, 1);
  TIFFSetField(tif, TIFFTAG_SAMPLEFORMAT, SAMPLEFORMAT_UINT);
  TIFFSetField(tif, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
  TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
  TIFFSetField(tif, TIFFTAG_COMPRESSION, tiff_codec(o.codec));
  if (o.codec != StoreCodec::none) TIFFSetField(tif, TIFFTAG_PREDICTOR, PREDICTOR_HORIZONTAL);
  TIFFSetField(tif, TIFFTAG_TILEWIDTH, T);
  TIFFSetField(tif, TIFFTAG_TILELENGTH, T);
  TIFFSetField(tif, TIFFTAG_RESOLUTIONUNIT, RESUNIT_CENTIMETER);
  TIFFSetField(tif, TIFFTAG_XRESOLUTION, static_cast<float>(1e4 / o.um_per_px));
  TIFFSetField(tif, TIFFTAG_YRESOLUTION, static_cast<float>(1e4 / o.um_per_px));
  // Output pixel j (centre j + ½ in output px) samples level position ((j + ½)/k)/ds − ½.
  const int level = img.level_for(sec.um_per_px, o.um_per_px);
  const double ds_l = img.levels()[level].downsample;
  const double a = 1.0 / (k * ds_l);  // level px per output px
  const double top = bits == 8 ? 255.0 : 65535.0;
  std::vector<float> region;
  std::vector<uint8_t> buf(static_cast<size_t>(T) * T * (bits / 8));
  try {
    for (int64_t ty = 0; ty < down; ++ty)
      for (int64_t tx = 0; tx < across; ++tx) {
        if (!keep[ty * across + tx]) continue;  // a sparse tile: never written, read as glass
        const double qx0 = (tx * T + 0.5) * a - 0.5, qy0 = (ty * T + 0.5) * a - 0.5;
        const int64_t rx0 = static_cast<int64_t>(std::floor(qx0)) - 1, ry0 = static_cast<int64_t>(std::floor(qy0)) - 1;
        const int64_t rw = static_cast<int64_t>(std::ceil(T * a)) + 4, rh = rw;
        region.resize(static_cast<size_t>(rw * rh));
        img.read_region(level, rx0, ry0, rw, rh, region.data(), o.background);
        for (int i = 0; i < T; ++i) {
          const double qy = (ty * T + i + 0.5) * a - 0.5 - ry0;
          const int64_t y0 = static_cast<int64_t>(std::floor(qy));
          const double fy = qy - y0;
          for (int j = 0; j < T; ++j) {
            const double qx = (tx * T + j + 0.5) * a - 0.5 - rx0;
            const int64_t x0 = static_cast<int64_t>(std::floor(qx));
            const double fx = qx - x0;
            const float* p = region.data() + y0 * rw + x0;
            const double v = (1 - fy) * ((1 - fx) * p[0] + fx * p[1]) + fy * ((1 - fx) * p[rw] + fx * p[rw + 1]);
            const double s = std::clamp(v, 0.0, 1.0) * top + 0.5;
            if (bits == 8) buf[static_cast<size_t>(i) * T + j] = static_cast<uint8_t>(s);
            else reinterpret_cast<uint16_t*>(buf.data())[static_cast<size_t>(i) * T + j] = static_cast<uint16_t>(s);
          }
        }
        if (TIFFWriteEncodedTile(tif, TIFFComputeTile(tif, static_cast<uint32_t>(tx * T), static_cast<uint32_t>(ty * T), 0, 0),
                                 buf.data(), static_cast<tmsize_t>(buf.size())) < 0)
          fail(tmp + ": cannot write a tile");
        ++r.tiles_written;
      }
    if (!TIFFWriteDirectory(tif)) fail(tmp + ": cannot write the TIFF directory");
  } catch (...) {
    TIFFClose(tif);
    std::remove(tmp.c_str());
    throw;
  }
  TIFFClose(tif);
  try {
    rescale_geojson(sec.annotation_path, annotation_path, k);
  } catch (...) {
    std::remove(tmp.c_str());
    throw;
  }
  std::filesystem::rename(tmp, image_path);  // last: an existing image means a complete section
  r.bytes = std::filesystem::file_size(image_path);
  return r;
}

}  // namespace cytocon::data

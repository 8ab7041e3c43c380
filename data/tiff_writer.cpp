#include "data/tiff_writer.h"

#include <tiffio.h>
#include <zlib.h>

#include <algorithm>
#include <cstring>

#include "engine/tensor.h"

namespace cytocon::data {

template <class T>
std::vector<T> downsample2(const std::vector<T>& src, int64_t& w, int64_t& h) {
  const int64_t W = (w + 1) / 2, H = (h + 1) / 2;
  std::vector<T> out(static_cast<size_t>(W * H));
#pragma omp parallel for schedule(static)
  for (int64_t y = 0; y < H; ++y)
    for (int64_t x = 0; x < W; ++x) {
      uint32_t sum = 0, n = 0;
      for (int64_t dy = 0; dy < 2; ++dy)
        for (int64_t dx = 0; dx < 2; ++dx) {
          const int64_t sx = 2 * x + dx, sy = 2 * y + dy;
          if (sx < w && sy < h) sum += src[sy * w + sx], ++n;
        }
      out[y * W + x] = static_cast<T>((sum + n / 2) / n);
    }
  w = W;
  h = H;
  return out;
}
template std::vector<uint8_t> downsample2(const std::vector<uint8_t>&, int64_t&, int64_t&);
template std::vector<uint16_t> downsample2(const std::vector<uint16_t>&, int64_t&, int64_t&);

namespace {

template <class T>
void write_directory(TIFF* tif, const std::string& path, const T* px, int64_t w, int64_t h,
                     const TiffWriteOptions& o, bool reduced, double um_per_px) {
  const int bits = sizeof(T) * 8;
  TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, static_cast<uint32_t>(w));
  TIFFSetField(tif, TIFFTAG_IMAGELENGTH, static_cast<uint32_t>(h));
  TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, bits);
  TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, 1);
  TIFFSetField(tif, TIFFTAG_SAMPLEFORMAT, SAMPLEFORMAT_UINT);
  TIFFSetField(tif, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
  TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, o.min_is_white ? PHOTOMETRIC_MINISWHITE : PHOTOMETRIC_MINISBLACK);
  TIFFSetField(tif, TIFFTAG_COMPRESSION,
               o.compression == Compression::deflate ? COMPRESSION_ADOBE_DEFLATE
               : o.compression == Compression::lzw   ? COMPRESSION_LZW
                                                     : COMPRESSION_NONE);
  if (o.compression != Compression::none) TIFFSetField(tif, TIFFTAG_PREDICTOR, PREDICTOR_HORIZONTAL);
  if (reduced) TIFFSetField(tif, TIFFTAG_SUBFILETYPE, FILETYPE_REDUCEDIMAGE);
  if (um_per_px > 0) {  // pixels per centimetre
    TIFFSetField(tif, TIFFTAG_RESOLUTIONUNIT, RESUNIT_CENTIMETER);
    TIFFSetField(tif, TIFFTAG_XRESOLUTION, static_cast<float>(1e4 / um_per_px));
    TIFFSetField(tif, TIFFTAG_YRESOLUTION, static_cast<float>(1e4 / um_per_px));
  }
  const T inv = static_cast<T>((1u << bits) - 1);
  auto conv = [&](T v) { return o.min_is_white ? static_cast<T>(inv - v) : v; };
  if (o.tiled && o.compression == Compression::deflate) {
    // Tiles compressed in parallel (horizontal predictor + zlib, exactly what libtiff's
    // Adobe-deflate codec writes), then appended in order with TIFFWriteRawTile.
    const int t = o.tile;
    TIFFSetField(tif, TIFFTAG_TILEWIDTH, t);
    TIFFSetField(tif, TIFFTAG_TILELENGTH, t);
    const int64_t tx_n = (w + t - 1) / t, ty_n = (h + t - 1) / t, n = tx_n * ty_n;
    std::vector<std::vector<uint8_t>> packed(static_cast<size_t>(n));
    bool ok = true;
#pragma omp parallel for schedule(dynamic, 4) reduction(&& : ok)
    for (int64_t k = 0; k < n; ++k) {
      const int64_t tx = (k % tx_n) * t, ty = (k / tx_n) * t;
      std::vector<T> buf(static_cast<size_t>(t) * t, T(0));
      for (int64_t y = 0; y < t && ty + y < h; ++y)
        for (int64_t x = 0; x < t && tx + x < w; ++x) buf[y * t + x] = conv(px[(ty + y) * w + tx + x]);
      for (int64_t y = 0; y < t; ++y)  // predictor: differences along each row, right to left
        for (int64_t x = t - 1; x > 0; --x) buf[y * t + x] = static_cast<T>(buf[y * t + x] - buf[y * t + x - 1]);
      const uLong raw = static_cast<uLong>(buf.size() * sizeof(T));
      uLongf len = compressBound(raw);
      packed[k].resize(len);
      ok = compress2(packed[k].data(), &len, reinterpret_cast<const Bytef*>(buf.data()), raw, 6) == Z_OK;
      packed[k].resize(len);
    }
    if (!ok) fail(path + ": zlib compression failed");
    for (int64_t k = 0; k < n; ++k)
      if (TIFFWriteRawTile(tif, static_cast<uint32_t>(k), packed[k].data(), static_cast<tmsize_t>(packed[k].size())) < 0)
        fail(path + ": cannot write tile (disk full?)");
  } else if (o.tiled) {
    const int t = o.tile;
    TIFFSetField(tif, TIFFTAG_TILEWIDTH, t);
    TIFFSetField(tif, TIFFTAG_TILELENGTH, t);
    std::vector<T> buf(static_cast<size_t>(t) * t);
    for (int64_t ty = 0; ty < h; ty += t)
      for (int64_t tx = 0; tx < w; tx += t) {
        std::fill(buf.begin(), buf.end(), T(0));
        for (int64_t y = 0; y < t && ty + y < h; ++y)
          for (int64_t x = 0; x < t && tx + x < w; ++x) buf[y * t + x] = conv(px[(ty + y) * w + tx + x]);
        if (TIFFWriteTile(tif, buf.data(), static_cast<uint32_t>(tx), static_cast<uint32_t>(ty), 0, 0) < 0)
          fail(path + ": cannot write tile (disk full?)");
      }
  } else {
    TIFFSetField(tif, TIFFTAG_ROWSPERSTRIP, o.rows_per_strip);
    std::vector<T> row(static_cast<size_t>(w));
    for (int64_t y = 0; y < h; ++y) {
      for (int64_t x = 0; x < w; ++x) row[x] = conv(px[y * w + x]);
      if (TIFFWriteScanline(tif, row.data(), static_cast<uint32_t>(y), 0) < 0)
        fail(path + ": cannot write scanline (disk full?)");
    }
  }
  if (!TIFFWriteDirectory(tif)) fail(path + ": cannot write TIFF directory");
}

template <class T>
void write_all(const std::string& path, const T* pixels, int64_t w, int64_t h, const TiffWriteOptions& o) {
  TIFF* tif = TIFFOpen(path.c_str(), o.bigtiff ? "w8" : "w");
  if (!tif) fail(path + ": cannot create TIFF file");
  std::vector<std::vector<T>> levels;
  std::vector<std::pair<int64_t, int64_t>> dims;
  if (o.pyramid != Pyramid::none) {
    std::vector<T> cur(pixels, pixels + w * h);
    int64_t lw = w, lh = h;
    while (std::max(lw, lh) / 2 >= o.min_level_px) {
      cur = downsample2(cur, lw, lh);
      levels.push_back(cur);
      dims.emplace_back(lw, lh);
    }
  }
  if (o.pyramid == Pyramid::subifds && !levels.empty()) {
    std::vector<toff_t> offs(levels.size(), 0);
    TIFFSetField(tif, TIFFTAG_SUBIFD, static_cast<uint16_t>(levels.size()), offs.data());
  }
  write_directory(tif, path, pixels, w, h, o, false, o.um_per_px);
  for (size_t i = 0; i < levels.size(); ++i)
    write_directory(tif, path, levels[i].data(), dims[i].first, dims[i].second, o, true,
                    o.um_per_px * static_cast<double>(w) / static_cast<double>(dims[i].first));
  TIFFClose(tif);
}

}  // namespace

void write_tiff(const std::string& path, const void* pixels, int64_t w, int64_t h, int bits,
                const TiffWriteOptions& o) {
  check(w > 0 && h > 0, path + ": image size must be positive");
  check(bits == 8 || bits == 16, path + ": bits must be 8 or 16, got " + std::to_string(bits));
  check(!o.tiled || (o.tile > 0 && o.tile % 16 == 0), path + ": tile size must be a multiple of 16");
  if (bits == 8) write_all(path, static_cast<const uint8_t*>(pixels), w, h, o);
  else write_all(path, static_cast<const uint16_t*>(pixels), w, h, o);
}

}  // namespace cytocon::data

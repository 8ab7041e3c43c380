// TIFF sections through libtiff: 8/16-bit unsigned grayscale (MinIsBlack or MinIsWhite), RGB or
// JPEG-compressed YCbCr (converted to grayscale block by block, data/luma.h), strips or tiles,
// classic or BigTIFF, any codec libtiff was built with. Pyramid levels are found as
// SubIFDs of the first page, or as further pages with the same sample format and aspect ratio
// and a smaller width (FILETYPE_REDUCEDIMAGE or not). A read decodes only the blocks it touches,
// through the shared tile cache. Each file has a pool of libtiff handles, one per thread reading
// it at the same time (up to the usable cores), so threads on one section decode concurrently.
#include <tiffio.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <condition_variable>
#include <mutex>

#include "data/image.h"
#include "data/luma.h"
#include "data/node_budget.h"
#include "data/pixel_size.h"
#include "data/region_copy.h"
#include "data/tile_cache.h"
#include "engine/tensor.h"

namespace cytocon::data {
namespace {

constexpr int64_t kMaxBlockBytes = int64_t(1) << 30;
constexpr int kMaxPages = 64;

struct LevelLayout {
  bool subifd = false;
  toff_t offset = 0;   // SubIFD offset
  tdir_t dir = 0;      // page index
  bool tiled = false;
  int64_t bw = 0, bh = 0;  // block (tile or strip) size in pixels
  int64_t blocks_across = 0;
  int samples = 1;        // per decoded pixel: 1 grayscale, 3 or 4 colour (RGB, alpha ignored)
  bool jpeg_rgb = false;  // JPEG-compressed YCbCr: libtiff converts to RGB (JPEGCOLORMODE)
};

// libtiff reports errors through handlers; collect the last message per handle.
struct Messages {
  std::string last;
};

#if TIFFLIB_VERSION >= 20221213
int on_error(TIFF*, void* user, const char* module, const char* fmt, va_list ap) {
  char buf[512];
  vsnprintf(buf, sizeof buf, fmt, ap);
  auto* m = static_cast<Messages*>(user);
  m->last = std::string(module ? module : "libtiff") + ": " + buf;
  return 1;
}
int on_warning(TIFF*, void*, const char*, const char*, va_list) { return 1; }
#else
void quiet_handler(const char*, const char*, va_list) {}
#endif

struct MemFile {
  std::shared_ptr<const std::vector<uint8_t>> bytes;
  toff_t pos = 0;
};
tmsize_t mem_read(thandle_t h, void* buf, tmsize_t n) {
  auto* m = static_cast<MemFile*>(h);
  const toff_t size = m->bytes->size();
  if (m->pos >= size) return 0;
  const tmsize_t k = static_cast<tmsize_t>(std::min<toff_t>(size - m->pos, static_cast<toff_t>(n)));
  std::memcpy(buf, m->bytes->data() + m->pos, static_cast<size_t>(k));
  m->pos += k;
  return k;
}
tmsize_t mem_write(thandle_t, void*, tmsize_t) { return -1; }
toff_t mem_seek(thandle_t h, toff_t off, int whence) {
  auto* m = static_cast<MemFile*>(h);
  const toff_t size = m->bytes->size();
  toff_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? m->pos : size;
  m->pos = base + off;
  return m->pos;
}
int mem_close(thandle_t) { return 0; }
toff_t mem_size(thandle_t h) { return static_cast<MemFile*>(h)->bytes->size(); }
int mem_map(thandle_t, void**, toff_t*) { return 0; }
void mem_unmap(thandle_t, void*, toff_t) {}

class TiffImage final : public Image {
 public:
  TiffImage(const std::string& path, std::shared_ptr<const std::vector<uint8_t>> mem)
      : mem_bytes_(std::move(mem)), max_handles_(usable_cores()) {
    path_ = path;
    uid_ = new_image_uid();
    std::unique_ptr<Handle> h = open_handle();
    if (!h->tif) fail(path + ": cannot open as TIFF (" + why(*h, "not a TIFF file") + ")");
    scan_ = h.get();
    tif_ = h->tif;
    scan_levels();  // on failure, h closes the file
    scan_ = nullptr;
    tif_ = nullptr;
    idle_.push_back(std::move(h));
    handles_ = 1;
  }

  void read_region(int level, int64_t x0, int64_t y0, int64_t w, int64_t h, float* out,
                   float background) const override {
    check_level(level);
    const Level& L = levels_[level];
    fill_outside(L.width, L.height, x0, y0, w, h, out, background);
    const IntensityMap m = intensity_map();
    for_blocks(level, x0, y0, w, h, [&](const uint8_t* b, int64_t stride, int64_t bx0, int64_t by0, int64_t bw, int64_t bh) {
      if (bits_ == 8)
        copy_block_to_region(b, stride, bx0, by0, bw, bh, x0, y0, w, h, out, m);
      else
        copy_block_to_region(reinterpret_cast<const uint16_t*>(b), stride, bx0, by0, bw, bh, x0, y0, w, h, out, m);
    });
  }

  void read_samples(int level, int64_t x0, int64_t y0, int64_t w, int64_t h, void* out) const override {
    check_level(level);
    for_blocks(level, x0, y0, w, h, [&](const uint8_t* b, int64_t stride, int64_t bx0, int64_t by0, int64_t bw, int64_t bh) {
      copy_block_samples(b, stride, bx0, by0, bw, bh, x0, y0, w, h, static_cast<uint8_t*>(out), bits_ / 8);
    });
  }

 private:
  void check_level(int level) const {
    check(level >= 0 && level < static_cast<int>(levels_.size()),
          path_ + ": no pyramid level " + std::to_string(level));
  }

  // Calls f(samples, stride, bx0, by0, bw, bh) for each decoded block the region touches inside the
  // image: block origin (bx0, by0) in level pixels, its size clipped to the image (edge tiles are
  // padded and the last strip may be short), `stride` samples per block row.
  template <class F>
  void for_blocks(int level, int64_t x0, int64_t y0, int64_t w, int64_t h, F&& f) const {
    const Level& L = levels_[level];
    const LevelLayout& lay = layout_[level];
    const int64_t xa = std::max<int64_t>(x0, 0), xb = std::min(x0 + w, L.width);
    const int64_t ya = std::max<int64_t>(y0, 0), yb = std::min(y0 + h, L.height);
    if (xa >= xb || ya >= yb) return;
    for (int64_t by = ya / lay.bh; by <= (yb - 1) / lay.bh; ++by) {
      for (int64_t bx = xa / lay.bw; bx <= (xb - 1) / lay.bw; ++bx) {
        Block b = block(level, by * lay.blocks_across + bx);
        const int64_t bx0 = bx * lay.bw, by0 = by * lay.bh;
        f(b->data(), lay.bw, bx0, by0, std::min(lay.bw, L.width - bx0), std::min(lay.bh, L.height - by0));
      }
    }
  }

  // One libtiff handle: its own file position, loaded directory and error messages.
  struct Handle {
    TIFF* tif = nullptr;
    MemFile mem;
    Messages msgs;
    int current = -1;  // level whose directory is loaded
    ~Handle() {
      if (tif) TIFFClose(tif);
    }
  };

  std::shared_ptr<const std::vector<uint8_t>> mem_bytes_;  // a TIFF in memory, else null
  uint64_t uid_ = 0;
  std::vector<LevelLayout> layout_;
  Handle* scan_ = nullptr;  // the handle scan_levels reads (construction only)
  TIFF* tif_ = nullptr;     // scan_->tif
  // Handle pool: idle handles, how many exist, at most one per usable core.
  mutable std::mutex pool_mu_;
  mutable std::condition_variable pool_cv_;
  mutable std::vector<std::unique_ptr<Handle>> idle_;
  mutable int handles_ = 0;
  int max_handles_ = 1;

  static std::string why(const Handle& h, const char* fallback) {
    return h.msgs.last.empty() ? std::string(fallback) : h.msgs.last;
  }
  std::string why(const char* fallback) const { return why(*scan_, fallback); }

  std::unique_ptr<Handle> open_handle() const {
    auto h = std::make_unique<Handle>();
#if TIFFLIB_VERSION >= 20221213
    TIFFOpenOptions* opts = TIFFOpenOptionsAlloc();
    TIFFOpenOptionsSetErrorHandlerExtR(opts, on_error, &h->msgs);
    TIFFOpenOptionsSetWarningHandlerExtR(opts, on_warning, nullptr);
    if (mem_bytes_) {
      h->mem.bytes = mem_bytes_;
      h->tif = TIFFClientOpenExt(path_.c_str(), "rm", &h->mem, mem_read, mem_write, mem_seek, mem_close,
                                 mem_size, mem_map, mem_unmap, opts);
    } else {
      h->tif = TIFFOpenExt(path_.c_str(), "rm", opts);
    }
    TIFFOpenOptionsFree(opts);
#else
    TIFFSetErrorHandler(quiet_handler);
    TIFFSetWarningHandler(quiet_handler);
    if (mem_bytes_) {
      h->mem.bytes = mem_bytes_;
      h->tif = TIFFClientOpen(path_.c_str(), "rm", &h->mem, mem_read, mem_write, mem_seek, mem_close,
                              mem_size, mem_map, mem_unmap);
    } else {
      h->tif = TIFFOpen(path_.c_str(), "rm");
    }
#endif
    return h;
  }

  // A handle for this thread alone: an idle one, a new one while there are fewer than
  // max_handles_, else wait for one. Back to the pool when the lease ends.
  struct Lease {
    const TiffImage* img;
    std::unique_ptr<Handle> h;
    Lease(const TiffImage* i, std::unique_ptr<Handle> hh) : img(i), h(std::move(hh)) {}
    Lease(const Lease&) = delete;
    ~Lease() {
      std::lock_guard<std::mutex> lock(img->pool_mu_);
      img->idle_.push_back(std::move(h));
      img->pool_cv_.notify_one();
    }
  };
  std::unique_ptr<Handle> take_handle() const {
    std::unique_lock<std::mutex> lock(pool_mu_);
    pool_cv_.wait(lock, [&] { return !idle_.empty() || handles_ < max_handles_; });
    if (!idle_.empty()) {
      std::unique_ptr<Handle> h = std::move(idle_.back());
      idle_.pop_back();
      return h;
    }
    ++handles_;
    lock.unlock();
    std::unique_ptr<Handle> h = open_handle();
    if (!h->tif) {
      lock.lock();
      --handles_;
      pool_cv_.notify_one();
      fail(path_ + ": cannot open another handle (" + why(*h, "file gone or unreadable") + ")");
    }
    return h;
  }

  // Reads the current directory's format; returns false (with `err`) when it is not usable.
  bool describe(Level& L, LevelLayout& lay, int& bits, bool& invert, std::string& err) {
    uint32_t w = 0, h = 0;
    uint16_t spp = 1, bps = 1, fmt = SAMPLEFORMAT_UINT, photo = PHOTOMETRIC_MINISBLACK;
    if (!TIFFGetField(tif_, TIFFTAG_IMAGEWIDTH, &w) || !TIFFGetField(tif_, TIFFTAG_IMAGELENGTH, &h) ||
        w == 0 || h == 0) {
      err = "missing or zero image size";
      return false;
    }
    TIFFGetFieldDefaulted(tif_, TIFFTAG_SAMPLESPERPIXEL, &spp);
    TIFFGetFieldDefaulted(tif_, TIFFTAG_BITSPERSAMPLE, &bps);
    TIFFGetFieldDefaulted(tif_, TIFFTAG_SAMPLEFORMAT, &fmt);
    if (!TIFFGetField(tif_, TIFFTAG_PHOTOMETRIC, &photo)) photo = PHOTOMETRIC_MINISBLACK;
    const bool colour = photo == PHOTOMETRIC_RGB || photo == PHOTOMETRIC_YCBCR;
    if (colour ? spp < 3 : spp != 1) {
      err = "unsupported sample format: " + std::to_string(spp) + " samples per pixel with photometric " +
            std::to_string(photo) + " (expected 1 grayscale sample, or RGB)";
      return false;
    }
    if ((bps != 8 && bps != 16) || fmt != SAMPLEFORMAT_UINT) {
      err = "unsupported sample format: " + std::to_string(bps) + "-bit " +
            (fmt == SAMPLEFORMAT_IEEEFP ? "float" : fmt == SAMPLEFORMAT_INT ? "signed" : "unsigned") +
            " (expected 8- or 16-bit unsigned)";
      return false;
    }
    if (!colour && photo != PHOTOMETRIC_MINISBLACK && photo != PHOTOMETRIC_MINISWHITE) {
      err = "unsupported photometric interpretation " + std::to_string(photo) +
            " (expected MinIsBlack or MinIsWhite grayscale, RGB or JPEG-compressed YCbCr)";
      return false;
    }
    uint16_t comp = COMPRESSION_NONE;
    TIFFGetFieldDefaulted(tif_, TIFFTAG_COMPRESSION, &comp);
    if (!TIFFIsCODECConfigured(comp)) {
      err = "compression " + std::to_string(comp) + " is not supported by this libtiff";
      return false;
    }
    if (colour) {
      uint16_t planar = PLANARCONFIG_CONTIG;
      TIFFGetFieldDefaulted(tif_, TIFFTAG_PLANARCONFIG, &planar);
      if (planar != PLANARCONFIG_CONTIG) {
        err = "colour planes stored separately (PlanarConfiguration 2) are not supported (expected interleaved RGB)";
        return false;
      }
      if (photo == PHOTOMETRIC_YCBCR) {
        if (comp != COMPRESSION_JPEG) {
          err = "YCbCr without JPEG compression is not supported (expected JPEG-compressed YCbCr, RGB or grayscale)";
          return false;
        }
        lay.jpeg_rgb = true;
        TIFFSetField(tif_, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB);
      }
    }
    lay.samples = colour ? spp : 1;
    L.width = w;
    L.height = h;
    bits = bps;
    invert = photo == PHOTOMETRIC_MINISWHITE;
    lay.tiled = TIFFIsTiled(tif_);
    if (lay.tiled) {
      uint32_t tw = 0, th = 0;
      TIFFGetField(tif_, TIFFTAG_TILEWIDTH, &tw);
      TIFFGetField(tif_, TIFFTAG_TILELENGTH, &th);
      if (tw == 0 || th == 0) {
        err = "zero tile size";
        return false;
      }
      lay.bw = tw;
      lay.bh = th;
    } else {
      uint32_t rps = h;
      TIFFGetFieldDefaulted(tif_, TIFFTAG_ROWSPERSTRIP, &rps);
      lay.bw = w;
      lay.bh = std::clamp<int64_t>(rps, 1, h);
    }
    if (lay.bw * lay.bh * lay.samples * (bps / 8) > kMaxBlockBytes) {
      err = "a tile/strip of " + std::to_string(lay.bw) + "x" + std::to_string(lay.bh) +
            " pixels exceeds 1 GiB";
      return false;
    }
    lay.blocks_across = (L.width + lay.bw - 1) / lay.bw;
    const int64_t blocks = lay.blocks_across * ((L.height + lay.bh - 1) / lay.bh);
    const int64_t have = lay.tiled ? TIFFNumberOfTiles(tif_) : TIFFNumberOfStrips(tif_);
    if (have < blocks) {
      err = "has " + std::to_string(have) + " tiles/strips, expected " + std::to_string(blocks);
      return false;
    }
    return true;
  }

  void scan_levels() {
    Level L0;
    LevelLayout lay0;
    std::string err;
    if (!describe(L0, lay0, bits_, min_is_white_, err)) fail(path_ + ": " + err);
    read_pixel_size();
    levels_.push_back(L0);
    layout_.push_back(lay0);
    // SubIFD pyramid (OME-TIFF style).
    std::vector<toff_t> subs;
    {
      uint16_t n = 0;
      toff_t* offs = nullptr;
      if (TIFFGetField(tif_, TIFFTAG_SUBIFD, &n, &offs) && offs)
        subs.assign(offs, offs + std::min<int>(n, kMaxPages));
    }
    for (toff_t off : subs) {
      if (!TIFFSetSubDirectory(tif_, off)) break;
      add_level_if_reduced(true, off, 0);
    }
    // Page pyramid.
    if (!TIFFSetDirectory(tif_, 0)) fail(path_ + ": cannot re-read the first directory (" + why("corrupt") + ")");
    for (tdir_t d = 1; d < kMaxPages; ++d) {
      if (!TIFFReadDirectory(tif_)) break;
      add_level_if_reduced(false, 0, d);
    }
    // Finest first; then compute downsample factors.
    std::vector<size_t> order(levels_.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin() + 1, order.end(),
                     [&](size_t a, size_t b) { return levels_[a].width > levels_[b].width; });
    std::vector<Level> lv;
    std::vector<LevelLayout> ly;
    for (size_t i : order) {
      if (!lv.empty() && levels_[i].width == lv.back().width) continue;  // duplicate level
      lv.push_back(levels_[i]);
      ly.push_back(layout_[i]);
    }
    for (auto& l : lv) l.downsample = static_cast<double>(lv[0].width) / static_cast<double>(l.width);
    levels_ = std::move(lv);
    layout_ = std::move(ly);
    scan_->current = -1;
    select(*scan_, 0);
  }

  void add_level_if_reduced(bool subifd, toff_t off, tdir_t dir) {
    Level L;
    LevelLayout lay;
    lay.subifd = subifd;
    lay.offset = off;
    lay.dir = dir;
    int bits = 0;
    bool invert = false;
    std::string err;
    if (!describe(L, lay, bits, invert, err)) return;  // e.g. an RGB label image: not a level
    if (bits != bits_ || invert != min_is_white_ || (lay.samples > 1) != (layout_[0].samples > 1) ||
        L.width >= levels_[0].width)
      return;
    const double r0 = static_cast<double>(levels_[0].width) / levels_[0].height;
    const double r = static_cast<double>(L.width) / L.height;
    if (std::abs(r / r0 - 1.0) > 0.02 + 2.0 / std::min(L.width, L.height)) return;
    levels_.push_back(L);
    layout_.push_back(lay);
  }

  // The first page's pixel size: its description (OME-XML, Aperio), else its resolution tags.
  void read_pixel_size() {
    char* desc = nullptr;
    if (TIFFGetField(tif_, TIFFTAG_IMAGEDESCRIPTION, &desc) && desc) um_per_px_ = um_per_px_from_description(desc);
    float xres = 0;
    uint16_t unit = RESUNIT_INCH;
    if (!um_per_px_ && TIFFGetField(tif_, TIFFTAG_XRESOLUTION, &xres)) {
      TIFFGetFieldDefaulted(tif_, TIFFTAG_RESOLUTIONUNIT, &unit);
      um_per_px_ = um_per_px_from_resolution(xres, unit);
    }
  }

  // Loads the directory of `level` into handle h (which the caller holds alone).
  void select(Handle& h, int level) const {
    if (h.current == level) return;
    const LevelLayout& lay = layout_[level];
    const bool ok = lay.subifd ? TIFFSetSubDirectory(h.tif, lay.offset) : TIFFSetDirectory(h.tif, lay.dir);
    if (!ok) fail(path_ + ": cannot read the directory of pyramid level " + std::to_string(level) +
                  " (" + why(h, "corrupt file") + ")");
    if (lay.jpeg_rgb) TIFFSetField(h.tif, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB);  // per directory
    h.current = level;
  }

  // A block a writer left out (offset and byte count 0, e.g. cytocon-prepare's tiles out of
  // reach of every sample point): glass, intensity 1.
  void fill_glass(std::vector<uint8_t>& buf, const LevelLayout& lay) const {
    buf.assign(static_cast<size_t>(lay.bw * lay.bh * (bits_ / 8)), min_is_white_ ? 0 : 0xFF);  // 255 or 65535
  }

  Block block(int level, int64_t id) const {
    const BlockKey key{uid_, level, id};
    if (Block b = cache_get(key)) return b;
    const LevelLayout& lay = layout_[level];
    auto buf = std::make_shared<std::vector<uint8_t>>(
        static_cast<size_t>(lay.bw * lay.bh * lay.samples * (bits_ / 8)), uint8_t(0));
    {  // read and decode on a handle this thread holds alone: no lock shared with other readers
      Lease l(this, take_handle());
      Handle& h = *l.h;
      select(h, level);
      h.msgs.last.clear();
      if (TIFFGetStrileByteCount(h.tif, static_cast<uint32_t>(id)) == 0) {  // sparse: never written
        fill_glass(*buf, lay);
        Block b = buf;
        cache_put(key, b);
        return b;
      }
      const tmsize_t n =
          lay.tiled ? TIFFReadEncodedTile(h.tif, static_cast<uint32_t>(id), buf->data(),
                                          static_cast<tmsize_t>(buf->size()))
                    : TIFFReadEncodedStrip(h.tif, static_cast<uint32_t>(id), buf->data(),
                                           static_cast<tmsize_t>(buf->size()));
      if (n < 0)
        fail(path_ + ": cannot decode " + (lay.tiled ? "tile " : "strip ") + std::to_string(id) +
             " of pyramid level " + std::to_string(level) + " (" + why(h, "truncated or corrupt file") +
             ")");
    }
    if (lay.samples > 1) {  // colour → grayscale in place (the cache holds grayscale)
      if (bits_ == 8)
        rgb_to_luma(buf->data(), lay.bw * lay.bh, lay.samples, buf->data());
      else
        rgb_to_luma(reinterpret_cast<const uint16_t*>(buf->data()), lay.bw * lay.bh, lay.samples,
                    reinterpret_cast<uint16_t*>(buf->data()));
      buf->resize(static_cast<size_t>(lay.bw * lay.bh * (bits_ / 8)));
      buf->shrink_to_fit();
    }
    Block b = buf;
    cache_put(key, b);
    return b;
  }
};

}  // namespace

std::shared_ptr<Image> open_tiff_file(const std::string& path) {
  return std::make_shared<TiffImage>(path, nullptr);
}

std::shared_ptr<Image> open_tiff_memory(std::shared_ptr<const std::vector<uint8_t>> bytes,
                                        const std::string& name) {
  check(bytes != nullptr, name + ": no bytes");
  return std::make_shared<TiffImage>(name, std::move(bytes));
}

}  // namespace cytocon::data

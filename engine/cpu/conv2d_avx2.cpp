// AVX2/FMA float32 convolution (engine/cpu/conv2d_avx2.h): im2col-free implicit GEMM.
//
// With NHWC activations the k·Cin window of kernel row p at output pixel j is contiguous:
// x_p[j·s·Cin + e], e = q·Cin + c. So one output row is a small GEMM, y[j, o] =
// Σ_p Σ_e x_p[j·s·Cin + e] · w[o, p, e], computed by a register tile of kMR pixels × kNR = 16
// output channels (12 ymm accumulators): per reduction step two weight vectors are loaded and each
// pixel's input is broadcast. The weight gradient uses the same tile with the roles swapped:
// kMR weight elements × 16 output channels, reduced over blocks of output pixels.
#include "engine/cpu/conv2d_avx2.h"

#ifdef CYTOCON_CONV_AVX2
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <vector>

// Every function below that touches vectors is compiled for AVX2+FMA whatever -march says; the
// standard library templates keep the build's target (they are defined above this point).
#define CYTOCON_AVX2 __attribute__((target("avx2,fma")))

namespace cytocon::cpu::avx2 {

bool available() {
#if defined(__AVX2__) && defined(__FMA__)
  return true;
#else
  static const bool ok = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return ok;
#endif
}

namespace {

constexpr int kMR = 6;   // pixels (forward) or weight elements (weight gradient) per tile
constexpr int kNR = 16;  // output channels per tile: two 8-float vectors
// The weight gradient sums blocks of whole output rows of at least this many pixels in registers
// (one row on the large layers), then adds the block sums in order.
constexpr int64_t kMinBlockPixels = 64;

// Lane masks selecting the first `valid` of 16 channels (the last, partial channel block).
struct Mask {
  __m256i lo, hi;
  CYTOCON_AVX2 explicit Mask(int64_t valid) {
    alignas(32) int32_t m[kNR];
    for (int i = 0; i < kNR; ++i) m[i] = i < valid ? -1 : 0;
    lo = _mm256_load_si256(reinterpret_cast<const __m256i*>(m));
    hi = _mm256_load_si256(reinterpret_cast<const __m256i*>(m + 8));
  }
};

// The register tile: rows m < MR ≤ 6, each two accumulators a<m>0, a<m>1 (channels 0-7, 8-15),
// as named variables (GCC keeps arrays of vectors in memory). CYTOCON_FMA_ROW(m, src) adds
// src[0] · (v0, v1) to row m: one FMA chain per output element.
#define CYTOCON_TILE_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5)
#define CYTOCON_TILE_ZERO                                                                  \
  __m256 a00 = _mm256_setzero_ps(), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00; \
  __m256 a30 = a00, a31 = a00, a40 = a00, a41 = a00, a50 = a00, a51 = a00;
#define CYTOCON_FMA_ROW(m, src)                \
  if (MR > (m)) {                              \
    const __m256 b = _mm256_broadcast_ss(src); \
    a##m##0 = _mm256_fmadd_ps(b, v0, a##m##0); \
    a##m##1 = _mm256_fmadd_ps(b, v1, a##m##1); \
  }

// Weights packed per block of 16 output channels: wp[ob][p][e][16], e = q·Cin + c, zero beyond
// Cout. get(o, p, e) reads the source weight.
template <class Get>
std::vector<float> pack_weights(int64_t cout, int64_t k, int64_t kc, Get get) {
  const int64_t nb = (cout + kNR - 1) / kNR;
  std::vector<float> wp(static_cast<size_t>(nb * k * kc * kNR), 0.f);
  for (int64_t o = 0; o < cout; ++o)
    for (int64_t p = 0; p < k; ++p)
      for (int64_t e = 0; e < kc; ++e) wp[(((o / kNR) * k + p) * kc + e) * kNR + o % kNR] = get(o, p, e);
  return wp;
}

// y[m·ys + 0..15] = Σ_{p<k} Σ_{e<kc} x0[p·rs + m·ps + e] · wb[(p·kc + e)·16 + 0..15], m < MR:
// one FMA chain per output in (p, e) order. rs: input row stride, ps: input pixel stride (s·Cin).
template <int MR>
CYTOCON_AVX2 void forward_tile(const float* x0, int64_t rs, int64_t ps, int64_t k, int64_t kc, const float* wb,
                               float* y, int64_t ys, int64_t valid, const Mask& mask) {
  CYTOCON_TILE_ZERO
  for (int64_t p = 0; p < k; ++p) {
    const float* xr = x0 + p * rs;
    const float* wr = wb + p * kc * kNR;
    for (int64_t e = 0; e < kc; ++e) {
      const __m256 v0 = _mm256_loadu_ps(wr + e * kNR), v1 = _mm256_loadu_ps(wr + e * kNR + 8);
#define CYTOCON_STEP(m) CYTOCON_FMA_ROW(m, xr + (m)*ps + e)
      CYTOCON_TILE_ROWS(CYTOCON_STEP)
#undef CYTOCON_STEP
    }
  }
  if (valid == kNR) {
#define CYTOCON_STORE(m)                       \
  if (MR > (m)) {                              \
    _mm256_storeu_ps(y + (m)*ys, a##m##0);     \
    _mm256_storeu_ps(y + (m)*ys + 8, a##m##1); \
  }
    CYTOCON_TILE_ROWS(CYTOCON_STORE)
#undef CYTOCON_STORE
  } else {
#define CYTOCON_STORE(m)                                   \
  if (MR > (m)) {                                          \
    _mm256_maskstore_ps(y + (m)*ys, mask.lo, a##m##0);     \
    _mm256_maskstore_ps(y + (m)*ys + 8, mask.hi, a##m##1); \
  }
    CYTOCON_TILE_ROWS(CYTOCON_STORE)
#undef CYTOCON_STORE
  }
}

using ForwardTile = void (*)(const float*, int64_t, int64_t, int64_t, int64_t, const float*, float*, int64_t, int64_t,
                             const Mask&);
constexpr ForwardTile kForwardTile[kMR + 1] = {nullptr,         forward_tile<1>, forward_tile<2>, forward_tile<3>,
                                               forward_tile<4>, forward_tile<5>, forward_tile<6>};

// One output row y_row[j, o], j < ow, all channels, from the input row x_row (kernel row p at
// x_row + p·rs) and packed weights (pack_weights layout).
CYTOCON_AVX2 void forward_row(const float* xrow, int64_t rs, int64_t ps, int64_t k, int64_t kc, int64_t ow,
                              int64_t cout, const float* wp, float* yrow, const Mask& tail) {
  const int64_t nb = (cout + kNR - 1) / kNR;
  for (int64_t ob = 0; ob < nb; ++ob) {
    const int64_t valid = std::min<int64_t>(kNR, cout - ob * kNR);
    const float* wb = wp + ob * k * kc * kNR;
    for (int64_t j = 0; j < ow; j += kMR) {
      const int mr = static_cast<int>(std::min<int64_t>(kMR, ow - j));
      kForwardTile[mr](xrow + j * ps, rs, ps, k, kc, wb, yrow + j * cout + ob * kNR, cout, valid, tail);
    }
  }
}

// Weight-gradient tile of MR weight elements (input pointers xp[m], pixel stride ps) × 16 output
// channels over a block of `rows` output rows of ow pixels (input rows xstep apart, dy rows dystep
// apart): a register sum in pixel order, then added to tot[m·16 + 0..15].
template <int MR>
CYTOCON_AVX2 void weight_tile(const float* const* xp, int64_t ps, const float* dyr, int64_t cout, int64_t ow,
                              int64_t rows, int64_t xstep, int64_t dystep, bool full, const Mask& mask, float* tot) {
  CYTOCON_TILE_ZERO
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t xo = r * xstep;
    for (int64_t j = 0; j < ow; ++j) {
      const float* d = dyr + r * dystep + j * cout;
      const __m256 v0 = full ? _mm256_loadu_ps(d) : _mm256_maskload_ps(d, mask.lo);
      const __m256 v1 = full ? _mm256_loadu_ps(d + 8) : _mm256_maskload_ps(d + 8, mask.hi);
#define CYTOCON_STEP(m) CYTOCON_FMA_ROW(m, xp[m] + xo + j * ps)
      CYTOCON_TILE_ROWS(CYTOCON_STEP)
#undef CYTOCON_STEP
    }
  }
#define CYTOCON_ADD(m)                                                                               \
  if (MR > (m)) {                                                                                    \
    _mm256_storeu_ps(tot + (m)*kNR, _mm256_add_ps(_mm256_loadu_ps(tot + (m)*kNR), a##m##0));         \
    _mm256_storeu_ps(tot + (m)*kNR + 8, _mm256_add_ps(_mm256_loadu_ps(tot + (m)*kNR + 8), a##m##1)); \
  }
  CYTOCON_TILE_ROWS(CYTOCON_ADD)
#undef CYTOCON_ADD
}

using WeightTile = void (*)(const float* const*, int64_t, const float*, int64_t, int64_t, int64_t, int64_t, int64_t,
                            bool, const Mask&, float*);
constexpr WeightTile kWeightTile[kMR + 1] = {nullptr,        weight_tile<1>, weight_tile<2>, weight_tile<3>,
                                             weight_tile<4>, weight_tile<5>, weight_tile<6>};

}  // namespace

CYTOCON_AVX2 void conv2d_forward(const ConvGeom& g, const float* x, const float* w, float* y) {
  const int64_t k = g.k, cin = g.cin, cout = g.cout, s = g.stride, oh = g.oh(), ow = g.ow(), kc = k * cin;
  const std::vector<float> wp =
      pack_weights(cout, k, kc, [&](int64_t o, int64_t p, int64_t e) { return w[(o * k + p) * kc + e]; });
  const Mask tail(cout - (cout - 1) / kNR * kNR);
#pragma omp parallel for schedule(static) collapse(2)
  for (int64_t n = 0; n < g.n; ++n)
    for (int64_t i = 0; i < oh; ++i)
      forward_row(x + (n * g.h + s * i) * g.w * cin, g.w * cin, s * cin, k, kc, ow, cout, wp.data(),
                  y + (n * oh + i) * ow * cout, tail);
}

// dx[h, x, c] = Σ_{p', q', o} dyp[h+p', x+q', o] · w[o, k-1-p', k-1-q', c], dyp = dy zero-padded by
// k-1 on every side: a stride-1 forward row with Cin and Cout of the layer swapped. Each thread
// copies the k padded dy rows of its dx row into a window buffer (zero rows outside dy).
CYTOCON_AVX2 void conv2d_backward_data(const ConvGeom& g, const float* dy, const float* w, float* dx) {
  const int64_t k = g.k, cin = g.cin, cout = g.cout, oh = g.oh(), ow = g.ow(), pad = k - 1, pw = ow + 2 * pad;
  const std::vector<float> wt = pack_weights(cin, k, k * cout, [&](int64_t c, int64_t p, int64_t e) {
    const int64_t q = e / cout, o = e % cout;
    return w[((o * k + (k - 1 - p)) * k + (k - 1 - q)) * cin + c];
  });
  const Mask tail(cin - (cin - 1) / kNR * kNR);
#pragma omp parallel
  {
    std::vector<float> win(static_cast<size_t>(k * pw * cout), 0.f);  // pad columns stay zero
#pragma omp for schedule(static) collapse(2)
    for (int64_t n = 0; n < g.n; ++n)
      for (int64_t h = 0; h < g.h; ++h) {
        for (int64_t p = 0; p < k; ++p) {
          const int64_t i = h - pad + p;
          float* dst = &win[(p * pw + pad) * cout];
          if (i >= 0 && i < oh)
            std::memcpy(dst, dy + (n * oh + i) * ow * cout, sizeof(float) * ow * cout);
          else
            std::memset(dst, 0, sizeof(float) * ow * cout);
        }
        forward_row(win.data(), pw * cout, cout, k, k * cout, g.w, cin, wt.data(), dx + (n * g.h + h) * g.w * cin,
                    tail);
      }
  }
}

// dw_t[o, e] = Σ_{n in shard t} Σ_i Σ_j dy[n,i,j,o] · x[n, s·i+p, s·j+q, c], e = (p·k + q)·Cin + c,
// summed per sample over blocks of rb output rows in registers, the block sums added in order.
// The independent outputs are tiles of kMR consecutive e × 16 channels of one shard; a work unit
// is one shard's group of tiles, walked row by row over the shard's samples (each tile's sum is
// the same whichever unit or thread computes it). Several groups per shard only when there are
// fewer shards than threads to keep busy; otherwise each unit reads only its own shard's data.
CYTOCON_AVX2 void conv2d_backward_weight(const ConvGeom& g, const float* x, const float* dy, int shards,
                                         float* dw_partials) {
  const int64_t k = g.k, cin = g.cin, cout = g.cout, s = g.stride, oh = g.oh(), ow = g.ow();
  // Tile height: weight elements per tile, 6 unless 5 or 4 divide k·k·Cin and 6 does not (the 5×5 first layer).
  // Any tiling gives the same bits: each element's sum runs over the pixels alone.
  const int64_t kkc = k * k * cin, len = cout * kkc, nb = (cout + kNR - 1) / kNR;
  const int64_t th = kkc % kMR == 0 ? kMR : kkc % 5 == 0 ? 5 : kkc % 4 == 0 ? 4 : kMR, ne = (kkc + th - 1) / th;
  const int64_t tiles = ne * nb, rs = g.w * cin, ps = s * cin;
  const int64_t groups = std::clamp<int64_t>((2 * omp_get_max_threads() + shards - 1) / shards, 1, tiles);
  const Mask tail(cout - (nb - 1) * kNR);
  const int64_t rb = (kMinBlockPixels + ow - 1) / ow;  // rows per register sum: a function of the shape only
  std::vector<int64_t> off(static_cast<size_t>(kkc));  // x offset of element e: kernel row p, then q·Cin + c
  for (int64_t e = 0; e < kkc; ++e) off[e] = e / (k * cin) * rs + e % (k * cin);
#pragma omp parallel
  {
    std::vector<float> tot;
#pragma omp for schedule(dynamic, 1) collapse(2)
    for (int64_t t = 0; t < shards; ++t)
      for (int64_t grp = 0; grp < groups; ++grp) {
        const int64_t tile0 = grp * tiles / groups, tile1 = (grp + 1) * tiles / groups;
        tot.assign(static_cast<size_t>((tile1 - tile0) * kMR * kNR), 0.f);
        for (int64_t n = t * g.n / shards; n < (t + 1) * g.n / shards; ++n)
          for (int64_t i = 0; i < oh; i += rb) {
            const int64_t rows = std::min(rb, oh - i);
            const float* xrow = x + (n * g.h + s * i) * rs;
            const float* dyrow = dy + (n * oh + i) * ow * cout;
            for (int64_t tile = tile0; tile < tile1; ++tile) {
              const int64_t eb = tile / nb, ob = tile % nb, e0 = eb * th;
              const int mr = static_cast<int>(std::min(th, kkc - e0));
              const float* xp[kMR];
              for (int m = 0; m < mr; ++m) xp[m] = xrow + off[e0 + m];
              kWeightTile[mr](xp, ps, dyrow + ob * kNR, cout, ow, rows, s * rs, ow * cout, cout - ob * kNR >= kNR, tail,
                              &tot[(tile - tile0) * kMR * kNR]);
            }
          }
        float* dw = dw_partials + t * len;
        for (int64_t tile = tile0; tile < tile1; ++tile) {
          const int64_t eb = tile / nb, ob = tile % nb;
          for (int64_t m = 0; m < th && eb * th + m < kkc; ++m)
            for (int64_t l = 0; l < kNR && ob * kNR + l < cout; ++l)
              dw[(ob * kNR + l) * kkc + eb * th + m] = tot[((tile - tile0) * kMR + m) * kNR + l];
        }
      }
  }
}

}  // namespace cytocon::cpu::avx2

#endif  // CYTOCON_CONV_AVX2

// Counter-based random numbers: Philox-4x32-10 (Salmon et al., SC'11), the generator of
// cuRAND and of JAX. A value is a pure function of (key, counter): no state, so the same draw
// comes out on the CPU and the GPU, on any thread, rank or order of work (docs/design.md).
//
// Keys: key = (seed low 32 bits, seed high 32 bits). Counter = (purpose, a, b, c): the purpose
// says what the numbers are for (weights, augmentation, sampling ...), a/b/c index the draw,
// e.g. (epoch, global sample index, draw number).
#pragma once
#include <cmath>
#include <cstdint>

#if defined(__CUDACC__)
#define CYTOCON_HD __host__ __device__ __forceinline__
#else
#define CYTOCON_HD inline
#endif

namespace cytocon {

// What a stream of random numbers is for: the first counter word.
enum class Purpose : uint32_t {
  init_weights = 1,    // (param index, element block)
  sample_order = 2,    // epoch sampler
  augment = 3,         // (epoch, global sample index, draw)
  split = 4,           // train/test split of sections
  synth = 5,           // synthetic data
  tsne = 6,            // t-SNE
  test = 100,          // tests
};

struct Philox4x32 {
  uint32_t v[4];
};

CYTOCON_HD uint32_t philox_mulhilo(uint32_t a, uint32_t b, uint32_t* hi) {
  uint64_t p = static_cast<uint64_t>(a) * b;
  *hi = static_cast<uint32_t>(p >> 32);
  return static_cast<uint32_t>(p);
}

// Ten rounds of Philox-4x32 on counter c with key k.
CYTOCON_HD Philox4x32 philox4x32_10(Philox4x32 c, uint32_t k0, uint32_t k1) {
  constexpr uint32_t M0 = 0xD2511F53u, M1 = 0xCD9E8D57u;
  constexpr uint32_t W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;
  for (int r = 0; r < 10; ++r) {
    uint32_t hi0, hi1;
    uint32_t lo0 = philox_mulhilo(M0, c.v[0], &hi0);
    uint32_t lo1 = philox_mulhilo(M1, c.v[2], &hi1);
    Philox4x32 n;
    n.v[0] = hi1 ^ c.v[1] ^ k0;
    n.v[1] = lo1;
    n.v[2] = hi0 ^ c.v[3] ^ k1;
    n.v[3] = lo0;
    c = n;
    k0 += W0;
    k1 += W1;
  }
  return c;
}

// Uniform float in [0, 1) from the top 24 bits (exactly representable, same on CPU and GPU).
CYTOCON_HD float u01(uint32_t x) { return static_cast<float>(x >> 8) * (1.0f / 16777216.0f); }
// Uniform double in [0, 1) from 53 bits of two words.
CYTOCON_HD double u01d(uint32_t a, uint32_t b) {
  uint64_t m = (static_cast<uint64_t>(a) << 21) ^ (b >> 11);
  return static_cast<double>(m & ((1ull << 53) - 1)) * (1.0 / 9007199254740992.0);
}

// A keyed stream: draw(i) gives the i-th block of four 32-bit words for a fixed counter prefix.
struct Rng {
  uint32_t k0, k1;         // key: the seed
  uint32_t c0, c1, c2;     // counter prefix: purpose, a, b; the last word is the block index
  CYTOCON_HD Rng(uint64_t seed, Purpose purpose, uint32_t a = 0, uint32_t b = 0)
      : k0(static_cast<uint32_t>(seed)), k1(static_cast<uint32_t>(seed >> 32)),
        c0(static_cast<uint32_t>(purpose)), c1(a), c2(b) {}
  CYTOCON_HD Philox4x32 block(uint32_t i) const { return philox4x32_10({{c0, c1, c2, i}}, k0, k1); }
  // The i-th uniform float in [0,1) of this stream.
  CYTOCON_HD float uniform(uint32_t i) const { return u01(block(i >> 2).v[i & 3]); }
  CYTOCON_HD float uniform(uint32_t i, float lo, float hi) const { return lo + (hi - lo) * uniform(i); }
  // The i-th standard normal of this stream (Box-Muller on block i: two words, double math so
  // CPU and GPU agree to the last bit where libm and CUDA's correctly-rounded paths agree).
  CYTOCON_HD double normal(uint32_t i) const {
    Philox4x32 b = block(i);
    double u1 = u01d(b.v[0], b.v[1]);
    double u2 = u01d(b.v[2], b.v[3]);
    if (u1 < 1e-300) u1 = 1e-300;
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  // Uniform integer in [0, n) (n > 0), Lemire's multiply-shift on one word (bias < n/2^32).
  CYTOCON_HD uint32_t below(uint32_t i, uint32_t n) const {
    uint32_t w = block(i >> 2).v[i & 3];
    return static_cast<uint32_t>((static_cast<uint64_t>(w) * n) >> 32);
  }
};

}  // namespace cytocon

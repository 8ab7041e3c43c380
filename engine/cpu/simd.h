// A 64-byte vector of T (GCC/Clang vector extension): lane-wise IEEE arithmetic, exactly the
// scalar operations per lane (no reassociation), lowered to AVX-512, AVX2 or SSE by the target.
// Used where the auto-vectoriser keeps per-channel accumulators in memory instead of registers.
// Values are moved with memcpy (unaligned loads/stores); no function takes or returns a vector,
// so the code is the same ABI on every target (no -Wpsabi).
#pragma once

namespace cytocon::cpu {

template <class T>
struct Simd {
  typedef T type __attribute__((vector_size(64)));
  static constexpr int lanes = 64 / sizeof(T);
};

}  // namespace cytocon::cpu

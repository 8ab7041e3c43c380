// compare_runs [--rtol R] REFERENCE OTHER...: passes when every OTHER run file is byte-identical
// to REFERENCE (or, with --rtol, every value within R·(|ref| + max|entry|·1e-3)); otherwise names
// the first differing entry and element.
// Skips (status 77, ctest SKIP_RETURN_CODE) when every run skipped: no file, only the FILE.skipped
// marker that mpi_train_tiny cuda writes without a GPU. A missing file without a marker is a
// failed run, and some runs skipping while others ran is no comparison: both fail.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

#include "mpi/run_file.h"

using namespace cytocon;

static double g_rtol = 0;  // 0: bitwise
constexpr int kSkip = 77;

static bool exists(const std::string& path) { return std::ifstream(path).good(); }

static bool same(const test::RunFile& a, const test::RunFile& b, const char* an, const char* bn) {
  if (a.entries.size() != b.entries.size()) {
    std::printf("%s has %zu entries, %s has %zu\n", an, a.entries.size(), bn, b.entries.size());
    return false;
  }
  for (size_t k = 0; k < a.entries.size(); ++k) {
    const auto &x = a.entries[k], &y = b.entries[k];
    if (x.name != y.name || x.bytes.size() != y.bytes.size()) {
      std::printf("entry %zu: %s (%zu bytes) vs %s (%zu bytes)\n", k, x.name.c_str(), x.bytes.size(),
                  y.name.c_str(), y.bytes.size());
      return false;
    }
    size_t n = x.bytes.size() / sizeof(float);
    auto at = [](const std::vector<char>& b, size_t i) {
      float f;
      std::memcpy(&f, b.data() + i * sizeof(float), sizeof f);
      return f;
    };
    double scale = 0;
    for (size_t i = 0; i < n; ++i) scale = std::max(scale, std::fabs(double(at(x.bytes, i))));
    for (size_t i = 0; i < n; ++i) {
      float u = at(x.bytes, i), v = at(y.bytes, i);
      bool differ = g_rtol > 0 ? !(std::fabs(double(u) - v) <= g_rtol * (std::fabs(double(u)) + 1e-3 * scale))
                               : std::memcmp(&u, &v, sizeof u) != 0;
      if (differ) {
        std::printf("%s differs from %s: %s[%zu] = %.9g vs %.9g\n", bn, an, x.name.c_str(), i, u, v);
        return false;
      }
    }
  }
  return true;
}

int main(int argc, char** argv) {
  if (argc > 2 && std::string(argv[1]) == "--rtol") {
    g_rtol = std::atof(argv[2]);
    argv += 2;
    argc -= 2;
  }
  if (argc < 3) {
    std::fprintf(stderr, "usage: compare_runs [--rtol R] REFERENCE OTHER...\n");
    return 2;
  }
  int skipped = 0;
  for (int i = 1; i < argc; ++i)
    if (!exists(argv[i]) && exists(std::string(argv[i]) + ".skipped")) {
      ++skipped;
      std::printf("%s: the run skipped\n", argv[i]);
    }
  if (skipped == argc - 1) {
    std::printf("SKIP: every run skipped, nothing to compare\n");
    return kSkip;
  }
  try {
    test::RunFile ref = test::RunFile::read(argv[1]);
    bool ok = true;
    for (int i = 2; i < argc; ++i) {
      bool s = same(ref, test::RunFile::read(argv[i]), argv[1], argv[i]);
      if (s)
        std::printf("%s: %s %s (%zu entries)\n", argv[i], g_rtol > 0 ? "within tolerance of" : "bit-identical to",
                    argv[1], ref.entries.size());
      ok = ok && s;
    }
    return ok ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "compare_runs: error: %s\n", e.what());
    return 1;
  }
}

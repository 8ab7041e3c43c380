#include "engine/validate.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

#include "engine/tensor.h"

namespace cytocon {

bool Range::contains(double v) const {
  if (std::isnan(v)) return false;
  return (lo_open ? v > lo : v >= lo) && (hi_open ? v < hi : v <= hi);
}

std::string Range::str() const {
  return std::string(lo_open ? "(" : "[") + number_text(lo) + ", " + number_text(hi) + (hi_open ? ")" : "]");
}

std::string number_text(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[32];
  if (v == std::floor(v) && std::fabs(v) < 1e15) {  // 1000, not 1e+03
    std::snprintf(buf, sizeof buf, "%.0f", v);
    return buf;
  }
  for (int prec = 1; prec <= 17; ++prec) {
    std::snprintf(buf, sizeof buf, "%.*g", prec, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

double checked_number(double v, const Range& r, const std::string& where, const std::string& what) {
  if (!std::isfinite(v) || !r.contains(v))
    fail(where + " = " + number_text(v) + ": expected a finite number in " + r.str() +
         (what.empty() ? std::string() : " (" + what + ")"));
  return v;
}

int64_t checked_integer(int64_t v, int64_t lo, int64_t hi, const std::string& where, const std::string& what) {
  if (v < lo || v > hi)
    fail(where + " = " + std::to_string(v) + ": expected an integer in [" + std::to_string(lo) + ", " +
         std::to_string(hi) + "]" + (what.empty() ? std::string() : " (" + what + ")"));
  return v;
}

uint64_t checked_bytes(const char* what, uint64_t elem, std::initializer_list<uint64_t> dims, uint64_t limit) {
  uint64_t n = elem;
  std::string shape;
  bool overflow = false;
  for (uint64_t d : dims) {
    shape += (shape.empty() ? "" : " x ") + std::to_string(d);
    if (d != 0 && n > std::numeric_limits<uint64_t>::max() / d) overflow = true;
    n = overflow ? std::numeric_limits<uint64_t>::max() : n * d;
  }
  if (overflow || n > limit)
    fail(std::string(what) + " of " + shape + " elements of " + std::to_string(elem) + " bytes needs " +
         (overflow ? std::string("more than 2^64 bytes") : gib_text(n) + ", more than the " + gib_text(limit) + " allowed"));
  return n;
}

uint64_t physical_memory_bytes() {
  const long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGE_SIZE);
  return pages > 0 && size > 0 ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(size) : 0;
}

std::string gib_text(uint64_t bytes) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.1f GiB", static_cast<double>(bytes) / (1ull << 30));
  return buf;
}

}  // namespace cytocon

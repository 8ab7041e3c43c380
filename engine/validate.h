// The one check every value entering from outside passes (docs/errors.md, "Bad input"): config
// keys and --set, program flags, manifest fields, GeoJSON coordinates, file headers. A value is
// finite and inside its documented range, or the error names where it came from, the value, and
// what was expected:
//   "config run.toml: data.um_per_px = inf: expected a finite number in (0, 100] (µm per pixel)"
#pragma once
#include <cstdint>
#include <string>

namespace cytocon {

// A closed or half-open interval [lo, hi] / (lo, hi] / [lo, hi) for messages and checks.
struct Range {
  double lo, hi;
  bool lo_open = false, hi_open = false;
  bool contains(double v) const;  // false for NaN
  std::string str() const;        // "(0, 100]"
};

// The shortest text that reads back to `v`: "inf", "nan", "1e+308", "4", "0.07".
std::string number_text(double v);

// Returns v if finite and in r; else fails "<where> = <v>: expected a finite number in <r>[ (<what>)]".
double checked_number(double v, const Range& r, const std::string& where, const std::string& what = "");
// The same for integers: "<where> = <v>: expected an integer in [lo, hi][ (<what>)]".
int64_t checked_integer(int64_t v, int64_t lo, int64_t hi, const std::string& where, const std::string& what = "");

// n1·n2·…·elem bytes without overflow; fails naming `what` when the product exceeds `limit`.
uint64_t checked_bytes(const char* what, uint64_t elem, std::initializer_list<uint64_t> dims,
                       uint64_t limit = UINT64_MAX);

// Physical memory of this machine in bytes (0 if unknown), and the same as "12.3 GiB".
uint64_t physical_memory_bytes();
std::string gib_text(uint64_t bytes);

}  // namespace cytocon

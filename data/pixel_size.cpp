// Pixel size from TIFF metadata (pixel_size.h).
#include "data/pixel_size.h"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <regex>

namespace cytocon::data {
namespace {

std::optional<double> positive(const std::string& text) {
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !(v > 0) || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::optional<double> unit_in_um(const std::string& unit) {
  if (unit == "\xC2\xB5m" || unit == "\xCE\xBCm" || unit == "um") return 1.0;  // µ (micro sign or Greek mu)
  if (unit == "nm") return 1e-3;
  if (unit == "mm") return 1e3;
  if (unit == "cm") return 1e4;
  if (unit == "m") return 1e6;
  return std::nullopt;
}

// The value of attribute `name` inside one start tag, if present.
std::optional<std::string> attribute(const std::string& tag, const std::string& name) {
  const std::regex re("\\s" + name + "\\s*=\\s*(\"([^\"]*)\"|'([^']*)')");
  std::smatch m;
  if (!std::regex_search(tag, m, re)) return std::nullopt;
  return m[2].matched ? m[2].str() : m[3].str();
}

// The attributes of the first start tag <Pixels ...> or <prefix:Pixels ...> (OME-XML), found by
// plain search: descriptions of multi-image files run to megabytes, too long for std::regex.
std::optional<std::string> pixels_tag(const std::string& d) {
  for (size_t at = d.find("Pixels"); at != std::string::npos; at = d.find("Pixels", at + 1)) {
    size_t open = at;
    while (open > 0 && d[open - 1] != '<' && d[open - 1] != '>' && !std::isspace(static_cast<unsigned char>(d[open - 1])))
      --open;
    const size_t after = at + 6;
    if (open == 0 || d[open - 1] != '<' || after >= d.size() || !std::isspace(static_cast<unsigned char>(d[after])))
      continue;
    const std::string prefix = d.substr(open, at - open);  // "" or "ome:"
    if (!prefix.empty() && prefix.back() != ':') continue;
    const size_t close = d.find('>', after);
    if (close == std::string::npos) return std::nullopt;
    return d.substr(after, close - after);
  }
  return std::nullopt;
}

}  // namespace

std::optional<double> um_per_px_from_description(const std::string& d) {
  if (const auto tag = pixels_tag(d)) {
    const auto size = attribute(*tag, "PhysicalSizeX");
    if (!size) return std::nullopt;
    const auto unit = unit_in_um(attribute(*tag, "PhysicalSizeXUnit").value_or("\xC2\xB5m"));
    const auto v = positive(*size);
    if (!v || !unit) return std::nullopt;
    return *v * *unit;
  }
  // Aperio (SVS): "Aperio Image Library ... |MPP = 0.2520|...".
  if (d.compare(0, 6, "Aperio") != 0) return std::nullopt;
  static const std::regex mpp("\\|\\s*MPP\\s*=\\s*([0-9.eE+-]+)");
  std::smatch m;
  const std::string head = d.substr(0, 4096);
  if (std::regex_search(head, m, mpp)) return positive(m[1].str());
  return std::nullopt;
}

std::optional<double> um_per_px_from_resolution(double x_resolution, uint16_t unit) {
  if (!(x_resolution > 0) || !std::isfinite(x_resolution)) return std::nullopt;
  double um_per_unit = 0;
  if (unit == 2) um_per_unit = 25400.0;  // RESUNIT_INCH
  else if (unit == 3) um_per_unit = 10000.0;  // RESUNIT_CENTIMETER
  else return std::nullopt;
  const double um = um_per_unit / x_resolution;
  if (um > kMaxResolutionTagUm) return std::nullopt;
  // XResolution is a rational that writers fill from a float: keep the 6 digits it carries, so a
  // pixel size written as 1e4 / 3 per cm reads back as 3, not 3.0000001.
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", um);
  return std::strtod(buf, nullptr);
}

}  // namespace cytocon::data

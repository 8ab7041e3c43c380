// libFuzzer harness for cytocon-train's configuration: the first byte picks the entry point (even:
// a TOML file; odd: one `--set table.key=value` per line), then the result is resolved, written
// as config.toml and read back. Any text must load or give a cytocon error naming the key or line;
// what loads must resolve to values inside their documented ranges and read back unchanged.
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <sstream>
#include <string>

#include "config/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cytocon::config;
  if (size == 0) return 0;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  Config cfg;
  try {
    if (data[0] % 2 == 0) {
      load_text(cfg, text, "fuzz.toml");
    } else {
      std::istringstream lines(text);
      for (std::string line; std::getline(lines, line);) apply_override(cfg, parse_override(line));
    }
    resolve(cfg);
  } catch (const std::exception&) {
    return 0;
  }
  // A resolved config is written and read back bit for bit (config.toml of a run directory).
  const std::string toml = to_toml(cfg);
  Config back;
  load_text(back, toml, "config.toml");  // an error here is a bug: let it escape
  resolve(back);
  if (to_toml(back) != toml) std::abort();
  return 0;
}

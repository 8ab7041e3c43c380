// libFuzzer harness for the dataset's manifest.csv (data/dataset.cpp): the input is written as
// manifest.csv beside a fixed labels.txt and opened as a dataset. Any text must open or give a
// cytocon error naming the file (and line), never crash or hang; the image and annotation paths it
// names do not exist, so a well-formed manifest ends in a "not found" error.
#include <unistd.h>

#include <cstdint>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>

#include "data/dataset.h"

namespace {
std::string dir() {
  static const std::string d = [] {
    const std::string p = std::filesystem::temp_directory_path().string() + "/fuzz_manifest_" + std::to_string(getpid());
    std::filesystem::create_directories(p);
    std::ofstream(p + "/labels.txt") << "hOc1\nhOc2\nFG1\n";
    return p;
  }();
  return d;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cytocon::data;
  {
    std::ofstream f(dir() + "/manifest.csv", std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  try {
    DatasetOptions o;
    o.quiet = true;
    Dataset::open(dir(), o);
  } catch (const std::exception&) {
  }
  return 0;
}

// The result file of one test training run: named float32 arrays (losses, parameters, BN
// statistics) in a fixed order. Format: per entry, u32 name length, name, u64 byte count, bytes.
#pragma once
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace cytocon::test {

struct RunFile {
  struct Entry {
    std::string name;
    std::vector<char> bytes;
  };
  std::vector<Entry> entries;

  void add(const std::string& name, const Tensor& t) {
    Entry e{name, std::vector<char>(t.nbytes())};
    copy_bytes(e.bytes.data(), Device::cpu, t.raw(), t.device(), t.nbytes());
    entries.push_back(std::move(e));
  }

  // Written to path.tmp, then renamed: a reader never sees half a file.
  void write(const std::string& path) const {
    std::string tmp = path + ".tmp";
    FILE* f = std::fopen(tmp.c_str(), "wb");
    check(f != nullptr, "cannot write " + tmp);
    for (const Entry& e : entries) {
      uint32_t len = static_cast<uint32_t>(e.name.size());
      uint64_t n = e.bytes.size();
      std::fwrite(&len, sizeof len, 1, f);
      std::fwrite(e.name.data(), 1, len, f);
      std::fwrite(&n, sizeof n, 1, f);
      std::fwrite(e.bytes.data(), 1, n, f);
    }
    check(std::fclose(f) == 0, "error writing " + tmp);
    check(std::rename(tmp.c_str(), path.c_str()) == 0, "cannot rename " + tmp + " to " + path);
  }

  static RunFile read(const std::string& path) {
    FILE* f = std::fopen(path.c_str(), "rb");
    check(f != nullptr, "cannot read " + path + " (did the training run that writes it pass?)");
    RunFile r;
    uint32_t len;
    while (std::fread(&len, sizeof len, 1, f) == 1) {
      Entry e;
      e.name.resize(len);
      uint64_t n = 0;
      bool ok = std::fread(e.name.data(), 1, len, f) == len && std::fread(&n, sizeof n, 1, f) == 1;
      e.bytes.resize(ok ? n : 0);
      ok = ok && std::fread(e.bytes.data(), 1, n, f) == n;
      if (!ok) std::fclose(f);
      check(ok, path + ": truncated entry '" + e.name + "'");
      r.entries.push_back(std::move(e));
    }
    std::fclose(f);
    return r;
  }
};

}  // namespace cytocon::test

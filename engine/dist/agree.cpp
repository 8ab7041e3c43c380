#include "engine/dist/agree.h"

#include <algorithm>
#include <cstdint>
#include <sstream>
#include <vector>

#include "engine/io/atomic_file.h"
#include "engine/tensor.h"

namespace cytocon::dist {

namespace {

// "table.key = value" for each line of a TOML-like text (comments and blank lines skipped).
std::vector<std::string> keyed_lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string table, line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    if (line[0] == '[') {
      table = line.substr(1, line.find(']') - 1);
      continue;
    }
    out.push_back(table.empty() ? line : table + "." + line);
  }
  return out;
}

}  // namespace

void agree_across_ranks(Comm& comm, const std::string& text, const std::string& what) {
  const int n = comm.size(), me = comm.rank();
  if (n == 1) return;
  const uint64_t mine = io::fnv1a64(text.data(), text.size());
  std::vector<uint64_t> all(static_cast<size_t>(n));
  comm.all_gather(&mine, all.data(), sizeof mine, Device::cpu);
  std::string others;
  for (int r = 1; r < n; ++r)
    if (all[static_cast<size_t>(r)] != all[0]) others += (others.empty() ? "" : ", ") + std::to_string(r);
  if (others.empty()) return;

  // They differ: rank 0's text goes to everyone, each differing rank finds its first difference,
  // and the first differing rank's goes to everyone, so that every rank's message names the key
  // (whichever rank's message the launcher shows before it ends the job).
  uint64_t len = text.size();
  comm.broadcast(&len, sizeof len, 0, Device::cpu);
  std::string root(static_cast<size_t>(len), '\0');
  if (me == 0) root = text;
  comm.broadcast(&root[0], root.size(), 0, Device::cpu);
  const std::vector<std::string> a = keyed_lines(text), b = keyed_lines(root);
  std::string here = "(nothing)", there = "(nothing)";
  for (size_t i = 0; i < std::max(a.size(), b.size()); ++i) {
    if (i < a.size() && i < b.size() && a[i] == b[i]) continue;
    if (i < a.size()) here = a[i];
    if (i < b.size()) there = b[i];
    break;
  }
  const int first = std::stoi(others.substr(0, others.find(',')));
  std::string detail = "rank " + std::to_string(first) + " has " + here + ", rank 0 " + there;
  len = detail.size();
  comm.broadcast(&len, sizeof len, first, Device::cpu);
  detail.resize(static_cast<size_t>(len));
  comm.broadcast(&detail[0], detail.size(), first, Device::cpu);
  if (all[static_cast<size_t>(me)] == all[0])
    fail("rank " + std::to_string(me) + ": rank(s) " + others + " run a different " + what + " than rank 0 (" + detail +
         "); every rank must be started with the same files and flags");
  fail("rank " + std::to_string(me) + "'s " + what + " differs from rank 0's: " + here + " here, " + there +
       " on rank 0; every rank must be started with the same files and flags");
}

}  // namespace cytocon::dist

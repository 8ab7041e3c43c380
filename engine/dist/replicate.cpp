#include "engine/dist/replicate.h"

namespace cytocon::dist {

void broadcast_tensors(Comm& comm, const std::vector<Tensor>& tensors, int root) {
  for (const Tensor& t : tensors) {
    check(t.defined(), "broadcast_tensors: undefined tensor");
    comm.broadcast(const_cast<Tensor&>(t).raw(), t.nbytes(), root, t.device());
  }
}

uint64_t fingerprint(const std::vector<Tensor>& tensors) {
  uint64_t h = 1469598103934665603ull;
  for (const Tensor& t : tensors) {
    std::vector<unsigned char> bytes(t.nbytes());
    copy_bytes(bytes.data(), Device::cpu, t.raw(), t.device(), bytes.size());
    for (unsigned char b : bytes) h = (h ^ b) * 1099511628211ull;
  }
  return h;
}

void check_replicated(Comm& comm, const std::vector<Tensor>& tensors, const std::string& what) {
  uint64_t mine = fingerprint(tensors);
  std::vector<uint64_t> all(comm.size());
  comm.all_gather(&mine, all.data(), sizeof mine, Device::cpu);
  for (int r = 1; r < comm.size(); ++r)
    check(all[r] == all[0], what + " differ between rank 0 and rank " + std::to_string(r) +
                                " (data-parallel replicas must stay bit-identical)");
}

}  // namespace cytocon::dist

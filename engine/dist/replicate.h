// Keeping the model replicated in data-parallel training. Rank 0's parameters and running
// statistics are broadcast once at the start; after that every rank applies the same optimiser
// step to the same global gradients (engine/backend.h: gradients are global after backward), so
// the replicas stay bit-identical without further communication. check_replicated verifies it.
#pragma once
#include <string>
#include <vector>

#include "engine/shards.h"
#include "engine/tensor.h"

namespace cytocon::dist {

// Overwrite every tensor with root's copy (in place, on the tensor's device).
void broadcast_tensors(Comm& comm, const std::vector<Tensor>& tensors, int root = 0);

// A 64-bit FNV-1a hash of the tensors' bytes, in order.
uint64_t fingerprint(const std::vector<Tensor>& tensors);

// Fails on every rank, naming the first rank whose tensors differ from rank 0's, unless all
// ranks hold bit-identical tensors. `what` names them in the message ("parameters").
void check_replicated(Comm& comm, const std::vector<Tensor>& tensors, const std::string& what);

}  // namespace cytocon::dist

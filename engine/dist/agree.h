// Ranks agree or stop (issue 17, item 5; docs/distributed.md): every rank checks at start that it
// runs the same configuration as rank 0.
#pragma once
#include <string>

#include "engine/shards.h"

namespace cytocon::dist {

// `text` is this rank's description ("key = value" lines under "[table]" headers, e.g. a resolved
// config.toml). Every rank compares a hash of it with the others'; when they differ, every rank
// fails with the first line that differs from rank 0's, named by its key:
//   "rank 1's configuration differs from rank 0's: train.lr = 0.2 here, train.lr = 0.1 on rank 0"
// (ranks that agree with rank 0 fail naming the ranks that do not). One process: nothing to do.
void agree_across_ranks(Comm& comm, const std::string& text, const std::string& what);

}  // namespace cytocon::dist

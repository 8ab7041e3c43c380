#include "engine/dist/gather.h"

#include <vector>

#include "engine/tape.h"

namespace cytocon::dist {

// Every rank must contribute the same shape: gather (ndim, dims, dtype) and compare, so a
// mismatch is a clear error instead of a short or overlong MPI receive.
static void check_same_shape(Comm& c, const Tensor& local) {
  constexpr int kWords = 6;
  int64_t mine[kWords] = {local.ndim(), 0, 0, 0, 0, static_cast<int64_t>(local.dtype())};
  for (int i = 0; i < local.ndim(); ++i) mine[1 + i] = local.dim(i);
  std::vector<int64_t> all(kWords * c.size());
  c.all_gather(mine, all.data(), sizeof mine, Device::cpu);
  for (int r = 0; r < c.size(); ++r) {
    bool same = true;
    for (int k = 0; k < kWords; ++k) same = same && all[r * kWords + k] == mine[k];
    check(same, "all_gather_rows: rank " + std::to_string(c.rank()) + " holds " + shape_str(local.shape()) + " " +
                    dtype_name(local.dtype()) + " but rank " + std::to_string(r) +
                    " holds a different shape or dtype: every rank must pass its equal share of the global batch");
  }
}

Tensor all_gather_rows(const Tensor& local, const Shards& sh) {
  check(local.defined() && local.ndim() >= 1, "all_gather_rows: expected a tensor of rows [n, ...]");
  Comm& c = sh.communicator();
  check(c.size() * sh.count == sh.total,
        "all_gather_rows: the shards (" + std::to_string(sh.count) + " of " + std::to_string(sh.total) +
            ") do not match the communicator's " + std::to_string(c.size()) + " ranks");
  const int64_t n = local.dim(0);
  sh.shard_size(n);  // n must cut into this rank's micro-shards
  check_same_shape(c, local);

  Shape global_shape = local.shape();
  global_shape[0] = n * c.size();
  Tensor global = Tensor::empty(global_shape, local.dtype(), local.device());
  c.all_gather(local.raw(), global.raw(), local.nbytes(), local.device());

  if (Tape::recording({&local})) {
    Tensor in = local;
    const size_t row_block = local.nbytes();
    const int rank = c.rank();
    Tape::current()->record({global}, [in, global, row_block, rank]() mutable {
      // dL/dz_local = rows [rank·n, (rank+1)·n) of dL/dZ (identical on every rank).
      const Tensor& g = global.grad();
      Tensor mine = Tensor::empty(in.shape(), g.dtype(), g.device());
      copy_bytes(mine.raw(), g.device(), static_cast<const char*>(g.raw()) + rank * row_block, g.device(),
                 row_block);
      in.accumulate_grad(mine);
    });
  }
  return global;
}

}  // namespace cytocon::dist

// Process start-up for data-parallel runs (issue 4, docs/distributed.md).
//
//   int main(int argc, char** argv) {
//     return cytocon::dist::run(argc, argv, [&](cytocon::dist::Context& ctx) {
//       Shards sh = ctx.shards(cfg.micro_shards);   // this rank's block of the global batch
//       ... train with ctx.comm() ...
//       return 0;
//     });
//   }
//
// Launch: under mpiexec (MPICH's Hydra, Open MPI) or srun (PMI-2/PMIx) rank and size come from
// MPI; with no launcher the program runs as one plain process and never touches MPI. The
// node-local rank (MPI_Comm_split_type SHARED; SLURM_LOCALID etc. when MPI is not used) picks
// the GPU: device local_rank mod visible devices.
//
// Failure: with more than one rank, an exception, a fatal signal, std::exit, or a collective
// waiting longer than the collective timeout on any rank ends every rank: the failing rank prints
// "cytocon: rank r of R (host): error: <message>" and calls MPI_Abort. A non-zero return from
// run()'s body is an orderly exit with that status when all ranks return (within 10 s), and ends
// the job like an error when only some do.
#pragma once
#include <functional>
#include <memory>
#include <string>

#include "engine/shards.h"

namespace cytocon::dist {

struct Options {
  // Longest a collective may wait for the other ranks, in seconds; <= 0 disables the watchdog.
  // Default: $CYTOCON_COLLECTIVE_TIMEOUT, else 600.
  double collective_timeout_s = -1;
  // Select this rank's GPU (local_rank mod device count) and, where NCCL is built in, use it for
  // device buffers. Needs a CUDA build.
  bool gpu = false;
};

class Context {
 public:
  Context(Context&&) noexcept;
  Context& operator=(Context&&) noexcept;
  ~Context();  // finalize()

  int rank() const;
  int size() const;
  int local_rank() const;  // rank among the processes on this node
  int local_size() const;
  bool launched() const;   // true under mpiexec/srun (MPI initialised), false for a plain process
  int gpu() const;         // the CUDA device selected for this rank, or -1
  const char* backend_name() const;  // "single", "mpi" or "mpi+nccl"
  // Collectives over all ranks: MPI for host buffers, NCCL for device buffers when built in.
  Comm& comm() const;
  // The MPI communicator alone (device buffers staged through the host), or the single process.
  Comm& host_comm() const;

  // This rank's block of `total` micro-shards (engine/shards.h), with comm() attached.
  Shards shards(int total, ReduceMode mode = ReduceMode::deterministic) const;

  // Checkpoints: rank 0 writes, every other rank waits until the file is complete.
  bool is_writer() const { return rank() == 0; }
  // Runs `write` on rank 0 only (use an atomic writer: temporary file + rename), then a barrier.
  // If `write` throws, the whole job ends with its message.
  void write_once(const std::function<void()>& write) const;
  void barrier() const;
  [[noreturn]] void abort(const std::string& message) const;

  // Barrier (bounded by the watchdog), then MPI_Finalize. Idempotent.
  void finalize();
  // True when every rank calls this within min(10 s, collective timeout): a coordinated exit
  // (e.g. all ranks stop on the same signal or NaN loss) rather than one rank leaving early.
  bool all_ranks_return() const;

  struct State;

 private:
  friend Context init(int& argc, char**& argv, const Options& options);
  explicit Context(std::unique_ptr<State> s);
  std::unique_ptr<State> s_;
};

// Once per process. Reads $CYTOCON_DIST: "single" forces a plain process, "mpi" forces
// MPI_Init (e.g. under a launcher this code does not recognise).
Context init(int& argc, char**& argv, const Options& options = {});

// init, then body(ctx) with the failure rules above; returns body's status. A single process
// reports an exception as "cytocon: error: <message>" and returns 1.
int run(int argc, char** argv, const std::function<int(Context&)>& body, const Options& options = {});

// True when the environment shows an MPI or Slurm launcher started this process.
bool launched_by_mpi_launcher();

}  // namespace cytocon::dist

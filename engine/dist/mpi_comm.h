// MpiComm: the Comm of engine/shards.h over an MPI communicator (MPI standard only: MPICH and
// Open MPI both work). Host buffers go straight to MPI; device buffers are staged through host
// memory (NcclComm, engine/dist/nccl_comm.h, exchanges them on the GPU instead).
//
// Failure handling: the communicator uses MPI_ERRORS_RETURN and every call's status is checked;
// an error, or a collective that waits longer than the collective timeout (Watchdog), ends the
// whole job with MPI_Abort after printing "cytocon: rank r of R: error: <message>".
#pragma once
#include <mpi.h>

#include <memory>
#include <string>

#include "engine/dist/watchdog.h"
#include "engine/shards.h"

namespace cytocon::dist {

class MpiComm final : public Comm {
 public:
  // Uses `comm` (not owned, not freed); timeout_s <= 0 disables the watchdog.
  MpiComm(MPI_Comm comm, double timeout_s);
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  void all_gather(const void* send, void* recv, size_t bytes, Device dev) override;
  void all_reduce_sum(float* data, size_t count, Device dev) override;
  void broadcast(void* data, size_t bytes, int root, Device dev) override;
  void all_to_all(const void* send, void* recv, size_t bytes, Device dev) override;
  void barrier() override;
  [[noreturn]] void abort(const std::string& message) override;

  MPI_Comm handle() const { return comm_; }
  Watchdog& watchdog() { return *watchdog_; }
  // Abort when an MPI call returned an error: names the call and MPI's description.
  void check_mpi(int status, const char* call);

 private:
  MPI_Comm comm_;
  int rank_ = 0, size_ = 1;
  std::unique_ptr<Watchdog> watchdog_;
};

// "cytocon: rank r of R (host): error: message" on stderr, then MPI_Abort(MPI_COMM_WORLD, 1).
// Safe to call from any thread; the first caller wins, later ones only wait for the end.
[[noreturn]] void abort_job(const std::string& message);

// True once abort_job has started: the process is ending, and exit() or a signal from now on is
// part of that end, not a new failure to report.
bool abort_in_progress();

}  // namespace cytocon::dist

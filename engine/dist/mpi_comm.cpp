#include "engine/dist/mpi_comm.h"

#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <climits>
#include <cstdio>
#include <thread>
#include <vector>

namespace cytocon::dist {

namespace {
std::atomic<bool> g_aborting{false};

// Waits, at most `seconds`, until whoever reads this process's stderr pipe has taken all that was
// written to it (FIONREAD on a pipe counts the bytes still in it, from either end). False when
// stderr is not a pipe or the reader did not drain it in time.
bool stderr_drained(double seconds) {
  struct stat st;
  if (fstat(STDERR_FILENO, &st) != 0 || !S_ISFIFO(st.st_mode)) return false;
  auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  for (;;) {
    int unread = 0;
    if (ioctl(STDERR_FILENO, FIONREAD, &unread) != 0) return false;
    if (unread == 0) return true;
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}
}  // namespace

bool abort_in_progress() { return g_aborting.load(); }

[[noreturn]] void abort_job(const std::string& message) {
  if (g_aborting.exchange(true)) {
    // Another thread is already ending the job: wait for MPI_Abort to take this process down.
    for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  int rank = 0, size = 1, up = 0;
  MPI_Initialized(&up);
  if (up) {
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
  }
  char host[256] = "?";
  gethostname(host, sizeof host - 1);
  std::fprintf(stderr, "cytocon: rank %d of %d (%s): error: %s\n", rank, size, host, message.c_str());
  std::fflush(stderr);
  // On MPI_Abort, MPICH's mpiexec (hydra) kills its proxies and exits at once: output a proxy has
  // not read from this rank's stderr pipe by then is lost (how CI most likely lost it once).
  // A proxy forwards what it reads before it handles the abort that follows, so wait until the
  // pipe is empty; half a second of grace where stderr is something else or nobody drains it.
  if (!stderr_drained(5.0)) std::this_thread::sleep_for(std::chrono::milliseconds(500));
  // MPICH's MPI_Abort tells the launcher and then calls exit(1), which runs the atexit check of
  // context.cpp: abort_in_progress() makes it end the process (a single rank has no other process
  // whose death would make the launcher kill this one).
  if (up) MPI_Abort(MPI_COMM_WORLD, 1);
  _exit(1);
}

MpiComm::MpiComm(MPI_Comm comm, double timeout_s) : comm_(comm) {
  check_mpi(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
  check_mpi(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank");
  check_mpi(MPI_Comm_size(comm_, &size_), "MPI_Comm_size");
  watchdog_ = std::make_unique<Watchdog>(timeout_s, [](const std::string& m) { abort_job(m); });
}

void MpiComm::check_mpi(int status, const char* call) {
  if (status == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(status, text, &len);
  abort(std::string(call) + " failed: " + std::string(text, len));
}

void MpiComm::abort(const std::string& message) { abort_job(message); }

static int int_count(size_t n, const char* what) {
  check(n <= static_cast<size_t>(INT_MAX),
        std::string(what) + ": " + std::to_string(n) + " elements exceed MPI's int count limit");
  return static_cast<int>(n);
}

void MpiComm::all_gather(const void* send, void* recv, size_t bytes, Device dev) {
  if (dev != Device::cpu) {  // stage device buffers through the host
    std::vector<char> s(bytes), r(bytes * size_);
    copy_bytes(s.data(), Device::cpu, send, dev, bytes);
    all_gather(s.data(), r.data(), bytes, Device::cpu);
    copy_bytes(recv, dev, r.data(), Device::cpu, r.size());
    return;
  }
  int n = int_count(bytes, "all_gather");
  Watchdog::Wait w(watchdog_.get(), "all_gather");
  const void* src = send == static_cast<char*>(recv) + bytes * rank_ ? MPI_IN_PLACE : send;
  check_mpi(MPI_Allgather(src, n, MPI_BYTE, recv, n, MPI_BYTE, comm_), "MPI_Allgather");
}

void MpiComm::all_reduce_sum(float* data, size_t count, Device dev) {
  if (dev != Device::cpu) {
    std::vector<float> h(count);
    copy_bytes(h.data(), Device::cpu, data, dev, count * sizeof(float));
    all_reduce_sum(h.data(), count, Device::cpu);
    copy_bytes(data, dev, h.data(), Device::cpu, count * sizeof(float));
    return;
  }
  int n = int_count(count, "all_reduce_sum");
  Watchdog::Wait w(watchdog_.get(), "all_reduce_sum");
  check_mpi(MPI_Allreduce(MPI_IN_PLACE, data, n, MPI_FLOAT, MPI_SUM, comm_), "MPI_Allreduce");
}

void MpiComm::broadcast(void* data, size_t bytes, int root, Device dev) {
  check(root >= 0 && root < size_, "broadcast: root " + std::to_string(root) + " is not a rank of " +
                                       std::to_string(size_));
  if (dev != Device::cpu) {
    std::vector<char> h(bytes);
    if (rank_ == root) copy_bytes(h.data(), Device::cpu, data, dev, bytes);
    broadcast(h.data(), bytes, root, Device::cpu);
    if (rank_ != root) copy_bytes(data, dev, h.data(), Device::cpu, bytes);
    return;
  }
  int n = int_count(bytes, "broadcast");
  Watchdog::Wait w(watchdog_.get(), "broadcast");
  check_mpi(MPI_Bcast(data, n, MPI_BYTE, root, comm_), "MPI_Bcast");
}

void MpiComm::all_to_all(const void* send, void* recv, size_t bytes, Device dev) {
  if (dev != Device::cpu) {
    std::vector<char> s(bytes * size_), r(bytes * size_);
    copy_bytes(s.data(), Device::cpu, send, dev, s.size());
    all_to_all(s.data(), r.data(), bytes, Device::cpu);
    copy_bytes(recv, dev, r.data(), Device::cpu, r.size());
    return;
  }
  int n = int_count(bytes, "all_to_all");
  Watchdog::Wait w(watchdog_.get(), "all_to_all");
  check_mpi(MPI_Alltoall(send, n, MPI_BYTE, recv, n, MPI_BYTE, comm_), "MPI_Alltoall");
}

void MpiComm::barrier() {
  Watchdog::Wait w(watchdog_.get(), "barrier");
  check_mpi(MPI_Barrier(comm_), "MPI_Barrier");
}

}  // namespace cytocon::dist

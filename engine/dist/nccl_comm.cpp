// NcclComm: device-buffer collectives on the GPU with NCCL; host buffers go to MPI.
// The NCCL unique id is made on rank 0 and broadcast over MPI. Every NCCL operation is enqueued
// on this communicator's stream and then polled: completion, an asynchronous NCCL error, or the
// collective timeout. On an NCCL error or timeout the NCCL communicator is aborted (ncclCommAbort,
// which releases the kernels blocked on peers) and the job ends through MPI_Abort with the message.
// A failed CUDA call throws (engine/cuda/check.h); dist::run ends the job with its message.
#include <cuda_runtime.h>
#include <nccl.h>

#include <chrono>
#include <string>
#include <thread>

#include "engine/cuda/check.h"
#include "engine/dist/gpu.h"
#include "engine/dist/mpi_comm.h"

namespace cytocon::dist {

namespace {

// ncclInProgress (non-blocking communicators) and ncclGetLastError appeared in NCCL 2.13/2.14.
#if NCCL_VERSION_CODE >= NCCL_VERSION(2, 14, 0)
bool pending(ncclResult_t r) { return r == ncclInProgress; }
std::string last_error(ncclComm_t c) { return std::string(" (") + ncclGetLastError(c) + ")"; }
#else
bool pending(ncclResult_t) { return false; }
std::string last_error(ncclComm_t) { return ""; }
#endif

class NcclComm final : public Comm {
 public:
  NcclComm(MpiComm& host, double timeout_s) : host_(host), timeout_s_(timeout_s) {
    ncclUniqueId id;
    if (host.rank() == 0) nccl_check(ncclGetUniqueId(&id), "ncclGetUniqueId");
    host.broadcast(&id, sizeof id, 0, Device::cpu);
    CYTOCON_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    // Init blocks until every rank joins: bounded by the MPI watchdog.
    Watchdog::Wait w(&host.watchdog(), "ncclCommInitRank");
    nccl_check(ncclCommInitRank(&comm_, host.size(), id, host.rank()), "ncclCommInitRank");
  }
  ~NcclComm() override {
    if (comm_) ncclCommDestroy(comm_);
    if (stream_) cudaStreamDestroy(stream_);
  }

  int rank() const override { return host_.rank(); }
  int size() const override { return host_.size(); }

  void all_gather(const void* send, void* recv, size_t bytes, Device dev) override {
    if (dev == Device::cpu) return host_.all_gather(send, recv, bytes, dev);
    ready();
    nccl_check(ncclAllGather(send, recv, bytes, ncclChar, comm_, stream_), "ncclAllGather");
    wait("ncclAllGather");
  }
  void all_reduce_sum(float* data, size_t count, Device dev) override {
    if (dev == Device::cpu) return host_.all_reduce_sum(data, count, dev);
    ready();
    nccl_check(ncclAllReduce(data, data, count, ncclFloat, ncclSum, comm_, stream_), "ncclAllReduce");
    wait("ncclAllReduce");
  }
  void broadcast(void* data, size_t bytes, int root, Device dev) override {
    if (dev == Device::cpu) return host_.broadcast(data, bytes, root, dev);
    ready();
    nccl_check(ncclBroadcast(data, data, bytes, ncclChar, root, comm_, stream_), "ncclBroadcast");
    wait("ncclBroadcast");
  }
  void all_to_all(const void* send, void* recv, size_t bytes, Device dev) override {
    if (dev == Device::cpu) return host_.all_to_all(send, recv, bytes, dev);
    ready();
    nccl_check(ncclGroupStart(), "ncclGroupStart");
    for (int r = 0; r < size(); ++r) {
      nccl_check(ncclSend(static_cast<const char*>(send) + r * bytes, bytes, ncclChar, r, comm_, stream_), "ncclSend");
      nccl_check(ncclRecv(static_cast<char*>(recv) + r * bytes, bytes, ncclChar, r, comm_, stream_), "ncclRecv");
    }
    nccl_check(ncclGroupEnd(), "ncclGroupEnd");
    wait("all_to_all (ncclSend/ncclRecv)");
  }
  void barrier() override { host_.barrier(); }
  [[noreturn]] void abort(const std::string& message) override {
    if (comm_) ncclCommAbort(comm_);
    comm_ = nullptr;
    host_.abort(message);
  }

 private:
  // The Comm API is synchronous: inputs were written by kernels on other streams, so wait for
  // the device before NCCL reads them.
  void ready() { CYTOCON_CUDA_CHECK(cudaDeviceSynchronize()); }

  // Poll until the collective completes; bounded by the collective timeout.
  void wait(const char* what) {
    auto start = std::chrono::steady_clock::now();
    for (;;) {
      cudaError_t e = cudaStreamQuery(stream_);
      if (e == cudaSuccess) return;
      if (e != cudaErrorNotReady) abort(std::string(what) + ": CUDA error " + cudaGetErrorString(e));
      ncclResult_t async = ncclSuccess;
      nccl_check(ncclCommGetAsyncError(comm_, &async), "ncclCommGetAsyncError");
      if (async != ncclSuccess && !pending(async))
        abort(std::string(what) + " failed: " + ncclGetErrorString(async) + last_error(comm_));
      double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (timeout_s_ > 0 && waited > timeout_s_)
        abort(std::string(what) + " waited " + std::to_string(waited) + " s, longer than the collective timeout: " +
              "another rank has probably failed or hung");
      std::this_thread::sleep_for(std::chrono::microseconds(20));
    }
  }

  void nccl_check(ncclResult_t r, const char* call) {
    if (r == ncclSuccess || pending(r)) return;
    abort(std::string(call) + " failed: " + ncclGetErrorString(r) + (comm_ ? last_error(comm_) : ""));
  }

  MpiComm& host_;
  double timeout_s_;
  ncclComm_t comm_ = nullptr;
  cudaStream_t stream_ = nullptr;
};

}  // namespace

std::unique_ptr<Comm> make_nccl_comm(MpiComm& host, double timeout_s) {
  return std::make_unique<NcclComm>(host, timeout_s);
}

}  // namespace cytocon::dist

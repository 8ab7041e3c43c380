// Emulated NCCL for the CPU emulator (docs/cuda-emulator.md): the calls engine/dist/nccl_comm.cpp
// makes, with the real <nccl.h> signatures, carried out by MPI on host memory ("device" buffers
// are host buffers under the emulator). Each communicator is a duplicate of MPI_COMM_WORLD, made
// collectively by ncclCommInitRank as NCCL's own initialisation is collective. Send/Recv inside
// ncclGroupStart/End are posted at once and completed by ncclGroupEnd, so the all-to-all pattern
// of nccl_comm.cpp cannot deadlock. Every call completes before it returns (the stream is done).
//
// Not emulated: NCCL's ring/tree summation order (MPI_Allreduce's is used: fast mode only, the
// deterministic mode never sums in a collective), asynchronous errors, non-blocking communicators.
#include <mpi.h>
#include <nccl.h>

#include <climits>
#include <cstring>
#include <string>
#include <vector>

struct ncclComm {
  MPI_Comm mpi = MPI_COMM_NULL;
  int rank = 0, size = 0;
  std::string last_error;
};

namespace {

int g_group_depth = 0;
std::vector<MPI_Request> g_pending;  // Send/Recv posted inside a group

ncclResult_t invalid(ncclComm_t c, const std::string& why) {
  if (c) c->last_error = why;
  return ncclInvalidArgument;
}

// NCCL counts elements of `t`; MPI wants an int count of an MPI type.
bool mpi_type(ncclDataType_t t, size_t count, MPI_Datatype* mt, int* n) {
  if (count > static_cast<size_t>(INT_MAX)) return false;
  *n = static_cast<int>(count);
  if (t == ncclChar) *mt = MPI_BYTE;
  else if (t == ncclFloat) *mt = MPI_FLOAT;
  else return false;
  return true;
}

size_t item_size(ncclDataType_t t) { return t == ncclFloat ? sizeof(float) : 1; }  // of mpi_type's two types

ncclResult_t finish(ncclComm_t c, int mpi_status, const char* what) {
  if (mpi_status == MPI_SUCCESS) return ncclSuccess;
  c->last_error = std::string(what) + " failed in MPI";
  return ncclSystemError;
}

ncclResult_t point_to_point(bool send, void* buf, size_t count, ncclDataType_t t, int peer, ncclComm_t c) {
  MPI_Datatype mt;
  int n = 0;
  if (!c || !mpi_type(t, count, &mt, &n)) return invalid(c, "unsupported data type or count");
  if (peer < 0 || peer >= c->size) return invalid(c, "peer " + std::to_string(peer) + " out of range");
  MPI_Request r;
  const int tag = 7;
  const int s = send ? MPI_Isend(buf, n, mt, peer, tag, c->mpi, &r) : MPI_Irecv(buf, n, mt, peer, tag, c->mpi, &r);
  if (s != MPI_SUCCESS) return finish(c, s, send ? "ncclSend" : "ncclRecv");
  if (g_group_depth > 0) {
    g_pending.push_back(r);
    return ncclSuccess;
  }
  return finish(c, MPI_Wait(&r, MPI_STATUS_IGNORE), send ? "ncclSend" : "ncclRecv");
}

}  // namespace

extern "C" {

const char* ncclGetErrorString(ncclResult_t r) {
  switch (r) {
    case ncclSuccess: return "no error";
    case ncclSystemError: return "unhandled system error (emulated NCCL: an MPI call failed)";
    case ncclInvalidArgument: return "invalid argument (emulated NCCL)";
    default: return "emulated NCCL error";
  }
}
const char* ncclGetLastError(ncclComm_t c) { return c ? c->last_error.c_str() : ""; }

ncclResult_t ncclGetUniqueId(ncclUniqueId* id) {
  std::memset(id, 0, sizeof *id);
  std::strncpy(id->internal, "cytocon emulated NCCL (MPI_COMM_WORLD)", sizeof id->internal - 1);
  return ncclSuccess;
}

ncclResult_t ncclCommInitRank(ncclComm_t* comm, int nranks, ncclUniqueId, int rank) {
  auto* c = new ncclComm;
  if (MPI_Comm_dup(MPI_COMM_WORLD, &c->mpi) != MPI_SUCCESS) {
    delete c;
    return ncclSystemError;
  }
  MPI_Comm_rank(c->mpi, &c->rank);
  MPI_Comm_size(c->mpi, &c->size);
  if (c->rank != rank || c->size != nranks) {
    MPI_Comm_free(&c->mpi);
    delete c;
    return ncclInvalidArgument;  // the emulator's communicators are the whole world, in its order
  }
  *comm = c;
  return ncclSuccess;
}

ncclResult_t ncclCommDestroy(ncclComm_t c) {
  if (!c) return ncclInvalidArgument;
  MPI_Comm_free(&c->mpi);
  delete c;
  return ncclSuccess;
}
// Abort must not wait for peers (they may be dead): the duplicate is left to MPI_Abort.
ncclResult_t ncclCommAbort(ncclComm_t c) {
  delete c;
  return ncclSuccess;
}
ncclResult_t ncclCommGetAsyncError(ncclComm_t c, ncclResult_t* e) {
  if (!c) return ncclInvalidArgument;
  *e = ncclSuccess;
  return ncclSuccess;
}

ncclResult_t ncclGroupStart() {
  ++g_group_depth;
  return ncclSuccess;
}
ncclResult_t ncclGroupEnd() {
  if (g_group_depth == 0) return ncclInvalidUsage;
  if (--g_group_depth > 0) return ncclSuccess;
  const int s = MPI_Waitall(static_cast<int>(g_pending.size()), g_pending.data(), MPI_STATUSES_IGNORE);
  g_pending.clear();
  return s == MPI_SUCCESS ? ncclSuccess : ncclSystemError;
}

ncclResult_t ncclSend(const void* buf, size_t count, ncclDataType_t t, int peer, ncclComm_t c, cudaStream_t) {
  return point_to_point(true, const_cast<void*>(buf), count, t, peer, c);
}
ncclResult_t ncclRecv(void* buf, size_t count, ncclDataType_t t, int peer, ncclComm_t c, cudaStream_t) {
  return point_to_point(false, buf, count, t, peer, c);
}

ncclResult_t ncclAllReduce(const void* send, void* recv, size_t count, ncclDataType_t t, ncclRedOp_t op, ncclComm_t c,
                           cudaStream_t) {
  MPI_Datatype mt;
  int n = 0;
  if (!c || op != ncclSum || !mpi_type(t, count, &mt, &n)) return invalid(c, "only float or char sums are emulated");
  const void* in = send == recv ? MPI_IN_PLACE : send;
  return finish(c, MPI_Allreduce(in, recv, n, mt, MPI_SUM, c->mpi), "ncclAllReduce");
}

ncclResult_t ncclAllGather(const void* send, void* recv, size_t count, ncclDataType_t t, ncclComm_t c, cudaStream_t) {
  MPI_Datatype mt;
  int n = 0;
  if (!c || !mpi_type(t, count, &mt, &n)) return invalid(c, "unsupported data type or count");
  const bool in_place = send == static_cast<const char*>(recv) + static_cast<size_t>(c->rank) * count * item_size(t);
  return finish(c, MPI_Allgather(in_place ? MPI_IN_PLACE : send, n, mt, recv, n, mt, c->mpi), "ncclAllGather");
}

ncclResult_t ncclBroadcast(const void* send, void* recv, size_t count, ncclDataType_t t, int root, ncclComm_t c,
                           cudaStream_t) {
  MPI_Datatype mt;
  int n = 0;
  if (!c || !mpi_type(t, count, &mt, &n)) return invalid(c, "unsupported data type or count");
  if (c->rank == root && send != recv) std::memmove(recv, send, count * item_size(t));
  return finish(c, MPI_Bcast(recv, n, mt, root, c->mpi), "ncclBroadcast");
}

}  // extern "C"

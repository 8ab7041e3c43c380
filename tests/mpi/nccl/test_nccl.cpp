// The NCCL communicator against the MPI one on device buffers (CUDA builds with NCCL; labels
// mpi and gpu; skipped without a GPU). Run with `mpiexec -n 1` (one GPU suffices: a one-rank
// NCCL communicator still runs every collective) or with one rank per GPU.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <vector>

#include "engine/backend.h"
#include "engine/dist/gather.h"
#include "engine/dist/gpu.h"
#include "engine/dist/mpi_comm.h"
#include "mpi/mpi_test.h"

using namespace cytocon;
using cytocon::test::ctx;

namespace {

// NcclComm and MpiComm (which stages device buffers through the host) for this job, or null.
std::unique_ptr<Comm> nccl_or_skip(dist::MpiComm*& mpi) {
  mpi = dynamic_cast<dist::MpiComm*>(&ctx().host_comm());
  if (!mpi || !cuda_available()) return nullptr;
  dist::select_gpu(ctx().local_rank());
  return dist::make_nccl_comm(*mpi, 60);
}

std::vector<float> host(const Tensor& t) { return t.to(Device::cpu).to_vector<float>(); }

}  // namespace

TEST(Nccl, CollectivesEqualMpiOnDeviceBuffers) {
  dist::MpiComm* mpi = nullptr;
  std::unique_ptr<Comm> nccl = nccl_or_skip(mpi);
  if (!nccl) GTEST_SKIP() << "needs an MPI launcher and a CUDA GPU";
  const int R = mpi->size();
  Tensor x = test::global_normal_rows<float>(61, mpi->rank() * 3, 3, {5}).to(Device::cuda);
  Tensor a = Tensor::empty({3 * R, 5}, DType::f32, Device::cuda), b = a.clone();
  nccl->all_gather(x.raw(), a.raw(), x.nbytes(), Device::cuda);
  mpi->all_gather(x.raw(), b.raw(), x.nbytes(), Device::cuda);
  EXPECT_EQ(host(a), host(b));

  Tensor s1 = x.clone(), s2 = x.clone();
  nccl->all_reduce_sum(s1.data<float>(), s1.numel(), Device::cuda);
  mpi->all_reduce_sum(s2.data<float>(), s2.numel(), Device::cuda);
  if (R <= 2) {  // at most one addition per element: no order to differ in
    EXPECT_EQ(host(s1), host(s2));
  }

  Tensor c1 = x.clone(), c2 = x.clone();
  nccl->broadcast(c1.raw(), c1.nbytes(), 0, Device::cuda);
  mpi->broadcast(c2.raw(), c2.nbytes(), 0, Device::cuda);
  EXPECT_EQ(host(c1), host(c2));

  Tensor send = test::global_normal_rows<float>(62 + mpi->rank(), 0, R, {4}).to(Device::cuda);
  Tensor t1 = Tensor::empty({R, 4}, DType::f32, Device::cuda), t2 = t1.clone();
  nccl->all_to_all(send.raw(), t1.raw(), 4 * sizeof(float), Device::cuda);
  mpi->all_to_all(send.raw(), t2.raw(), 4 * sizeof(float), Device::cuda);
  EXPECT_EQ(host(t1), host(t2));
}

TEST(Nccl, AllGatherRowsEqualsMpiPath) {
  dist::MpiComm* mpi = nullptr;
  std::unique_ptr<Comm> nccl = nccl_or_skip(mpi);
  if (!nccl) GTEST_SKIP() << "needs an MPI launcher and a CUDA GPU";
  Shards via_nccl = Shards::make(8, mpi->rank(), mpi->size(), nccl.get());
  Shards via_mpi = Shards::make(8, mpi->rank(), mpi->size(), mpi);
  const int64_t n = via_mpi.count * 2;
  Tensor z = test::global_normal_rows<float>(63, via_mpi.first * 2, n, {16}).to(Device::cuda);
  EXPECT_EQ(host(dist::all_gather_rows(z, via_nccl)), host(dist::all_gather_rows(z, via_mpi)));
}

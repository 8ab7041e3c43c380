// main() of the GoogleTest MPI suites: every rank runs every test (they call collectives in the
// same order). Rank 0 prints the usual report; other ranks print only their failures. The exit
// status is the same on all ranks: non-zero when any rank failed a test.
#include <gtest/gtest.h>

#include <cstdio>
#include <vector>

#include "engine/dist/context.h"
#include "mpi/mpi_test.h"

namespace cytocon::test {

namespace {
dist::Context* g_ctx = nullptr;

class FailurePrinter : public ::testing::EmptyTestEventListener {
 public:
  explicit FailurePrinter(int rank) : rank_(rank) {}
  void OnTestPartResult(const ::testing::TestPartResult& r) override {
    if (r.failed())
      std::fprintf(stderr, "[rank %d] %s:%d: failure\n%s\n", rank_, r.file_name() ? r.file_name() : "?",
                   r.line_number(), r.summary());
  }

 private:
  int rank_;
};
}  // namespace

dist::Context& ctx() { return *g_ctx; }

}  // namespace cytocon::test

int main(int argc, char** argv) {
  using namespace cytocon;
  ::testing::InitGoogleTest(&argc, argv);
  dist::Options opt;
  opt.collective_timeout_s = 60;  // a test that desynchronises the ranks fails within a minute
  dist::Context ctx = dist::init(argc, argv, opt);
  test::g_ctx = &ctx;
  if (ctx.rank() != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
    listeners.Append(new test::FailurePrinter(ctx.rank()));
  }
  int failed = RUN_ALL_TESTS() != 0;
  std::vector<int> all(ctx.size());
  ctx.comm().all_gather(&failed, all.data(), sizeof failed, Device::cpu);
  for (int f : all) failed |= f;
  ctx.finalize();
  return failed;
}

// Ranks agree or stop (issue 17, item 5): dist::agree_across_ranks on 1, 2 and 4 ranks (and as a
// plain process). Equal configurations pass; when one rank's differs, every rank fails, the rank
// that differs naming the key and both values, the others naming that rank, the key and both values.
#include <gtest/gtest.h>

#include <string>

#include "engine/dist/agree.h"
#include "mpi/mpi_test.h"

using namespace cytocon;
using cytocon::test::ctx;

namespace {

const char* kConfig = "# resolved\n[model]\npreset = \"tiny\"\n\n[train]\nepochs = 3\nlr = 0.1\n";

std::string error_of(const std::string& text) {
  try {
    dist::agree_across_ranks(ctx().host_comm(), text, "configuration");
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(Agree, EqualConfigurationsPass) { EXPECT_EQ(error_of(kConfig), ""); }

TEST(Agree, ADifferentKeyStopsEveryRankNamingIt) {
  const int me = ctx().rank(), n = ctx().size();
  std::string mine = kConfig;
  if (me == n - 1 && n > 1) mine.replace(mine.find("lr = 0.1"), 8, "lr = 0.2");
  const std::string e = error_of(mine);
  if (n == 1) {
    EXPECT_EQ(e, "");
  } else if (me == n - 1) {
    EXPECT_EQ(e, "rank " + std::to_string(me) +
                     "'s configuration differs from rank 0's: train.lr = 0.2 here, train.lr = 0.1 on rank 0; every "
                     "rank must be started with the same files and flags");
  } else {
    EXPECT_NE(e.find("rank(s) " + std::to_string(n - 1) + " run a different configuration than rank 0 (rank " +
                     std::to_string(n - 1) + " has train.lr = 0.2, rank 0 train.lr = 0.1)"),
              std::string::npos)
        << e;
  }
}

// GoogleTest main for tests run under mpiexec: every rank runs every test, rank 0 prints the
// usual report, other ranks print only their failed assertions (prefixed with the rank), and the
// exit code is the same on every rank, so a failure on any rank fails the ctest entry.

#include <cstdio>
#include <string>

#include <gtest/gtest.h>
#include <mpi.h>

#include "swarm/mpi/environment.hpp"

namespace {

class FailurePrinter : public ::testing::EmptyTestEventListener {
 public:
  explicit FailurePrinter(int rank) : rank_(rank) {}
  // The name is taken here: asking gtest for the current test inside OnTestPartResult would
  // take a lock gtest already holds there, and a failing test would hang instead of failing.
  void OnTestStart(const ::testing::TestInfo& test) override {
    name_ = std::string(test.test_suite_name()) + "." + test.name();
  }
  void OnTestPartResult(const ::testing::TestPartResult& result) override {
    if (!result.failed()) return;
    std::fprintf(stderr, "[rank %d] %s: %s:%d: %s\n", rank_, name_.c_str(),
                 result.file_name() ? result.file_name() : "?", result.line_number(),
                 result.summary());
  }

 private:
  int rank_;
  std::string name_;
};

}  // namespace

int main(int argc, char** argv) {
  swarm::mpi::Environment env(argc, argv);
  ::testing::InitGoogleTest(&argc, argv);

  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (rank != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
    listeners.Append(new FailurePrinter(rank));
  }
  const int local = RUN_ALL_TESTS();
  int global = 0;
  MPI_Allreduce(&local, &global, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  if (rank == 0 && global != 0 && local == 0) {
    std::fprintf(stderr, "[  FAILED  ] a test failed on another rank (see [rank N] lines)\n");
  }
  return global;
}

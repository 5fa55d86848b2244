#pragma once
// MPI test fixture: rank 0 runs aswarm-mock-agent (script mode, default answer
// "agent <k>: <prompt>", plus any rules given); every rank learns the hostfile path.

#include <mpi.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "mock_process.hpp"
#include "swarm/mpi/strings.hpp"
#include "swarm/mpi/swarm.hpp"

namespace swarm::mpi_test {

using swarm::mock::test::MockProcess;
using swarm::mock::test::TempDir;
using swarm::mpi::Communicator;
using swarm::mpi::Swarm;

/// What the mock's script answers agent `agent` (hostfile index) for `prompt`.
inline std::string who(std::size_t agent, const std::string& prompt) {
  return "agent " + std::to_string(agent) + ": " + prompt;
}

/// Rank 0 runs the mock; every rank learns its hostfile path. Script mode unless `extra_args`
/// choose a --mode themselves.
class MockSwarm {
 public:
  explicit MockSwarm(std::vector<std::string> extra_args = {}, const std::string& rules = "[]") {
    std::string path;
    if (world_.is_root()) {
      dir_ = std::make_unique<TempDir>();
      std::vector<std::string> args;
      if (std::find(extra_args.begin(), extra_args.end(), "--mode") == extra_args.end()) {
        const auto script = dir_->path() / "who.json";
        swarm::mock::test::write_file(
            script, R"({"rules": )" + rules + R"(, "default": "agent {agent}: {prompt}"})");
        args = {"--mode", "script", "--script", script.string()};
      }
      args.insert(args.end(), extra_args.begin(), extra_args.end());
      mock_ = std::make_unique<MockProcess>(args);
      path = mock_->hostfile().string();
    }
    swarm::mpi::broadcast_string(path, world_);
    hostfile_ = path;
  }
  /// What the tests' pools use: the mock's model and context known, no retries.
  static swarm::PoolOptions options() {
    swarm::PoolOptions o;
    o.model = "mock-model";
    o.model_max_context = 32768;
    o.retries = 0;
    return o;
  }
  Swarm swarm(swarm::Protocol protocol = swarm::Protocol::chat) const {
    swarm::PoolOptions o = options();
    o.protocol = protocol;
    return Swarm::from_hostfile(world_, hostfile_, o);
  }
  const std::string& hostfile() const { return hostfile_; }
  /// Root only: the mock process (its ports, its /metrics through url()).
  const MockProcess& process() const { return *mock_; }
  ~MockSwarm() {
    // Nobody may stop the mock while another rank still talks to it.
    MPI_Barrier(MPI_COMM_WORLD);
  }
  MockSwarm(const MockSwarm&) = delete;
  MockSwarm& operator=(const MockSwarm&) = delete;

 private:
  Communicator world_;
  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<MockProcess> mock_;
  std::string hostfile_;
};

}  // namespace swarm::mpi_test

#pragma once
// Shared helpers of the AgentPool tests: a running mock and its /metrics counters.

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "http_client.hpp"
#include "mock_process.hpp"
#include "swarm/pool.hpp"

namespace swarm::pool_test {

using mock::test::free_port;
using mock::test::RefusedPort;
using mock::test::MockProcess;
using mock::test::TempDir;
using mock::test::write_file;
using namespace std::chrono_literals;

/// Options for tests: fast backoff, a fixed jitter seed, nothing from the environment, and the
/// mock's model and context given so no /v1/models request is made (tests of discovery clear
/// them).
inline PoolOptions test_options() {
  PoolOptions o;
  o.model = "mock-model";
  o.model_max_context = 32768;
  o.seed = 7;
  o.backoff_base = Seconds(0.01);
  o.backoff_max = Seconds(0.05);
  o.timeout = Seconds(20);
  return o;
}

/// The mock's /metrics text (scraped through agent 0; it reports every port).
inline std::string metrics_of(const MockProcess& mock) {
  return mock::test::http_get(mock.url(0, "/metrics")).body;
}

/// Requests agent `agent` received on `route`.
inline double requests(const std::string& metrics, const MockProcess& mock, std::size_t agent,
                       const std::string& route) {
  return mock::test::metric(metrics, "aswarm_mock_requests_total{port=\"" +
                                         std::to_string(mock.port(agent)) + "\",route=\"" + route +
                                         "\"}");
}

/// Most completion requests agent `agent` held at once.
inline double max_in_flight(const std::string& metrics, const MockProcess& mock,
                            std::size_t agent) {
  return mock::test::metric(
      metrics, "aswarm_mock_in_flight_max{port=\"" + std::to_string(mock.port(agent)) + "\"}");
}

/// A script whose default answer names the agent, so tests see who answered what.
inline std::vector<std::string> script_mode(const TempDir& dir) {
  const auto path = dir.path() / "who.json";
  write_file(path, R"({"rules": [], "default": "agent {agent}: {prompt}"})");
  return {"--mode", "script", "--script", path.string()};
}

inline std::vector<std::string> concat(std::vector<std::string> a,
                                       const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

}  // namespace swarm::pool_test

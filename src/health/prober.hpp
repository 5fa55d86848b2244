#pragma once
// One round of health probes over many endpoints at once, through swarm::core's AgentPool::get
// (one multi handle: every probe of a round is in flight together, up to the cap).

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "swarm/endpoint.hpp"
#include "swarm/pool.hpp"

namespace swarm::health {

struct ProbeResult {
  bool healthy = false;
  bool timed_out = false;  ///< The probe hit its timeout (no answer in time).
  std::string detail;      ///< Why not: "HTTP 503: ...", "Couldn't connect to server: ...".
};

class Prober {
 public:
  /// `path` is probed with GET; `concurrency` caps the probes in flight.
  Prober(std::vector<Endpoint> endpoints, std::string path, std::size_t concurrency);
  ~Prober();
  Prober(const Prober&) = delete;
  Prober& operator=(const Prober&) = delete;
  Prober(Prober&&) = delete;
  Prober& operator=(Prober&&) = delete;

  /// Probes the endpoints at `indices` concurrently, each bounded by `timeout` (connect
  /// included), and returns when every probe has ended; result i belongs to indices[i].
  std::vector<ProbeResult> probe(const std::vector<std::size_t>& indices,
                                 std::chrono::duration<double> timeout);

 private:
  std::string path_;
  AgentPool pool_;
};

}  // namespace swarm::health

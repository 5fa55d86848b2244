#include <cstdio>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "drivers.hpp"
#include "swarm/aggregators.hpp"
#include "swarm/mpi/strings.hpp"

namespace swarm::cli {

void on_root_or_fail_everywhere(mpi::Communicator comm, const std::function<void()>& root_work) {
  std::string error;
  if (comm.is_root()) {
    try {
      root_work();
    } catch (const std::exception& e) {
      error = e.what();
      if (error.empty()) error = "unknown error";
    }
  }
  mpi::broadcast(error, comm);
  if (!error.empty()) throw UsageError(error);
}

void Aggregator::add(const Response& r) {
  if (!enabled()) return;
  Response slim;
  slim.success = r.success;
  slim.agent_index = r.agent_index;
  // failure-report needs errors only; the others need texts of successes only.
  if (kind_ == "failure-report") {
    slim.error = r.error;
  } else if (r.success) {
    slim.text = r.text;
  }
  kept_.push_back(std::move(slim));
}

void Aggregator::print() const {
  if (!enabled()) return;
  nlohmann::json out;
  if (kind_ == "majority") {
    out = to_json(majority_vote(kept_));
  } else if (kind_ == "concat") {
    out = {{"text", concat(kept_)}};
  } else if (kind_ == "statistics") {
    out = to_json(statistics(kept_));
  } else if (kind_ == "structured-merge") {
    out = to_json(structured_merge(kept_));
  } else {
    out = to_json(failure_report(kept_));
  }
  out = {{"aggregate", kind_}, {"result", std::move(out)}};
  const auto text = out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

}  // namespace swarm::cli

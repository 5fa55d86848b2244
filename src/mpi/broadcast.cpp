#include "swarm/mpi/broadcast.hpp"

#include <stdexcept>

#include "collectives.hpp"
#include "swarm/mpi/strings.hpp"
#include "swarm/mpi/swarm.hpp"
#include "swarm/template.hpp"

namespace swarm::mpi {

std::vector<Response> broadcast(Swarm& swarm, std::string_view prompt, CallOptions call) {
  std::string text(swarm.communicator().is_root() ? prompt : std::string_view{});
  {
    detail::MpiTimer t(swarm.mpi_stats());
    mpi::broadcast(text, swarm.communicator());
  }
  std::vector<Response> local;
  if (swarm.shard().count > 0) {
    local = swarm.local_pool().broadcast_prompt(text, call);
    for (auto& r : local) r.agent_index += swarm.shard().begin;
  }
  return detail::gather_responses(swarm, local);
}

BroadcastReduce broadcast_and_reduce(Swarm& swarm, std::string_view prompt,
                                     std::string_view reduce_prompt, std::size_t reducer_agent,
                                     CallOptions call) {
  if (swarm.size() == 0) throw std::logic_error("broadcast_and_reduce on an empty swarm");
  const int owner = swarm.owner_of(reducer_agent);  // validates the index on every rank
  BroadcastReduce out;
  out.responses = broadcast(swarm, prompt, call);

  std::string filled;
  if (swarm.communicator().is_root()) {
    std::string combined;
    for (const auto& r : out.responses) {
      if (!r.success) continue;
      if (!combined.empty()) combined += "\n---\n";
      combined += r.text;
    }
    filled = fill_template(reduce_prompt, {{"responses", combined}});
  }
  {
    detail::MpiTimer t(swarm.mpi_stats());
    mpi::broadcast(filled, swarm.communicator());
  }
  if (swarm.communicator().rank() == owner) {
    CallOptions reduce_call = call;
    reduce_call.aggregation = true;
    const auto local =
        static_cast<std::size_t>(static_cast<std::int64_t>(reducer_agent) - swarm.shard().begin);
    out.reduced = swarm.local_pool().post(local, filled, reduce_call);
    out.reduced.agent_index = static_cast<std::int64_t>(reducer_agent);
  }
  detail::broadcast_response(swarm, out.reduced, owner);
  return out;
}

}  // namespace swarm::mpi

#include "swarm/mpi/broadcast.hpp"

#include <stdexcept>

#include "collectives.hpp"
#include "local_runner.hpp"
#include "progress.hpp"
#include "swarm/mpi/swarm.hpp"
#include "swarm/template.hpp"
#include "transport.hpp"

namespace swarm::mpi {
std::vector<Response> broadcast(Swarm& swarm, std::string_view prompt, CallOptions call) {
  std::string text(swarm.communicator().is_root() ? prompt : std::string_view{});
  detail::broadcast_from_root(swarm, text);
  std::vector<Response> local;
  if (!swarm.local_agents().empty()) local = swarm.ask(swarm.local_agents(), text, call);
  auto gathered = detail::gather_responses(swarm, local);
  // Rank order is view order only for order-keeping views; agent_index is the view index.
  std::vector<Response> out(gathered.size());
  for (auto& r : gathered) out.at(static_cast<std::size_t>(r.agent_index)) = std::move(r);
  return out;
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
  detail::broadcast_from_root(swarm, filled);
  if (swarm.communicator().rank() == owner) {
    CallOptions reduce_call = call;
    reduce_call.aggregation = true;
    // Not Swarm::ask: with PoolOptions::failover a dead reducer's call moves to another
    // healthy agent of its rank, as any request that may fail over does.
    out.reduced = std::move(
        detail::run_local(swarm, {Work{reducer_agent, std::move(filled), {}}}, reduce_call)
            .front());
  }
  detail::broadcast_response(swarm, out.reduced, owner);
  return out;
}

}  // namespace swarm::mpi

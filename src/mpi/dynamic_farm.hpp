#pragma once
// Internal: the demand-driven farm under scatter_gather_dynamic, with one more mode for
// patterns whose answers must not travel to the root (tree-reduce's leaves are reduced on the
// rank that ran them, so the root never holds every leaf answer).

#include <cstdint>
#include <functional>

#include "swarm/mpi/scatter_gather.hpp"

namespace swarm::mpi::detail {

/// Receives, on the rank that ran it, the final answer to the prompt with sequence number
/// `seq` (its position in the stream the WindowSource produced: 0, 1, ...). Prompts whose
/// answer the root decided (the return budget used up, or every rank down past give_up_after)
/// are kept on the root.
using KeepFn = std::function<void(std::uint64_t seq, Response&& answer)>;

/// Collective. scatter_gather_dynamic (with its `answered`); with `keep` set, every answer goes
/// to `keep` on the rank that has it, the root's `done` gets empty Responses in its place (the
/// window still bounds the root's memory and paces the input) and neither `answered` nor
/// `on_answer` is called.
void run_dynamic(Swarm& swarm, const WindowSource& next, const WindowSink& done,
                 std::size_t window, CallOptions call, const WindowSink& answered,
                 const KeepFn& keep, const AnswerFn& on_answer = {});

}  // namespace swarm::mpi::detail

#pragma once
/// @file mpi/embed.hpp
/// Embeddings over the swarm: texts cut into /v1/embeddings list requests of at most
/// `batch_size` consecutive texts, handed out by the dynamic scatter-gather farm (whichever
/// agent has room, see scatter_gather_dynamic), one vector per text back on the root in input
/// order. Run it on the embedding agents' view (`swarm.by_tag("role", "embed")`).

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "swarm/mpi/scatter_gather.hpp"
#include "swarm/pool.hpp"

namespace swarm::mpi {

class Swarm;

/// How mpi::embed asks for embeddings.
struct EmbedOptions {
  std::size_t batch_size = 16;          ///< Texts per request (1..1024).
  std::size_t window = kDefaultWindow;  ///< Texts per window (memory bound on the root).
  std::string model;                    ///< The request's "model"; empty: the pool's.
  CallOptions call;                     ///< prompts_are_requests is set by embed itself.
};

/// Root: the next at most `max` texts; empty when there are none left.
using TextSource = std::function<std::vector<std::string>(std::size_t max)>;
/// Root: consecutive results, results[k] for the text with input index first + k. A failed
/// request fails each of its texts with its Response (vector empty); a reply without a vector
/// for a text fails that request's texts as `decode`.
using EmbeddingSink = std::function<void(std::uint64_t first, std::vector<Embedding>&& results)>;

/// Collective. Streams `next` through the swarm; `next` and `done` run on the root's helper
/// thread under scatter_gather_dynamic's rules (no MPI, no use of the swarm's pool, one at a
/// time, in order). Embedding::response carries who answered (agent_index in `swarm`),
/// latency, attempts and the request's usage; its body and text are empty. Throws
/// std::invalid_argument for a batch size outside 1..1024 and std::logic_error for an empty
/// swarm (on every rank).
void embed_windows(Swarm& swarm, const TextSource& next, const EmbeddingSink& done,
                   const EmbedOptions& options = {});

/// Collective. `texts` is significant on the root; there one Embedding per text, in order
/// (empty elsewhere).
std::vector<Embedding> embed(Swarm& swarm, std::span<const std::string> texts,
                             const EmbedOptions& options = {});

}  // namespace swarm::mpi

#pragma once
/// @file mpi/scatter_gather.hpp
/// Scatter-gather: prompt i goes to agent i mod N; results come back in input order on the root.
/// Per window: the root buckets the prompts by owning rank, MPI_Iscatterv sends each rank its
/// bucket, every rank runs its HTTP requests, and MPI_Igatherv brings the Responses back.
/// Windows overlap: a rank receives window w+1 while its requests of window w are in flight,
/// starts it as soon as they are all sent, and returns window w's answers while window w+1
/// runs, so a rank waits in MPI only when it has no request left to send. The first window is
/// an eighth of `window`, so the other ranks start while the root reads the rest.
/// Memory on every rank is bounded by the window, not by the input: a rank holds at most two
/// windows of prompts and their answers packed as they arrive (never a window of Response
/// objects); the root also holds the next window while `next` reads it and the gathered
/// answers of a finished window while `done` writes them.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "swarm/mpi/work.hpp"
#include "swarm/pool.hpp"
#include "swarm/response.hpp"

namespace swarm::mpi {

class Swarm;

/// Prompts per scatter/gather round.
inline constexpr std::size_t kDefaultWindow = 65536;

/// Root: the next window of at most `max` prompts; empty when the input is exhausted.
using WindowSource = std::function<std::vector<Work>(std::size_t max)>;
/// Root: a finished window; results[k] answers the prompt with input index indices[k].
using WindowSink =
    std::function<void(std::vector<std::uint64_t>&& indices, std::vector<Response>&& results)>;
/// Root: one final answer, as soon as it is known (scatter_gather_dynamic's `on_answer`).
using AnswerFn = std::function<void(const Response& answer)>;

/// Collective. Runs windows until the root's `next` returns none. `next` and `done` are called
/// on the root only, on a helper thread, while requests are in flight (so the other ranks never
/// wait in MPI for the root's file I/O): they must not call MPI nor use the swarm's pool, and
/// they run one at a time, windows in order. An exception from them is rethrown on the root,
/// with the other ranks left inside the collective: the job should then be aborted, as
/// aswarm-mpi does.
/// Response::agent_index is the agent's index in `swarm`. With `batch_size` > 1 each rank sends
/// each agent's prompts of a window in /v1/completions list requests of at most `batch_size`
/// (per-prompt max_tokens then give way to `call`). Throws std::logic_error (on every rank) for an
/// empty swarm.
void scatter_gather_windows(Swarm& swarm, const WindowSource& next, const WindowSink& done,
                            std::size_t window = kDefaultWindow, CallOptions call = {},
                            std::size_t batch_size = 1);

/// Collective. Demand-driven scatter-gather: the same contract as scatter_gather_windows (the
/// callbacks, input-order results, memory bounded by the window), but a prompt goes to whichever
/// agent has room: the root hands numbered prompts out in chunks to the ranks with free
/// capacity (an answer returned is a rank's credit for the next prompt; chunks shrink from a
/// share of the queue to one prompt near the end), and each rank gives each prompt to its agent
/// with the fewest requests in flight, within the pool's and per-agent caps. So slow agents and
/// slow ranks receive fewer prompts. Response::agent_index is the agent that answered. No
/// list requests (batch_size) in this mode; per-prompt max_tokens are kept.
///
/// `answered` (optional; root, on the same helper thread, under the same rules) receives copies
/// of the answers as they arrive, before their window is complete: a batch at most every
/// kAnsweredInterval, in arrival order, indices[k] answered by results[k]. It never sees an
/// answer whose window has already been passed to `done` (a complete window's answers go to
/// `done` only). The CLI journals them, so a kill loses about a second of finished answers, not
/// a window's.
///
/// `on_answer`, if set, is called on the root for every final answer as it reaches the root, from
/// the thread that called scatter_gather_dynamic (between MPI steps: it must be cheap and must
/// not call MPI): what a live progress display counts, with no extra MPI message.
void scatter_gather_dynamic(Swarm& swarm, const WindowSource& next, const WindowSink& done,
                            std::size_t window = kDefaultWindow, CallOptions call = {},
                            const WindowSink& answered = {}, const AnswerFn& on_answer = {});

/// How often scatter_gather_dynamic hands arrived answers to `answered`.
inline constexpr std::chrono::milliseconds kAnsweredInterval{1000};

/// How scatter_gather assigns prompts: `fixed` is the seed's prompt i -> agent i mod N (the CLI's
/// `--schedule static`), `dynamic` is scatter_gather_dynamic's.
enum class Schedule : std::uint8_t { fixed, dynamic };

/// Collective. `prompts` is significant on the root; results in input order on the root (empty
/// elsewhere).
std::vector<Response> scatter_gather(Swarm& swarm, std::span<const std::string> prompts,
                                     CallOptions call = {}, std::size_t window = kDefaultWindow,
                                     Schedule schedule = Schedule::fixed);

/// Collective. The root's `items` are put into `prompt_template` at `{item}`; then as
/// scatter_gather.
std::vector<Response> map_gather(Swarm& swarm, std::span<const std::string> items,
                                 std::string_view prompt_template, CallOptions call = {},
                                 std::size_t window = kDefaultWindow,
                                 Schedule schedule = Schedule::fixed);

}  // namespace swarm::mpi

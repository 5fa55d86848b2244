// --pattern broadcast: the same prompt to every agent; one output line per agent in agent order;
// with --reduce-prompt, agent 0 then answers the template with {responses} and the reduced
// answer is printed on stdout.

#include <chrono>
#include <cstdio>
#include <memory>

#include <fmt/format.h>

#include "drivers.hpp"
#include "open_swarm.hpp"
#include "io/exit_codes.hpp"
#include "io/output.hpp"
#include "io/output_lock.hpp"
#include "io/summary.hpp"
#include "swarm/mpi/broadcast.hpp"
#include "swarm/mpi/swarm.hpp"

namespace swarm::cli {

void validate_broadcast(const Options& o) {
  if (o.prompt.empty() && o.prompt_file.empty()) {
    throw CLI::ValidationError("--pattern broadcast needs --prompt or --prompt-file");
  }
  if (!o.input.empty()) throw CLI::ValidationError("--input applies to --pattern scatter-gather");
  if (o.resume) throw CLI::ValidationError("--resume applies to --pattern scatter-gather");
}

int run_broadcast(const Options& options, const PoolOptions& pool, mpi::Communicator comm) {
  std::string prompt;
  std::unique_ptr<OutputWriter> writer;
  std::unique_ptr<OutputLock> lock;  // one run per output file
  on_root_or_fail_everywhere(comm, [&] {
    prompt = prompt_text(options);
    lock = lock_output(options.output);
    writer = std::make_unique<OutputWriter>(options.output);
  });
  auto swarm = open_swarm(options, pool, comm);

  const auto started = std::chrono::steady_clock::now();
  std::vector<Response> responses;
  std::optional<Response> reduced;
  if (options.reduce_prompt.empty()) {
    responses = mpi::broadcast(swarm, prompt);
  } else {
    if (options.reducer_agent >= swarm.size()) {
      throw UsageError(fmt::format("--reducer-agent {}: the run has {} agents",
                                   options.reducer_agent, swarm.size()));
    }
    auto out =
        mpi::broadcast_and_reduce(swarm, prompt, options.reduce_prompt, options.reducer_agent);
    responses = std::move(out.responses);
    reduced = std::move(out.reduced);
  }
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  RunSummary summary;
  if (!comm.is_root()) {
    finish_run(summary, swarm, wall, options);
    return kExitOk;
  }

  Aggregator aggregate(options.aggregate);
  std::size_t failed = 0;
  for (std::size_t k = 0; k < responses.size(); ++k) {
    const std::string url = swarm.endpoint(k).url();
    failed += responses[k].success ? 0 : 1;
    summary.add(responses[k], url);
    aggregate.add(responses[k]);
    OutputLine line;
    line.index = k;
    line.agent = static_cast<std::int64_t>(k);
    line.endpoint = url;
    line.response = std::move(responses[k]);
    writer->write(line);
  }
  writer->close();
  summary.set_wall_time(std::chrono::steady_clock::now() - started);
  if (reduced) {
    summary.set_extra("reduce", {{"success", reduced->success},
                                 {"agent", reduced->agent_index},
                                 {"error", reduced->error}});
  }
  finish_run(summary, swarm, wall, options);
  aggregate.print();
  if (reduced) {
    if (reduced->success) {
      std::fwrite(reduced->text.data(), 1, reduced->text.size(), stdout);
      std::fputc('\n', stdout);
    } else {
      std::fprintf(stderr, "aswarm-mpi: reduce step failed: %s\n", reduced->error.c_str());
      failed += 1;
    }
  }
  return failed == 0 ? kExitOk : kExitSomeFailed;
}

}  // namespace swarm::cli

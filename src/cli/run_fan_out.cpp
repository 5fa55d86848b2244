// --pattern fan-out-fan-in: the seed's fan_out_fan_in. The first --workers agents (all by
// default) answer --prompt; agent 0 then answers --reduce-prompt with {responses} = their
// successful answers joined by "\n---\n". Its answer goes to stdout, or with --output FILE to one
// JSON line.

#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>

#include <nlohmann/json.hpp>

#include "drivers.hpp"
#include "io/exit_codes.hpp"
#include "io/input_error.hpp"
#include "io/output_lock.hpp"
#include "io/summary.hpp"
#include "open_swarm.hpp"
#include "swarm/mpi/pipeline.hpp"
#include "swarm/mpi/swarm.hpp"
#include "swarm/template.hpp"

namespace swarm::cli {

void validate_fan_out(const Options& o) {
  if (o.prompt.empty() && o.prompt_file.empty()) {
    throw CLI::ValidationError("--pattern fan-out-fan-in needs --prompt or --prompt-file");
  }
  if (o.reduce_prompt.empty()) {
    throw CLI::ValidationError(
        "--pattern fan-out-fan-in needs --reduce-prompt with {responses} (what agent 0 is asked)");
  }
  if (!o.input.empty() || !o.items.empty() || o.resume) {
    throw CLI::ValidationError(
        "--pattern fan-out-fan-in takes one --prompt: --input, --items and --resume do not apply");
  }
  if (!o.aggregate.empty()) {
    throw CLI::ValidationError(
        "--aggregate does not apply to --pattern fan-out-fan-in: agent 0 aggregates");
  }
}

int run_fan_out(const Options& options, const PoolOptions& pool, mpi::Communicator comm) {
  std::string prompt;
  std::unique_ptr<OutputLock> lock;
  std::unique_ptr<std::ofstream> file;
  on_root_or_fail_everywhere(comm, [&] {
    prompt = prompt_text(options);
    if (options.output != "-") {
      lock = lock_output(options.output);
      file = std::make_unique<std::ofstream>(options.output, std::ios::binary | std::ios::trunc);
      if (!*file) throw InputError(options.output, 0, "cannot open output file for writing");
    }
  });
  auto swarm = open_swarm(options, pool, comm);
  const auto started = std::chrono::steady_clock::now();
  const Response answer = mpi::fan_out_fan_in(swarm, prompt, options.reduce_prompt,
                                              options.workers);
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  RunSummary summary;
  if (comm.is_root()) {
    summary.add(answer, swarm.endpoint(0).url());
    summary.set_wall_time(std::chrono::steady_clock::now() - started);
    summary.set_extra("workers", std::min(options.workers.value_or(swarm.size()), swarm.size()));
  }
  finish_run(summary, swarm, wall, options);
  if (!comm.is_root()) return answer.success ? kExitOk : kExitSomeFailed;

  if (file) {
    *file << answer_json(answer, swarm.endpoint(0).url())
                 .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
          << '\n';
    file->close();
    if (!*file) throw std::runtime_error(options.output + ": write failed");
  } else if (answer.success) {
    std::fwrite(answer.text.data(), 1, answer.text.size(), stdout);
    std::fputc('\n', stdout);
  }
  if (!answer.success) {
    std::fprintf(stderr, "aswarm-mpi: fan-out-fan-in failed: %s\n", answer.error.c_str());
  }
  return answer.success ? kExitOk : kExitSomeFailed;
}

}  // namespace swarm::cli

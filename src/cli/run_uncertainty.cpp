// --pattern uncertainty (the seed's Lab 3): each question is asked --samples times of the chat
// agents (every agent without --embed-tag; sample j with "seed": --seed + j and the
// temperature of --temperature, 1 by default), the answers are embedded by the --embed-tag
// agents, clustered, and the question's line reports the answers, their clusters, the semantic
// entropy and the kernel language entropy (swarm::uq). Questions go in chunks of --window: per
// chunk one dynamic scatter-gather over the chat agents, then one mpi::embed_windows over the
// embedding agents, then the measures on the root; each chunk's lines are fsynced before the
// next starts. A failed sample (chat or embedding) is left out of the measures and listed under
// "failed_samples"; its question's line says "success": false, so --resume asks it again.

#include <chrono>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "agent_views.hpp"
#include "drivers.hpp"
#include "io/exit_codes.hpp"
#include "io/progress.hpp"
#include "io/record_hash.hpp"
#include "io/summary.hpp"
#include "jsonl_run.hpp"
#include "open_swarm.hpp"
#include "requests.hpp"
#include "swarm/mpi/embed.hpp"
#include "swarm/mpi/scatter_gather.hpp"
#include "swarm/mpi/strings.hpp"
#include "swarm/mpi/swarm.hpp"
#include "swarm/request.hpp"
#include "swarm/uq.hpp"

namespace swarm::cli {
namespace {

constexpr std::size_t kReadChunk = 4096;

struct Question {
  RecordIdentity record;
  std::string prompt;
  std::vector<Response> answers;  // one per sample, in sample order
  std::vector<std::vector<double>> vectors;  // one per sample; empty when it failed
  std::vector<std::string> embed_errors;     // one per sample; empty when embedded (or unasked)
};

// Root: up to `max` questions not done yet.
std::vector<Question> read_questions(JsonlRun& io, std::size_t max) {
  std::vector<Question> out;
  while (out.size() < max) {
    auto records = io.reader->next(std::min(max - out.size(), kReadChunk));
    if (records.empty()) break;
    for (auto& record : records) {
      if (io.resume && io.resume->done(record.index)) continue;
      const std::uint64_t hash = record_hash(record);
      std::string prompt = std::move(record.prompt);
      out.push_back({RecordIdentity::of(std::move(record), hash), std::move(prompt), {}, {}, {}});
    }
  }
  return out;
}

// Collective: the chunk's answers, asked of `chat` (root: in `questions`).
void sample_answers(mpi::Swarm& chat, std::vector<Question>& questions, const Options& o,
                    RunSummary& summary) {
  const std::size_t s = o.samples;
  for (Question& q : questions) q.answers.resize(s);  // every sample gets exactly one Response
  std::size_t made = 0;
  const mpi::WindowSource next = [&](std::size_t max) {
    std::vector<mpi::Work> work;
    for (; made < questions.size() * s && work.size() < max; ++made) {
      const Question& q = questions[made / s];
      const nlohmann::json params = {{"seed", o.seed + made % s},
                                     {"temperature", o.temperature.value_or(1.0)}};
      work.push_back({made, encode_request(PromptRequest{q.prompt, nullptr, params}), {}});
    }
    return work;
  };
  const mpi::WindowSink done = [&](std::vector<std::uint64_t>&& indices,
                                   std::vector<Response>&& results) {
    for (std::size_t k = 0; k < indices.size(); ++k) {
      Question& q = questions[indices[k] / s];
      const auto agent = results[k].agent_index;
      summary.add(results[k],
                  agent >= 0 ? chat.endpoint(static_cast<std::size_t>(agent)).url() : "");
      q.answers[indices[k] % s] = std::move(results[k]);
    }
  };
  CallOptions call;
  call.prompts_are_requests = true;
  mpi::scatter_gather_dynamic(chat, next, done, o.window, call);
}

// Collective: embeds every answered sample of the chunk with `embedders`.
void embed_answers(mpi::Swarm& embedders, std::vector<Question>& questions, const Options& o) {
  std::vector<std::pair<std::size_t, std::size_t>> where;  // (question, sample) per text
  for (std::size_t i = 0; i < questions.size(); ++i) {
    questions[i].vectors.resize(o.samples);
    questions[i].embed_errors.resize(o.samples);
    for (std::size_t j = 0; j < questions[i].answers.size(); ++j) {
      if (questions[i].answers[j].success) where.emplace_back(i, j);
    }
  }
  std::size_t pos = 0;
  const mpi::TextSource next = [&](std::size_t max) {
    std::vector<std::string> texts;
    for (; pos < where.size() && texts.size() < max; ++pos) {
      texts.push_back(questions[where[pos].first].answers[where[pos].second].text);
    }
    return texts;
  };
  const mpi::EmbeddingSink done = [&](std::uint64_t first, std::vector<Embedding>&& results) {
    for (std::size_t k = 0; k < results.size(); ++k) {
      const auto [i, j] = where[first + k];
      if (results[k].response.success) {
        questions[i].vectors[j] = std::move(results[k].vector);
      } else {
        questions[i].embed_errors[j] = "embedding: " + results[k].response.error;
      }
    }
  };
  mpi::EmbedOptions embed;
  embed.batch_size = o.batch_size;
  embed.window = o.window;
  embed.model = o.embed_model;
  mpi::embed_windows(embedders, next, done, embed);
}

// Root: the question's output line; `ok` says whether every sample made it.
nlohmann::json uncertainty_line(Question&& q, const Options& o, bool& ok) {
  nlohmann::json answers = nlohmann::json::array();
  nlohmann::json failed = nlohmann::json::array();
  uq::Matrix vectors;
  for (std::size_t j = 0; j < o.samples; ++j) {
    const Response& r = q.answers[j];
    std::string error = !r.success ? r.error : q.embed_errors[j];
    if (error.empty() && q.vectors[j].empty()) error = "embedding: no vector";
    if (!error.empty()) {
      failed.push_back({{"sample", j}, {"seed", o.seed + j}, {"error", std::move(error)}});
      continue;
    }
    answers.push_back(r.text);
    vectors.push_back(std::move(q.vectors[j]));
  }
  const auto labels = uq::cluster_embeddings(vectors, o.similarity_threshold);
  std::int64_t clusters = 0;
  for (const auto l : labels) clusters = std::max(clusters, l);
  const uq::Kernel kernel = o.kle_kernel == "rbf" ? uq::Kernel::rbf : uq::Kernel::cosine;
  ok = failed.empty();
  nlohmann::json line;
  line["index"] = q.record.index;
  if (!q.record.id.is_null()) line["id"] = q.record.id;
  line["success"] = ok;
  line["question"] = std::move(q.prompt);
  line["samples_requested"] = o.samples;
  line["samples"] = answers.size();
  line["answers"] = std::move(answers);
  line["clusters"] = labels;
  line["cluster_count"] = clusters;
  line["semantic_entropy"] = uq::entropy_of_labels(labels);
  line["kle"] = uq::kernel_language_entropy(vectors, kernel);
  line["failed_samples"] = std::move(failed);
  line["input_hash"] = format_record_hash(q.record.input_hash);
  return line;
}

}  // namespace

void validate_uncertainty(const Options& o) {
  if (o.input.empty()) {
    throw CLI::ValidationError("--pattern uncertainty needs --input FILE|- (one question a line)");
  }
  if (!o.prompt.empty() || !o.prompt_file.empty()) {
    throw CLI::ValidationError("--pattern uncertainty asks the input lines as written: drop "
                               "--prompt");
  }
}

int run_uncertainty(const Options& options, const PoolOptions& pool, mpi::Communicator comm) {
  JsonlRun io;
  on_root_or_fail_everywhere(comm, [&] {
    io = open_jsonl_run(options, options.input);
    check_text_items(*io.reader);
  });
  auto swarm = open_swarm(options, pool, comm);
  mpi::Swarm chat = chat_agents(swarm, options);
  mpi::Swarm embedders = embed_agents(swarm, options);

  const bool root = comm.is_root();
  const std::size_t total = root ? io.reader->count() : 0;
  const std::size_t skipped = io.resume ? io.resume->done_count() : 0;
  std::optional<Progress> progress;
  if (root) progress.emplace(total - skipped, *parse_progress_mode(options.progress), stderr,
                             Progress::Clock{}, progress_interval(options));
  RunSummary summary;
  std::size_t ok = 0;
  std::size_t failed = 0;
  const auto started = std::chrono::steady_clock::now();
  for (;;) {
    std::vector<Question> questions;
    std::string count;
    if (root) {
      questions = read_questions(io, options.window);
      count = std::to_string(questions.size());
    }
    mpi::broadcast_string(count, comm);  // every rank runs the same chunks
    if (count == "0") break;
    sample_answers(chat, questions, options, summary);
    embed_answers(embedders, questions, options);
    if (!root) continue;
    for (Question& q : questions) {
      bool all = false;
      io.writer->write(uncertainty_line(std::move(q), options, all));
      (all ? ok : failed) += 1;
    }
    io.writer->flush();
    progress->update(ok + failed, ok, failed);
  }
  const auto wall = std::chrono::steady_clock::now() - started;
  const double wall_seconds = std::chrono::duration<double>(wall).count();
  if (!root) {
    finish_run(summary, swarm, wall_seconds, options);
    return kExitOk;
  }
  close_jsonl_run(io, *progress, summary, options, total, skipped, wall);
  finish_run(summary, swarm, wall_seconds, options);
  return failed == 0 ? kExitOk : kExitSomeFailed;
}

}  // namespace swarm::cli

// embed_windows: texts -> list requests (one Work per batch of consecutive texts, sent as a
// caller-written Request) -> scatter_gather_dynamic -> the replies cut back into one vector per
// text. Both adapters run on the root's I/O thread, where the farm calls next and done in
// window order, so one FIFO of each window's batch sizes keeps texts and answers aligned.

#include "swarm/mpi/embed.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <deque>
#include <stdexcept>
#include <utility>

#include "swarm/protocol.hpp"
#include "swarm/request.hpp"

namespace swarm::mpi {
namespace {

constexpr std::size_t kMaxBatch = 1024;  // vLLM's and the engine's list limit

std::string batch_request(const std::vector<std::string>& texts, std::size_t begin,
                          std::size_t end, const std::string& model) {
  Request request{"/v1/embeddings", {{"input", nlohmann::json::array()}}};
  for (std::size_t i = begin; i < end; ++i) request.body["input"].push_back(texts[i]);
  if (!model.empty()) request.body["model"] = model;
  return encode_request(request);
}

struct WindowBatches {
  std::uint64_t first = 0;         // input index of the window's first text
  std::vector<std::size_t> sizes;     // texts per Work, in Work order
};

// One text's share of its request's answer.
Embedding share(const Response& batch, std::vector<double>&& vector) {
  Embedding e;
  e.response = batch;
  e.response.body.clear();
  e.response.text.clear();
  e.vector = std::move(vector);
  return e;
}

}  // namespace

void embed_windows(Swarm& swarm, const TextSource& next, const EmbeddingSink& done,
                   const EmbedOptions& options) {
  if (options.batch_size == 0 || options.batch_size > kMaxBatch) {
    throw std::invalid_argument(
        fmt::format("embed: batch_size {} is not in 1..{}", options.batch_size, kMaxBatch));
  }
  const std::size_t batch = options.batch_size;
  std::deque<WindowBatches> windows;
  std::uint64_t texts_read = 0;
  std::uint64_t works_made = 0;

  const WindowSource works = [&](std::size_t max_works) {
    const std::vector<std::string> texts = next(max_works * batch);
    std::vector<Work> out;
    if (texts.empty()) return out;
    WindowBatches w{texts_read, {}};
    for (std::size_t begin = 0; begin < texts.size(); begin += batch) {
      const std::size_t end = std::min(texts.size(), begin + batch);
      out.push_back(Work{works_made++, batch_request(texts, begin, end, options.model), {}});
      w.sizes.push_back(end - begin);
    }
    texts_read += texts.size();
    windows.push_back(std::move(w));
    return out;
  };
  const WindowSink sink = [&](std::vector<std::uint64_t>&&, std::vector<Response>&& replies) {
    WindowBatches w = std::move(windows.front());
    windows.pop_front();
    if (replies.size() != w.sizes.size()) {
      throw std::logic_error("embed: a window's answers do not match its requests");
    }
    std::vector<Embedding> results;
    for (std::size_t k = 0; k < replies.size(); ++k) {
      Response& r = replies[k];
      const std::size_t n = w.sizes[k];
      std::vector<std::vector<double>> vectors;
      if (r.success) {
        Usage usage;
        std::string error = protocol::decode_embeddings(r.body, n, vectors, usage);
        if (!error.empty()) {  // keep who answered, its latency and attempts
          r.success = false;
          r.error = std::move(error);
          r.kind = FailureKind::decode;
        }
      }
      for (std::size_t i = 0; i < n; ++i) {
        results.push_back(share(r, r.success ? std::move(vectors[i]) : std::vector<double>{}));
      }
    }
    done(w.first, std::move(results));
  };
  CallOptions call = options.call;
  call.prompts_are_requests = true;
  const std::size_t window_works = std::max<std::size_t>(1, options.window / batch);
  scatter_gather_dynamic(swarm, works, sink, window_works, call);
}

std::vector<Embedding> embed(Swarm& swarm, std::span<const std::string> texts,
                             const EmbedOptions& options) {
  std::vector<Embedding> out;
  std::size_t pos = 0;
  const TextSource next = [&](std::size_t max) {
    const std::size_t n = std::min(max, texts.size() - pos);
    std::vector<std::string> chunk(texts.begin() + static_cast<std::ptrdiff_t>(pos),
                                   texts.begin() + static_cast<std::ptrdiff_t>(pos + n));
    pos += n;
    return chunk;
  };
  const EmbeddingSink done = [&](std::uint64_t, std::vector<Embedding>&& results) {
    for (Embedding& e : results) out.push_back(std::move(e));
  };
  embed_windows(swarm, next, done, options);
  return out;
}

}  // namespace swarm::mpi

// AgentPool's list-request calls: send_all_batched (/v1/completions with a list of prompts) and
// embed_all (/v1/embeddings). Both deal input i to agent i mod size(), like send_all, then cut
// each agent's share into requests of at most `batch_size` items and restore input order.

#include <stdexcept>

#include "pool_shared.hpp"

namespace swarm {
namespace {

void check_batch_size(std::size_t batch_size) {
  if (batch_size == 0 || batch_size > protocol::kMaxBatch) {
    throw std::invalid_argument(
        fmt::format("batch_size must be 1 to {}, not {}", protocol::kMaxBatch, batch_size));
  }
}

/// Calls `send(agent, indices)` for each chunk of at most `batch_size` input indices of each
/// agent (input i belongs to agent i mod agents).
template <typename Send>
void for_each_chunk(std::size_t inputs, std::size_t agents, std::size_t batch_size, Send&& send) {
  for (std::size_t agent = 0; agent < agents && agent < inputs; ++agent) {
    std::vector<std::size_t> chunk;
    for (std::size_t i = agent; i < inputs; i += agents) {
      chunk.push_back(i);
      if (chunk.size() == batch_size) send(agent, std::exchange(chunk, {}));
    }
    if (!chunk.empty()) send(agent, std::move(chunk));
  }
}

}  // namespace

std::vector<Response> AgentPool::send_all_batched(std::span<const std::string> prompts,
                                                  std::size_t batch_size, CallOptions call) {
  check_batch_size(batch_size);
  std::vector<Response> results(prompts.size());
  if (prompts.empty()) return results;
  if (size() == 0) throw std::logic_error("cannot send prompts to an empty pool");
  std::size_t remaining = prompts.size();
  for_each_chunk(prompts.size(), size(), batch_size,
                 [&](std::size_t agent, std::vector<std::size_t> indices) {
                   std::vector<std::string> batch;
                   batch.reserve(indices.size());
                   for (auto i : indices) batch.push_back(prompts[i]);
                   submit_batch(
                       agent, std::move(batch),
                       [&results, &remaining, indices](std::vector<Response>&& out) {
                         for (std::size_t k = 0; k < indices.size(); ++k) {
                           results[indices[k]] = std::move(out[k]);
                         }
                         remaining -= indices.size();
                       },
                       call);
                 });
  while (remaining > 0) poll(std::chrono::milliseconds(200));
  return results;
}

std::vector<Embedding> AgentPool::embed_all(std::span<const std::string> texts,
                                            std::size_t batch_size) {
  check_batch_size(batch_size);
  std::vector<Embedding> results(texts.size());
  if (texts.empty()) return results;
  if (size() == 0) throw std::logic_error("cannot embed with an empty pool");
  ensure_model();
  const PoolOptions& o = options();
  detail::Engine& engine = shared_->engine;
  std::size_t remaining = texts.size();
  for_each_chunk(
      texts.size(), size(), batch_size, [&](std::size_t agent, std::vector<std::size_t> indices) {
        std::vector<std::string> inputs;
        inputs.reserve(indices.size());
        for (auto i : indices) inputs.push_back(texts[i]);
        auto t = std::make_unique<detail::Transfer>();
        target(*t, agent);
        t->path = "/v1/embeddings";
        t->body = protocol::embeddings_body(shared_->model, inputs);
        t->timeout = protocol::batch_timeout(o, inputs.size());
        t->on_done = [&results, &remaining, &engine, indices](detail::Reply&& reply) {
          Response common;
          common.agent_index = reply.slot;  // failover may have moved it
          std::vector<std::vector<double>> vectors;
          if (detail::start_response(reply, engine, common)) {
            std::string error =
                protocol::decode_embeddings(reply.body, indices.size(), vectors, common.usage);
            common.success = error.empty();
            common.kind = error.empty() ? FailureKind::none : FailureKind::decode;
            common.error = engine.redact(std::move(error));
          }
          for (std::size_t k = 0; k < indices.size(); ++k) {
            auto& e = results[indices[k]];
            e.response = common;
            if (k != 0) e.response.usage = {};  // the request's usage is counted once
            if (common.success) e.vector = std::move(vectors[k]);
          }
          remaining -= indices.size();
        };
        engine.submit(std::move(t));
      });
  while (remaining > 0) poll(std::chrono::milliseconds(200));
  return results;
}

}  // namespace swarm

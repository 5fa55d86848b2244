// libFuzzer target: the decoders of server replies (src/core/protocol.cpp) — chat, completions,
// /generate, batch lists, embeddings, /v1/models and error bodies. A reply is hostile input: any
// byte string must end as a Response (success or a failure with a reason), never a crash.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "swarm/protocol.hpp"
#include "swarm/response.hpp"

namespace {

void check(const swarm::Response& r) {
  if (!r.success && r.error.empty()) std::abort();  // a failure always says why
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  for (const auto p :
       {swarm::Protocol::chat, swarm::Protocol::completions, swarm::Protocol::generate}) {
    swarm::Response r;
    swarm::protocol::decode_prompt_reply(p, body, r);
    check(r);
  }
  std::array<swarm::Response, 3> batch{};
  swarm::protocol::decode_batch_reply(body, batch);
  for (const auto& r : batch) check(r);
  (void)swarm::protocol::error_message(body);
  (void)swarm::protocol::decode_models(body);
  std::vector<std::vector<double>> vectors;
  swarm::Usage usage;
  (void)swarm::protocol::decode_embeddings(body, 2, vectors, usage);
  swarm::Response reply;
  swarm::protocol::decode_request_reply("/v1/chat/completions", body, reply);
  check(reply);
  return 0;
}

#pragma once
// Internal: the fast path of decode_prompt_reply for the replies servers send by the million.
// A chat.completion or text_completion object is read with nlohmann's SAX parser straight into
// the Response's fields, without building the document (the DOM parse was 9% of aswarm-mpi's CPU
// per request against nginx, bench/engine_floor.sh). It takes only the plain shape: an object
// whose `choices` is an array starting with an object (with an object `message` for chat), each
// field it reads given once, as a string or null (the usage counts: numbers), nothing deeper
// than kMaxJsonDepth. Anything else (a parse error, a duplicate key, an unexpected type) it
// declines, and the DOM decoder, the one reference for every error text and odd shape, decides.

#include <string_view>

#include "swarm/pool_options.hpp"
#include "swarm/response.hpp"

namespace swarm::protocol {

/// Decodes a chat (or completions) reply body into `r` and returns true, or returns false and
/// leaves `r` as it was. Protocol::generate is always declined.
bool decode_reply_fast(Protocol protocol, std::string_view body, Response& r);

}  // namespace swarm::protocol

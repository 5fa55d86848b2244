#pragma once
// Internal: the fast path of decode_prompt_reply for the replies servers send by the million.
// A chat.completion, text_completion or /generate object is read with nlohmann's SAX parser into
// the Response's fields, without building the document (the DOM parse was 9% of aswarm-mpi's CPU
// per request against nginx, bench/engine_floor.sh). It takes only the plain shapes: an object
// whose `choices` is an array starting with an object (with an object `message` for chat), or
// for /generate an object with a usable "response" or "text"; each field it reads given once;
// nothing deeper than 64 levels. Anything else (a parse error, a duplicate key, an unexpected
// type) it declines, and the DOM decoder, the one reference for every error text and odd shape,
// decides.

#include <string_view>

#include "swarm/pool_options.hpp"
#include "swarm/response.hpp"

namespace swarm::protocol {

/// Decodes a reply body of `protocol` into `r` as decode_chat / decode_completion /
/// decode_generate would and returns true, or returns false and leaves `r` as it was.
bool decode_reply_fast(Protocol protocol, std::string_view body, Response& r);

}  // namespace swarm::protocol

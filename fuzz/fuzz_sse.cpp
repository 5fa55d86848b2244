// libFuzzer target: the streaming (SSE) decoder (src/core/sse.hpp). A server's event stream is
// hostile input, and it arrives in arbitrary pieces: the input's first byte chooses where the
// rest is split, and both pieces are fed in order. Whatever the bytes, the decoder must not
// crash, and feeding the same stream whole must decode it the same way (any split is the same
// stream).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "sse.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::size_t cut = body.empty() ? 0 : data[0] % (body.size() + 1);

  swarm::detail::SseDecoder split;
  const std::size_t texts = split.feed(body.substr(0, cut)) + split.feed(body.substr(cut));
  swarm::detail::SseDecoder whole;
  const std::size_t texts_whole = whole.feed(body);
  if (texts != texts_whole || split.done() != whole.done() ||
      split.error().has_value() != whole.error().has_value() ||
      split.saw_events() != whole.saw_events()) {
    std::abort();
  }
  return 0;
}

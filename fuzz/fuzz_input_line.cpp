// libFuzzer target: one line of --input / --items JSONL. Every byte string is blank, a record or
// invalid with a reason; a record's key fingerprint and prompt body must be computable. And the
// fast path for plain lines (io/input_sax.hpp) must give the DOM parser's kind and record.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "io/input_record.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  swarm::cli::InputRecord record;
  std::string reason;
  const auto kind = swarm::cli::parse_input_line(text, record, reason);
  swarm::cli::InputRecord dom;
  std::string dom_reason;
  if (swarm::cli::detail::parse_input_line_dom(text, dom, dom_reason) != kind ||
      dom_reason != reason) {
    std::abort();
  }
  // An invalid line leaves the record unspecified (a declined fast path may have filled part).
  if (kind != swarm::cli::LineKind::invalid &&
      (dom.id != record.id || dom.id.type() != record.id.type() || dom.prompt != record.prompt ||
       dom.batch != record.batch || dom.body != record.body || dom.messages != record.messages ||
       dom.params != record.params)) {
    std::abort();
  }
  if (kind == swarm::cli::LineKind::invalid) {
    if (reason.empty()) std::abort();  // an invalid line always says why
    return 0;
  }
  if (kind == swarm::cli::LineKind::blank) return 0;
  (void)swarm::cli::key_fingerprint(record.batch, record.id, record.custom_id);
  // What the output writer does with a record: its id and body serialised.
  (void)record.id.dump();
  (void)record.body.dump();
  (void)record.params.dump();
  (void)record.messages.dump();
  return 0;
}

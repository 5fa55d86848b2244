// libFuzzer target: one line of --input / --items JSONL. Every byte string is blank, a record or
// invalid with a reason; a record's key fingerprint and prompt body must be computable.
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

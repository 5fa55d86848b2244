#include "io/record_hash.hpp"

#include <xxhash.h>

#include <charconv>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "io/input_record.hpp"

namespace swarm::cli {

std::uint64_t record_hash(const InputRecord& record) {
  // nlohmann::json keeps object keys sorted, so dump() is a canonical form of the values.
  const nlohmann::json canonical =
      record.batch ? nlohmann::json::array({"batch", record.custom_id, record.url, record.body})
                   : nlohmann::json::array(
                         {"prompt", record.id, record.prompt, record.messages, record.params});
  const std::string text =
      canonical.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  const std::uint64_t hash = XXH3_64bits(text.data(), text.size());
  return hash == 0 ? 1 : hash;
}

std::uint64_t text_hash(std::string_view text) {
  const std::uint64_t hash = XXH3_64bits(text.data(), text.size());
  return hash == 0 ? 1 : hash;
}

std::string format_record_hash(std::uint64_t hash) {
  return fmt::format("{:016x}", hash);
}

std::optional<std::uint64_t> parse_record_hash(std::string_view text) {
  if (text.size() != 16) return std::nullopt;
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, 16);
  if (ec != std::errc{} || end != text.data() + text.size() || value == 0) return std::nullopt;
  return value;
}

}  // namespace swarm::cli

#pragma once
/// @file json_limits.hpp
/// The one way aswarm parses JSON it did not write (server replies, input lines, configs, flags,
/// an output file read back by --resume): nesting is limited, so no later step can crash.
///
/// Why: nlohmann's parser is iterative and its destructor flattens values onto a heap stack, but
/// copying, comparing and dump() recurse once per level. A 70,000-deep answer parsed without a
/// limit crashed `--aggregate structured-merge` (stack overflow in dump()).

#include <cstddef>
#include <string_view>

#include <nlohmann/json.hpp>

namespace swarm {

/// Deepest nesting accepted (objects and arrays). Real requests, replies and structured answers
/// stay far below it; recursion over 256 levels is a few KB of stack.
inline constexpr int kMaxJsonDepth = 256;

/// What went wrong in parse_json_limited(), if anything.
enum class JsonFault : std::uint8_t {
  none,      ///< parsed
  syntax,    ///< not JSON (reparse with exceptions for nlohmann's position and reason)
  too_deep,  ///< JSON nested deeper than the limit
};

/// Parses `text` (nlohmann::json or nlohmann::ordered_json) without exceptions: a discarded
/// value on failure, with `fault` saying why. Nesting deeper than `max_depth` is refused while
/// parsing (the parser callback drops the too-deep value at once, so nothing deep is ever built).
template <class Json = nlohmann::json>
Json parse_json_limited(std::string_view text, JsonFault& fault, int max_depth = kMaxJsonDepth) {
  bool too_deep = false;
  const typename Json::parser_callback_t limit = [&](int depth, typename Json::parse_event_t event,
                                                     Json&) {
    // `depth` is the nesting of the value being started: 1 for the top-level object's members.
    if ((event == Json::parse_event_t::object_start || event == Json::parse_event_t::array_start) &&
        depth >= max_depth) {
      too_deep = true;
      return false;
    }
    return !too_deep;
  };
  Json doc = Json::parse(text.begin(), text.end(), limit, /*allow_exceptions=*/false);
  if (too_deep) {
    fault = JsonFault::too_deep;
    return Json(Json::value_t::discarded);
  }
  fault = doc.is_discarded() ? JsonFault::syntax : JsonFault::none;
  return doc;
}

/// The reason for a too-deep document, for error messages.
inline std::string json_depth_reason(int max_depth = kMaxJsonDepth) {
  return "JSON nested deeper than " + std::to_string(max_depth) + " levels";
}

}  // namespace swarm

#pragma once
// JSON as Python's json module reads and writes it, for the aggregators that must agree with
// the seed: json.loads() accepts NaN, Infinity and -Infinity, keeps integers of any size exactly,
// keeps object keys in document order (the last of duplicate keys wins, at the first one's
// place), and rejects what the strict decoder rejects (control characters in strings, trailing
// data, a BOM). Values are kept as their source text, made compact, so nothing is rounded.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace swarm::detail {

/// A document json.loads() accepts, in compact form (no whitespace outside strings).
struct PyJsonValue {
  std::string compact;
  /// For a top-level array: each element's compact text (what list.extend() would add).
  std::optional<std::vector<std::string>> elements;
};

/// Reads `text` as json.loads(text) would. On failure returns std::nullopt and sets `error` to
/// Python's message ("Expecting value: line 1 column 1 (char 0)"), or to the depth limit's
/// reason for a document nested deeper than `max_depth`.
std::optional<PyJsonValue> read_python_json(std::string_view text, std::string& error,
                                            int max_depth);

/// `value` as compact JSON text with non-finite numbers written as json.dumps() writes them
/// (NaN, Infinity, -Infinity) rather than as null; invalid UTF-8 in strings is replaced.
std::string dump_python_json(const nlohmann::ordered_json& value);

}  // namespace swarm::detail

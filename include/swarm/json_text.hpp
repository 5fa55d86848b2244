#pragma once
/// @file json_text.hpp
/// JSON text written without building a DOM, for the hot paths (request bodies, output lines):
/// the same bytes nlohmann's `dump(-1, ' ', false, error_handler_t::replace)` gives, so a reader
/// cannot tell which way a line was made.

#include <string>
#include <string_view>

namespace swarm {

/// Appends `s` to `out` as a JSON string, quotes included, exactly as nlohmann::json(s).dump()
/// with ensure_ascii off and invalid UTF-8 replaced by U+FFFD would. ASCII text is escaped here
/// (one pass, no allocation beyond `out`'s growth); text with any byte >= 0x80 goes through
/// nlohmann, which owns the UTF-8 rules.
void append_json_string(std::string& out, std::string_view s);

}  // namespace swarm

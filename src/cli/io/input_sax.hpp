#pragma once
// The common input lines without a DOM: a JSON string, or an object of only "id" (a string, a
// number or null) and a non-empty "prompt" string, read through nlohmann's SAX parser straight
// into the InputRecord. Anything else (other keys, a repeated key, an empty prompt, bad JSON)
// is declined and parse_input_line's DOM parser reads it, with every rule and error message.

#include <string_view>

#include "io/input_record.hpp"

namespace swarm::cli::detail {

/// Fills `out` as parse_input_line would and returns true for the plain shapes above; returns
/// false, `out` in an unspecified state, for every other line.
bool parse_plain_line(std::string_view text, InputRecord& out);

}  // namespace swarm::cli::detail

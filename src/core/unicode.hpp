#pragma once
// Python's str semantics where aswarm must agree with the seed on text: len() (code points),
// str.strip() (Unicode whitespace, str.isspace) and str.lower() (full lowercase mapping).
// Character properties come from utf8proc; bytes that are not valid UTF-8 are kept as they
// are and count as one character each (Python would have replaced them on decoding).

#include <cstddef>
#include <string>
#include <string_view>

namespace swarm::detail {

/// len(s) in Python: the number of code points of the UTF-8 text `s`.
std::size_t code_points(std::string_view s) noexcept;

/// s[:n] in Python: the first `n` code points of `s` (all of it when shorter).
std::string_view python_prefix(std::string_view s, std::size_t n) noexcept;

/// s.strip() in Python: `s` without leading and trailing Unicode whitespace.
std::string_view python_strip(std::string_view s) noexcept;

/// s.lower() in Python: full lowercase (U+0130 becomes "i" + U+0307; a capital sigma at the end
/// of a word becomes a final sigma).
std::string python_lower(std::string_view s);

}  // namespace swarm::detail

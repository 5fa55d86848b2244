#pragma once
// Word counts as the mock counts tokens (whitespace-separated words): tests compare a reply's
// length with the --output-tokens or max_tokens that shaped it.

#include <cstddef>
#include <string_view>

namespace swarm::mock::test {

inline std::size_t words(std::string_view text) {
  std::size_t n = 0;
  bool in_word = false;
  for (const char c : text) {
    const bool space = c == ' ' || c == '\n' || c == '\t';
    if (!space && !in_word) ++n;
    in_word = !space;
  }
  return n;
}

}  // namespace swarm::mock::test

#pragma once
// Shared helpers for the aggregator tests.

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "swarm/response.hpp"

namespace swarm::test {

using Responses = std::vector<Response>;

/// Successful responses agent 0..n-1 with the given texts.
inline Responses oks(const std::vector<std::string>& texts) {
  Responses out;
  for (std::size_t i = 0; i < texts.size(); ++i) {
    out.push_back(Response::ok(texts[i], static_cast<std::int64_t>(i)));
  }
  return out;
}

/// A failed response that nevertheless carries text, so tests can see whether it was used.
inline Response failed_with_text(std::string text, std::int64_t agent_index) {
  Response r = Response::failure("boom", agent_index);
  r.text = std::move(text);
  return r;
}

/// Scores a response by its text as a number (tests only use numeric texts with it).
inline double text_score(const Response& r) {
  return std::stod(r.text);
}

inline std::vector<std::int64_t> agents_of(const Responses& rs) {
  std::vector<std::int64_t> out;
  for (const Response& r : rs) out.push_back(r.agent_index);
  return out;
}

}  // namespace swarm::test

#pragma once
/// @file rng.hpp
/// Seeded randomness. The standard fixes mt19937_64's output sequence but not the output of
/// its distributions, so the few draws the mock needs are computed here: a given --seed gives
/// the same answers, latencies and failures with any standard library.

#include <cmath>
#include <cstdint>
#include <numbers>
#include <random>
#include <string_view>

namespace swarm::mock {

/// splitmix64's finaliser: spreads nearby inputs (agent 0, 1, 2...) over the whole range.
constexpr std::uint64_t mix64(std::uint64_t x) noexcept {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30U)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27U)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31U);
}

/// FNV-1a; stable across runs and platforms (std::hash is not).
constexpr std::uint64_t hash_text(std::string_view text) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (const char c : text) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}

/// Independent streams per agent, so that what one agent draws never depends on how many
/// requests another agent (maybe on another thread) has served.
enum class RngStream : std::uint64_t {
  answers = 1,
  latency = 2,
  failures = 3,
  selection = 4,
  lengths = 5,  ///< --output-tokens; below 8, the stride of the agent in the seed
};

class Rng {
 public:
  Rng(std::uint64_t seed, std::uint64_t agent, RngStream stream)
      : engine_(mix64(mix64(seed) ^ mix64(agent * 8 + static_cast<std::uint64_t>(stream)))) {}

  /// Uniform in [0, 1), 53 random bits.
  double uniform01() { return static_cast<double>(engine_() >> 11U) * 0x1.0p-53; }

  /// Standard normal (Box-Muller).
  double normal() {
    const double u1 = 1.0 - uniform01();  // (0, 1]: log() stays finite
    const double u2 = uniform01();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
  }

  /// Uniform integer in [0, n), n > 0.
  std::uint64_t below(std::uint64_t n) {
    const auto k = static_cast<std::uint64_t>(uniform01() * static_cast<double>(n));
    return k < n ? k : n - 1;  // the product can round up to n for large n
  }

 private:
  std::mt19937_64 engine_;
};

}  // namespace swarm::mock

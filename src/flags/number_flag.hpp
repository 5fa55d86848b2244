#pragma once
// Numeric flag checks shared by aswarm-mpi, aswarm-mock-agent and aswarm-health (CLI11).
//
// Why not CLI11's Range/PositiveNumber: they check every number as a double, so "nan" passes
// any range (`nan < min` is false), "1e308" passes PositiveNumber, an integer flag takes
// "1e3" or a value its type cannot hold, and the message prints bounds with std::to_string
// (a 309-digit maximum). These parse the text as the flag's own type, exactly, and say the
// range in a few characters.

#include <charconv>
#include <cmath>
#include <concepts>
#include <string>
#include <string_view>
#include <system_error>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

namespace swarm::flags {

/// The error text for `text` as a T in [lo, hi] (or (lo, hi] with `open_low`); empty if fine.
template <class T>
std::string check_number(std::string_view text, T lo, T hi, bool open_low = false) {
  const std::string range = fmt::format("{}{}, {}]", open_low ? "(" : "[", lo, hi);
  std::string_view digits = text;
  if (!digits.empty() && digits.front() == '+') digits.remove_prefix(1);  // from_chars takes no '+'
  T value{};
  const auto* end = digits.data() + digits.size();
  const auto [ptr, ec] = std::from_chars(digits.data(), end, value);
  const bool whole = !digits.empty() && ptr == end;
  if constexpr (std::floating_point<T>) {
    if (!whole || (ec != std::errc{} && ec != std::errc::result_out_of_range)) {
      return fmt::format("'{}' is not a number (expected one in {})", text, range);
    }
    if (ec == std::errc::result_out_of_range || !std::isfinite(value)) {
      return fmt::format("'{}' is not a finite number in {}", text, range);
    }
  } else {
    if (!whole || (ec != std::errc{} && ec != std::errc::result_out_of_range)) {
      return fmt::format("'{}' is not a whole number (expected one in {})", text, range);
    }
    if (ec == std::errc::result_out_of_range) {
      return fmt::format("'{}' is out of range {}", text, range);
    }
  }
  if (value < lo || value > hi || (open_low && value == lo)) {
    return fmt::format("'{}' is out of range {}", text, range);
  }
  return {};
}

/// A CLI11 check that the flag's text is a T in [lo, hi]: `->check(flags::in_range<int>(0, 9))`.
template <class T>
CLI::Validator in_range(T lo, T hi) {
  return CLI::Validator(
      [lo, hi](std::string& text) { return check_number<T>(text, lo, hi); },
      fmt::format("in [{}, {}]", lo, hi));
}

/// A CLI11 check that the flag's text is a T in (0, hi]: positive and at most hi.
template <class T>
CLI::Validator positive(T hi) {
  return CLI::Validator(
      [hi](std::string& text) { return check_number<T>(text, T{0}, hi, /*open_low=*/true); },
      fmt::format("in (0, {}]", hi));
}

}  // namespace swarm::flags

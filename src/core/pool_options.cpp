#include "swarm/pool_options.hpp"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <stdexcept>

#include <fmt/format.h>

namespace swarm {
namespace {

template <typename T>
std::optional<T> env_number(const char* name) {
  const char* raw = std::getenv(name);
  if (raw == nullptr || *raw == '\0') return std::nullopt;
  const std::string_view text(raw);
  T value{};
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  // !(value > 0) also refuses "nan" (from_chars reads it), and "inf" is refused below.
  if (ec != std::errc{} || ptr != text.data() + text.size() || !(value > 0) ||
      !std::isfinite(static_cast<double>(value))) {
    throw std::invalid_argument(
        fmt::format("environment variable {}='{}' is not a positive number", name, text));
  }
  return value;
}

}  // namespace

std::span<const std::string_view> protocol_names() noexcept {
  // In enum order: to_string and protocol_from_string read this one table.
  static constexpr std::string_view kNames[] = {"chat", "completions", "generate"};
  return kNames;
}

std::string_view to_string(Protocol protocol) noexcept {
  const auto k = static_cast<std::size_t>(protocol);
  return k < protocol_names().size() ? protocol_names()[k] : protocol_names()[0];
}

Protocol protocol_from_string(std::string_view name) {
  const auto names = protocol_names();
  for (std::size_t k = 0; k < names.size(); ++k) {
    if (names[k] == name) return static_cast<Protocol>(k);
  }
  throw std::invalid_argument(
      fmt::format("unknown protocol '{}' (expected chat, completions or generate)", name));
}

PoolOptions PoolOptions::from_environment(PoolOptions base) {
  if (auto v = env_number<std::int64_t>("AURORA_SWARM_MAX_TOKENS")) base.max_tokens = *v;
  if (auto v = env_number<std::int64_t>("AURORA_SWARM_MAX_TOKENS_AGGREGATION")) {
    base.max_tokens_aggregation = *v;
  }
  if (auto v = env_number<std::int64_t>("AURORA_SWARM_MODEL_MAX_CONTEXT")) {
    base.model_max_context = *v;
  }
  if (auto v = env_number<double>("AURORA_SWARM_TIMEOUT_PER_SEQUENCE")) {
    base.timeout_per_sequence = Seconds(*v);
  }
  if (base.api_key.empty()) {
    for (const char* name : {"ASWARM_API_KEY", "OPENAI_API_KEY"}) {
      if (const char* key = std::getenv(name); key != nullptr && *key != '\0') {
        base.api_key = key;
        break;
      }
    }
  }
  return base;
}

void PoolOptions::validate() const {
  if (!extra_body.is_null() && !extra_body.is_object()) {
    throw std::invalid_argument(
        fmt::format("extra_body must be a JSON object, not {}", extra_body.type_name()));
  }
  const auto bad = [](std::string_view what, auto value) {
    throw std::invalid_argument(fmt::format("invalid pool option {} = {}", what, value));
  };
  // Seconds are doubles: NaN passes every `<=` test and would switch a timeout off, and a
  // huge value overflows curl's millisecond longs. So: finite, positive where a wait is
  // bounded, and at most kMaxSeconds.
  constexpr double kMaxSeconds = 1e7;  // ~115 days
  const auto seconds = [&](std::string_view what, Seconds s, bool zero_ok) {
    const double v = s.count();
    if (!std::isfinite(v) || v > kMaxSeconds || v < 0 || (!zero_ok && v == 0)) bad(what, v);
  };
  if (concurrency == 0) bad("concurrency", concurrency);
  seconds("timeout", timeout, false);
  seconds("connect_timeout", connect_timeout, false);
  seconds("backoff_base", backoff_base, true);
  seconds("backoff_max", backoff_max, true);
  seconds("timeout_per_sequence", timeout_per_sequence, false);
  seconds("probe_interval", probe_interval, false);
  seconds("probe_interval_max", probe_interval_max, false);
  seconds("probe_timeout", probe_timeout, false);
  seconds("give_up_after", give_up_after, true);
  if (temperature && !std::isfinite(*temperature)) bad("temperature", *temperature);
  seconds("idle_timeout", idle_timeout, false);
  if (retries < 0) bad("retries", retries);
  if (max_tokens <= 0) bad("max_tokens", max_tokens);
  if (max_tokens_aggregation < 0) bad("max_tokens_aggregation", max_tokens_aggregation);
  if (model_max_context < 0) bad("model_max_context", model_max_context);
  if (batch_concurrency == 0) bad("batch_concurrency", batch_concurrency);
  if (max_response_bytes == 0) bad("max_response_bytes", max_response_bytes);
  if (reply_budget_bytes == 0) bad("reply_budget_bytes", reply_budget_bytes);
  if (cooldown_failures < 1) bad("cooldown_failures", cooldown_failures);
  if (probe_interval_max < probe_interval) bad("probe_interval_max", probe_interval_max.count());
  if (failover_attempts < 0) bad("failover_attempts", failover_attempts);
  if (give_up_after.count() < 0) bad("give_up_after", give_up_after.count());
  // Written so that NaN fails too.
  if (!(hedge_quantile == 0.0 || (hedge_quantile > 0.0 && hedge_quantile < 1.0))) {
    bad("hedge_quantile", hedge_quantile);
  }
}

}  // namespace swarm

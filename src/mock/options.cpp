#include "options.hpp"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <set>

#include "flags/number_flag.hpp"
#include "rng.hpp"

namespace swarm::mock {
namespace {

constexpr double kMaxSeconds = 100.0 * 86400.0;  // bound of the seconds flags

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t end = text.find(separator, start);
    parts.push_back(text.substr(start, end - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return parts;
}

template <typename T>
T parse_number(std::string_view text, std::string_view what) {
  T value{};
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc{} || ptr != end) {
    throw OptionsError(fmt::format("{}: '{}' is not a valid number", what, text));
  }
  return value;
}

std::uint16_t parse_port(std::string_view text) {
  const auto port = parse_number<unsigned>(text, "--ports");
  if (port == 0 || port > 65535) {
    throw OptionsError(fmt::format("--ports: {} is not a port in 1-65535", text));
  }
  return static_cast<std::uint16_t>(port);
}

/// --slow-agents / --dead-agents: agent indices, each below `agents`.
std::vector<bool> agent_set(const std::vector<std::size_t>& indices, std::size_t agents,
                            std::string_view flag) {
  std::vector<bool> set(agents, false);
  for (const std::size_t k : indices) {
    if (k >= agents) {
      throw OptionsError(
          fmt::format("{}: agent {} does not exist (agents are 0-{})", flag, k, agents - 1));
    }
    set[k] = true;
  }
  return set;
}

/// Exactly round(fraction * agents) agents, chosen by a seeded partial shuffle so that the
/// same --seed always slows the same agents.
void mark_slow_fraction(std::vector<bool>& slow, double fraction, std::uint64_t seed) {
  const std::size_t agents = slow.size();
  const auto wanted =
      static_cast<std::size_t>(std::llround(fraction * static_cast<double>(agents)));
  std::vector<std::size_t> order(agents);
  std::iota(order.begin(), order.end(), std::size_t{0});
  Rng rng(seed, 0, RngStream::selection);
  for (std::size_t i = 0; i < wanted; ++i) {
    std::swap(order[i], order[i + rng.below(agents - i)]);
    slow[order[i]] = true;
  }
}

void set_failure_rates(Options& options, const std::array<double, kFailureKinds>& rates) {
  double total = 0.0;
  for (std::size_t i = 0; i < kFailureKinds; ++i) total += rates.at(i);
  // One uniform draw picks at most one failure, so the rates stack and must fit in [0, 1].
  if (total > 1.0 + 1e-9) {
    throw OptionsError(fmt::format("the --fail-* rates add up to {:.3g} > 1", total));
  }
  options.failure_rates = rates;
}

/// The parser --latency and --output-tokens share; `flag` names the flag in errors, `unit` the
/// unit in the forms shown, and `tokens` allows --latency's token-latency model.
LatencySpec parse_distribution(std::string_view text, std::string_view flag, std::string_view unit,
                               bool tokens) {
  const auto parts = split(text, ':');
  const auto number = [&](std::size_t i) {
    const double v = parse_number<double>(parts.at(i), flag);
    if (!std::isfinite(v) || v < 0) {
      throw OptionsError(fmt::format("{}: '{}' must be a non-negative number", flag, parts[i]));
    }
    return v;
  };
  const auto expect_fields = [&](std::size_t n, std::string_view form) {
    if (parts.size() != n) {
      throw OptionsError(fmt::format("{}: '{}' does not match {}", flag, text, form));
    }
  };
  LatencySpec spec;
  const std::string_view kind = parts.front();
  if (kind == "fixed") {
    expect_fields(2, fmt::format("fixed:{}", unit));
    spec = {LatencySpec::Kind::fixed, number(1), 0.0};
  } else if (kind == "uniform") {
    expect_fields(3, fmt::format("uniform:LO_{0}:HI_{0}", unit));
    spec = {LatencySpec::Kind::uniform, number(1), number(2)};
    if (spec.a > spec.b) {
      throw OptionsError(fmt::format("{0}: uniform needs LO_{1} <= HI_{1}", flag, unit));
    }
  } else if (kind == "lognormal") {
    expect_fields(3, fmt::format("lognormal:MEDIAN_{}:SIGMA", unit));
    spec = {LatencySpec::Kind::lognormal, number(1), number(2)};
  } else if (kind == "tokens" && tokens) {
    expect_fields(3, "tokens:TTFT_MS:PER_TOKEN_MS");
    spec = {LatencySpec::Kind::tokens, number(1), number(2)};
  } else {
    throw OptionsError(fmt::format("{}: unknown distribution '{}' (fixed, uniform, lognormal{})",
                                   flag, kind, tokens ? ", tokens" : ""));
  }
  return spec;
}

/// The agents of `indices` must not be --dead-agents too: dead from the start, they could not
/// die or come up.
std::vector<bool> live_agent_set(const std::vector<std::size_t>& indices, const Options& o,
                                 std::string_view flag) {
  std::vector<bool> set = agent_set(indices, o.agent_count(), flag);
  for (std::size_t k = 0; k < set.size(); ++k) {
    if (set[k] && o.dead[k]) {
      throw OptionsError(fmt::format("{}: agent {} is also in --dead-agents", flag, k));
    }
  }
  return set;
}

void set_dying(Options& o, const std::vector<std::size_t>& dying_agents,
               const std::string& die_mode_text, bool die_mode_given) {
  const bool has_limit = o.die_after_requests || o.die_after_seconds;
  if (dying_agents.empty()) {
    if (o.die_after_requests) throw OptionsError("--die-after-requests: needs --dying-agents");
    if (o.die_after_seconds) throw OptionsError("--die-after-seconds: needs --dying-agents");
    if (die_mode_given) throw OptionsError("--die-mode: needs --dying-agents");
  } else if (!has_limit) {
    throw OptionsError("--dying-agents: needs --die-after-requests or --die-after-seconds");
  }
  o.dying = live_agent_set(dying_agents, o, "--dying-agents");
  o.die_mode = die_mode_text == "close" ? DieMode::close : DieMode::http503;
}

void set_late(Options& o, const std::vector<std::size_t>& late_agents,
              std::optional<double> late_after) {
  if (late_agents.empty() && late_after) {
    throw OptionsError("--late-after-seconds: needs --late-agents");
  }
  if (!late_agents.empty() && !late_after) {
    throw OptionsError("--late-agents: needs --late-after-seconds");
  }
  o.late = live_agent_set(late_agents, o, "--late-agents");
  o.late_after_s = late_after.value_or(0.0);
}

}  // namespace

std::string_view failure_label(FailureKind kind) noexcept {
  switch (kind) {
    case FailureKind::http500:
      return "http_500";
    case FailureKind::http429:
      return "http_429";
    case FailureKind::reset:
      return "reset";
    case FailureKind::hang:
      return "hang";
    case FailureKind::malformed:
      return "malformed";
    case FailureKind::truncated:
      return "truncated";
    case FailureKind::stream_error:
      return "stream_error";
  }
  return "unknown";
}

LatencySpec parse_latency(std::string_view text) {
  return parse_distribution(text, "--latency", "MS", true);
}

LengthSpec parse_output_tokens(std::string_view text) {
  LengthSpec spec = parse_distribution(text, "--output-tokens", "TOKENS", false);
  // Lengths are drawn as whole words; a fractional bound would be silently rounded.
  const bool whole_bounds = spec.kind == LengthSpec::Kind::lognormal ||
                            (spec.a == std::floor(spec.a) && spec.b == std::floor(spec.b));
  if (!whole_bounds) {
    throw OptionsError(fmt::format("--output-tokens: '{}' needs whole token counts", text));
  }
  if (spec.kind == LengthSpec::Kind::lognormal && spec.a == 0.0) {
    throw OptionsError("--output-tokens: lognormal needs MEDIAN_TOKENS > 0");
  }
  return spec;
}

std::vector<std::uint16_t> parse_port_list(std::string_view text) {
  std::vector<std::uint16_t> ports;
  for (const std::string_view item : split(text, ',')) {
    const std::size_t dash = item.find('-');
    if (dash == std::string_view::npos) {
      ports.push_back(parse_port(item));
      continue;
    }
    const std::uint16_t first = parse_port(item.substr(0, dash));
    const std::uint16_t last = parse_port(item.substr(dash + 1));
    if (first > last) throw OptionsError(fmt::format("--ports: empty range '{}'", item));
    for (unsigned p = first; p <= last; ++p) ports.push_back(static_cast<std::uint16_t>(p));
  }
  std::set<std::uint16_t> seen;
  for (const std::uint16_t p : ports) {
    if (!seen.insert(p).second) throw OptionsError(fmt::format("--ports: {} listed twice", p));
  }
  return ports;
}

std::vector<std::string> assign_roles(std::string_view spec, std::size_t agents) {
  std::vector<std::string> names;
  std::vector<std::uint64_t> weights;
  bool weighted = false;
  for (const std::string_view item : split(spec, ',')) {
    const std::size_t colon = item.find(':');
    const std::string_view name = item.substr(0, colon);
    if (name.empty() || name.find_first_of(" \t=#\"\\") != std::string_view::npos) {
      throw OptionsError(fmt::format("--roles: bad role name '{}'", name));
    }
    names.emplace_back(name);
    if (colon == std::string_view::npos) {
      weights.push_back(1);
    } else {
      weighted = true;
      weights.push_back(parse_number<std::uint64_t>(item.substr(colon + 1), "--roles weight"));
      if (weights.back() == 0) throw OptionsError("--roles: weights must be positive");
    }
  }
  std::vector<std::string> roles(agents);
  if (!weighted) {
    for (std::size_t k = 0; k < agents; ++k) roles[k] = names[k % names.size()];
    return roles;
  }
  // Largest-remainder split, so block sizes add up to `agents` exactly.
  const std::uint64_t total = std::accumulate(weights.begin(), weights.end(), std::uint64_t{0});
  std::vector<std::size_t> sizes(names.size());
  std::vector<std::pair<std::uint64_t, std::size_t>> remainders;
  std::size_t assigned = 0;
  for (std::size_t i = 0; i < names.size(); ++i) {
    sizes[i] = static_cast<std::size_t>(agents * weights[i] / total);
    assigned += sizes[i];
    remainders.emplace_back(agents * weights[i] % total, i);
  }
  std::stable_sort(remainders.begin(), remainders.end(),
                   [](const auto& l, const auto& r) { return l.first > r.first; });
  for (std::size_t i = 0; assigned < agents; ++i, ++assigned) ++sizes[remainders[i].second];
  std::size_t k = 0;
  for (std::size_t i = 0; i < names.size(); ++i) {
    for (std::size_t j = 0; j < sizes[i]; ++j) roles[k++] = names[i];
  }
  return roles;
}

namespace {

// A base path as a gateway would expose it: "/a/b", no trailing slash, URL-safe characters.
void set_path_prefix(Options& o) {
  std::string& p = o.path_prefix;
  while (!p.empty() && p.back() == '/') p.pop_back();
  if (p.empty()) return;
  if (p.front() != '/') p.insert(p.begin(), '/');
  for (const char c : p) {
    const bool ok = std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '/' || c == '-' ||
                    c == '_' || c == '.' || c == '~';
    if (!ok) throw OptionsError(fmt::format("--path-prefix: '{}' has character '{}'", p, c));
  }
}

}  // namespace

ParseOutcome parse_command_line(int argc, char** argv) {
  CLI::App app{
      "aswarm-mock-agent: N OpenAI-compatible mock LLM agents on N ports, in one process."};
  app.name("aswarm-mock-agent");
  Options o;
  std::size_t count = 1;
  unsigned port_base = 8000;
  std::string ports_text;
  std::string roles_text;
  std::vector<std::string> tag_texts;
  std::string mode_text = "echo";
  std::string latency_text = "fixed:0";
  double slow_fraction = 0.0;
  std::vector<std::size_t> slow_agents;
  std::vector<std::size_t> dead_agents;
  std::vector<std::size_t> dying_agents;
  std::string die_mode_text = "503";
  std::vector<std::size_t> late_agents;
  std::optional<double> late_after;
  std::optional<std::string> output_tokens_text;
  std::array<double, kFailureKinds> rates{};
  std::optional<std::size_t> expected_connections;
  std::optional<std::string> hostfile_out;
  std::optional<std::string> record_path;
  std::string list_reply_text = "object";
  std::string error_body_text = "json";

  app.add_option("--host", o.host, "Address to listen on")->capture_default_str();
  auto* count_opt = app.add_option("--count", count, "Number of agents")
                        ->check(flags::in_range<std::size_t>(1, 65535))
                        ->capture_default_str();
  auto* base_opt = app.add_option("--port-base", port_base,
                                  "Agent k listens on PORT_BASE+k; 0 lets the OS pick every port")
                       ->check(flags::in_range(0, 65535))
                       ->capture_default_str();
  app.add_option("--ports", ports_text, "Explicit ports, e.g. 9001,9002,9010-9019")
      ->excludes(base_opt);
  app.add_option("--threads", o.threads, "Event-loop threads (agent k runs on thread k mod T)")
      ->check(flags::in_range(1U, 1024U))
      ->capture_default_str();
  app.add_option("--hostfile-out", hostfile_out, "Write the agents' hostfile here before ready");
  app.add_option("--roles", roles_text,
                 "Role tags: a,b alternates; a:3,b:1 splits into contiguous blocks by weight");
  app.add_option("--tag", tag_texts, "key=value tag added to every agent (repeatable)");
  app.add_option("--model", o.model, "Model name served")->capture_default_str();
  app.add_option("--max-model-len", o.max_model_len, "Context length in tokens")
      ->check(flags::positive<std::size_t>(1U << 30))
      ->capture_default_str();
  app.add_option("--embedding-dim", o.embedding_dim, "Embedding vector length")
      ->check(flags::in_range<std::size_t>(1, 65536))
      ->capture_default_str();
  app.add_option("--mode", mode_text, "Answers: echo, fixed (--text) or script (--script)")
      ->check(CLI::IsMember({"echo", "fixed", "script"}))
      ->capture_default_str();
  auto* text_opt = app.add_option("--text", o.text, "Answer text for --mode fixed");
  auto* script_opt = app.add_option("--script", o.script_path, "Rules file for --mode script");
  app.add_flag("--reasoning", o.reasoning, "Chat answers go to message.reasoning; content is ''");
  app.add_option("--seed", o.seed, "Seed of every random choice")->capture_default_str();
  app.add_option(
         "--latency", latency_text,
         "fixed:MS | uniform:LO:HI | lognormal:MEDIAN_MS:SIGMA | tokens:TTFT_MS:PER_TOKEN_MS "
         "(streamed answers: tokens:... sends the first token after TTFT and each next one "
         "PER_TOKEN later; the other forms wait the whole delay, then send every token)")
      ->capture_default_str();
  app.add_option("--max-concurrent", o.max_concurrent,
                 "Requests one agent runs at once; more wait FIFO (0 = unlimited)")
      ->check(flags::in_range<std::size_t>(0, 1'000'000))
      ->capture_default_str();
  app.add_option("--slow-fraction", slow_fraction, "Fraction of agents that are slow")
      ->check(flags::in_range(0.0, 1.0));
  app.add_option("--slow-agents", slow_agents, "Slow agent indices, e.g. 3,7")->delimiter(',');
  app.add_option("--slow-factor", o.slow_factor, "Latency multiplier of slow agents")
      ->check(flags::positive(1e6))
      ->capture_default_str();
  const auto rate = [&](const char* flag, FailureKind kind, const char* what) {
    app.add_option(flag, rates.at(static_cast<std::size_t>(kind)), what)
        ->check(flags::in_range(0.0, 1.0));
  };
  rate("--fail-500", FailureKind::http500, "Probability of a 500 answer");
  rate("--fail-429", FailureKind::http429, "Probability of a 429 answer with Retry-After");
  rate("--fail-reset", FailureKind::reset, "Probability of a connection reset, no answer");
  rate("--fail-hang", FailureKind::hang, "Probability of never answering");
  rate("--fail-malformed", FailureKind::malformed, "Probability of a 200 with invalid JSON");
  rate("--fail-truncated", FailureKind::truncated, "Probability of a body cut short");
  rate("--fail-stream-error", FailureKind::stream_error,
       "Probability that a streamed answer stops halfway with an error event after its 200 "
       "(unstreamed: a 500)");
  app.add_option("--retry-after", o.retry_after_s, "Retry-After seconds sent with 429")
      ->check(flags::in_range(0, 86400))
      ->capture_default_str();
  app.add_option("--health-delay", o.health_delay_s, "/health answers 503 for this many seconds")
      ->check(flags::in_range(0.0, kMaxSeconds));
  app.add_option("--dead-agents", dead_agents, "Agents answering 503 to everything, e.g. 0,5")
      ->delimiter(',');
  app.add_option("--dying-agents", dying_agents, "Agents that die (see --die-after-*), e.g. 3,7")
      ->delimiter(',');
  app.add_option("--die-after-requests", o.die_after_requests,
                 "Dying agents die after N generation requests (/health etc. do not count)")
      ->check(flags::positive<std::uint64_t>(std::uint64_t{1} << 53));
  app.add_option("--die-after-seconds", o.die_after_seconds,
                 "Dying agents die S s after they start accepting (first limit wins)")
      ->check(flags::in_range(0.0, kMaxSeconds));
  auto* die_mode_opt =
      app.add_option(
             "--die-mode", die_mode_text,
             "After death: 503 to everything, or close (refuse connections, reset old ones)")
          ->check(CLI::IsMember({"503", "close"}))
          ->capture_default_str();
  app.add_option("--late-agents", late_agents,
                 "Agents refusing connections until --late-after-seconds, e.g. 2,5")
      ->delimiter(',');
  app.add_option("--late-after-seconds", late_after, "When the --late-agents start listening")
      ->check(flags::positive(kMaxSeconds));
  app.add_option("--output-tokens", output_tokens_text,
                 "Echo/fixed answer length, padded or cut: fixed:N | uniform:LO:HI | "
                 "lognormal:MEDIAN:SIGMA");
  app.add_option("--record", record_path,
                 "Append one JSON line {agent, path, body} per generation request received");
  app.add_option("--list-reply", list_reply_text,
                 "Completions list prompts: object (vLLM), array (llama-server: one completion "
                 "object per prompt) or array-reversed (the same, last prompt first)")
      ->check(CLI::IsMember({"object", "array", "array-reversed"}))
      ->capture_default_str();
  app.add_option("--client-error-status", o.client_error_status,
                 "Answer request errors (vLLM's 400/404) with this status instead, e.g. 500")
      ->check(flags::in_range(400, 599));
  app.add_option("--error-body", error_body_text,
                 "Error bodies: json (vLLM's) or html (a proxy's error page)")
      ->check(CLI::IsMember({"json", "html"}))
      ->capture_default_str();
  app.add_option("--path-prefix", o.path_prefix,
                 "Serve every route under this base path (e.g. /agent/3, like a gateway); "
                 "--hostfile-out writes URLs with it");
  app.add_option("--expected-connections", expected_connections,
                 "Client connections to budget file descriptors for (default: one per agent)");

  try {
    app.parse(argc, argv);
    if (!ports_text.empty()) {
      o.ports = parse_port_list(ports_text);
      if (count_opt->count() > 0 && o.ports.size() != count) {
        throw OptionsError(
            fmt::format("--count {} but --ports lists {} ports", count, o.ports.size()));
      }
    } else if (port_base == 0) {
      o.ports.assign(count, 0);
    } else {
      if (port_base + count - 1 > 65535) {
        throw OptionsError(
            fmt::format("--port-base {} + --count {} goes past port 65535", port_base, count));
      }
      for (std::size_t k = 0; k < count; ++k) {
        o.ports.push_back(static_cast<std::uint16_t>(port_base + k));
      }
    }
    const std::size_t agents = o.ports.size();
    o.threads = static_cast<unsigned>(std::min<std::size_t>(o.threads, agents));
    if (hostfile_out) o.hostfile_out = *hostfile_out;
    o.agent_roles =
        roles_text.empty() ? std::vector<std::string>(agents) : assign_roles(roles_text, agents);
    for (const std::string& tag : tag_texts) {
      const std::size_t eq = tag.find('=');
      if (eq == 0 || eq == std::string::npos || tag.find_first_of(" \t#") != std::string::npos) {
        throw OptionsError(fmt::format("--tag: '{}' is not key=value without spaces", tag));
      }
      const std::string key = tag.substr(0, eq);
      if (key == "role" && !roles_text.empty()) {
        throw OptionsError("--tag role=... conflicts with --roles");
      }
      o.tags[key] = tag.substr(eq + 1);
    }
    o.mode = mode_text == "fixed" ? Mode::fixed : mode_text == "script" ? Mode::script : Mode::echo;
    if (o.mode == Mode::fixed && text_opt->count() == 0) {
      throw OptionsError("--mode fixed needs --text");
    }
    if (o.mode == Mode::script && script_opt->count() == 0) {
      throw OptionsError("--mode script needs --script FILE");
    }
    o.latency = parse_latency(latency_text);
    o.slow = agent_set(slow_agents, agents, "--slow-agents");
    mark_slow_fraction(o.slow, slow_fraction, o.seed);
    o.dead = agent_set(dead_agents, agents, "--dead-agents");
    set_dying(o, dying_agents, die_mode_text, die_mode_opt->count() > 0);
    set_late(o, late_agents, late_after);
    if (output_tokens_text) {
      if (o.mode == Mode::script) {
        throw OptionsError("--output-tokens: works with --mode echo or fixed, not script");
      }
      o.output_tokens = parse_output_tokens(*output_tokens_text);
    }
    set_failure_rates(o, rates);
    if (record_path) o.record_path = *record_path;
    o.list_reply = list_reply_text == "array"            ? ListReply::array
                   : list_reply_text == "array-reversed" ? ListReply::array_reversed
                                                         : ListReply::object;
    o.html_errors = error_body_text == "html";
    set_path_prefix(o);
    o.expected_connections = expected_connections.value_or(agents);
  } catch (const CLI::Success& e) {
    return {std::nullopt, app.exit(e)};
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr, "aswarm-mock-agent: error: {}\n", e.what());
    return {std::nullopt, 2};
  } catch (const OptionsError& e) {
    fmt::print(stderr, "aswarm-mock-agent: error: {}\n", e.what());
    return {std::nullopt, 2};
  }
  return {std::move(o), 0};
}

}  // namespace swarm::mock

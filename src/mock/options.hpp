#pragma once
/// @file options.hpp
/// The mock's command line: one plain struct, filled and validated by parse_command_line().

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace swarm::mock {

/// A flag value that is syntactically fine for CLI11 but makes no sense (exit code 2).
class OptionsError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class Mode : std::uint8_t { echo, fixed, script };

/// How /v1/completions answers a list prompt: vLLM's one object with a choice per prompt, or
/// llama.cpp's llama-server's JSON array of one completion object per prompt (optionally in
/// reverse order, so clients must match answers by `index`).
enum class ListReply : std::uint8_t { object, array, array_reversed };

/// A per-request distribution: latency in milliseconds (--latency) or answer length in tokens
/// (--output-tokens, which has no `tokens` kind).
struct LatencySpec {
  enum class Kind : std::uint8_t { fixed, uniform, lognormal, tokens };
  Kind kind = Kind::fixed;
  double a = 0.0;  ///< fixed: value; uniform: low; lognormal: median; tokens: time to first token
  double b = 0.0;  ///< uniform: high; lognormal: sigma; tokens: ms per completion token
};
using LengthSpec = LatencySpec;

/// Parses `fixed:MS`, `uniform:LO:HI`, `lognormal:MEDIAN:SIGMA`, `tokens:TTFT:PER_TOKEN`.
LatencySpec parse_latency(std::string_view text);
/// Parses `fixed:N`, `uniform:LO:HI` (whole tokens) or `lognormal:MEDIAN:SIGMA`.
LengthSpec parse_output_tokens(std::string_view text);

/// What a dying agent does once it dies: answer 503 like --dead-agents, or close its listening
/// socket (connection refused) and reset any request on a connection opened before.
enum class DieMode : std::uint8_t { http503, close };

/// Injected failure kinds, in the order their probabilities are stacked on one uniform draw.
/// stream_error: a streamed answer stops halfway with an error event after its 200 (what vLLM
/// sends when generation fails mid-stream); an unstreamed request gets a 500 instead.
enum class FailureKind : std::uint8_t {
  http500,
  http429,
  reset,
  hang,
  malformed,
  truncated,
  stream_error
};
inline constexpr std::size_t kFailureKinds = 7;
/// Label used in /metrics and in flag names.
std::string_view failure_label(FailureKind kind) noexcept;

struct Options {
  std::string host = "127.0.0.1";
  /// One entry per agent; 0 means "let the OS choose" (--port-base 0).
  std::vector<std::uint16_t> ports;
  unsigned threads = 1;
  std::optional<std::filesystem::path> hostfile_out;
  /// Role of each agent ("" when --roles is not given); same size as `ports`.
  std::vector<std::string> agent_roles;
  /// --tag key=value, added to every agent's hostfile line.
  std::map<std::string, std::string, std::less<>> tags;

  std::string model = "mock-model";
  std::size_t max_model_len = 32768;
  std::size_t embedding_dim = 16;

  Mode mode = Mode::echo;
  std::string text;                   ///< --mode fixed
  std::filesystem::path script_path;  ///< --mode script
  bool reasoning = false;

  std::uint64_t seed = 42;
  LatencySpec latency;
  std::size_t max_concurrent = 0;  ///< per agent; 0 = unlimited
  std::vector<bool> slow;          ///< per agent, from --slow-fraction and --slow-agents
  double slow_factor = 5.0;
  std::array<double, kFailureKinds> failure_rates{};
  int retry_after_s = 1;
  double health_delay_s = 0.0;
  std::vector<bool> dead;   ///< per agent, from --dead-agents
  std::vector<bool> dying;  ///< per agent, from --dying-agents
  /// A dying agent dies on whichever comes first: its Nth generation request has been received
  /// (that one is still answered), or S seconds have passed since it started accepting.
  std::optional<std::uint64_t> die_after_requests;
  std::optional<double> die_after_seconds;
  DieMode die_mode = DieMode::http503;
  std::vector<bool> late;  ///< per agent, from --late-agents: not listening until late_after_s
  double late_after_s = 0.0;
  std::optional<LengthSpec> output_tokens;  ///< --output-tokens: answer length per request

  // Other servers' shapes and request recording, for fidelity tests.
  std::optional<std::filesystem::path> record_path;  ///< --record: JSONL of requests received
  ListReply list_reply = ListReply::object;          ///< --list-reply
  int client_error_status = 0;  ///< --client-error-status: 4xx answered with this (0 = as is)
  bool html_errors = false;     ///< --error-body html: error bodies are an HTML page
  std::string path_prefix;      ///< --path-prefix: routes live under it (a gateway's base path)
  /// Client connections the process must be able to hold at once, on top of one listening
  /// socket per agent (checked against RLIMIT_NOFILE).
  std::size_t expected_connections = 0;

  [[nodiscard]] std::size_t agent_count() const noexcept { return ports.size(); }
};

/// What main() should do after parsing: run with `options`, or exit with `exit_code`
/// (0 after --help; 2 after a bad flag, with the message already printed).
struct ParseOutcome {
  std::optional<Options> options;
  int exit_code = 0;
};

ParseOutcome parse_command_line(int argc, char** argv);

/// Parses a port list such as `9001,9002,9010-9019`.
std::vector<std::uint16_t> parse_port_list(std::string_view text);

/// Splits `--roles` into one role per agent: `a,b` alternates (agent k gets roles[k % n]);
/// `a:3,b:1` gives contiguous blocks proportional to the weights.
std::vector<std::string> assign_roles(std::string_view spec, std::size_t agents);

}  // namespace swarm::mock

#include "recorder.hpp"

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "swarm/json_limits.hpp"

namespace swarm::mock {

RequestRecorder::RequestRecorder(const std::filesystem::path& path)
    : file_(std::fopen(path.c_str(), "w")) {
  if (file_ == nullptr) {
    throw std::runtime_error(
        fmt::format("--record: cannot open '{}': {}", path.string(), std::strerror(errno)));
  }
}

RequestRecorder::~RequestRecorder() {
  if (file_ != nullptr) std::fclose(file_);
}

void RequestRecorder::record(std::size_t agent, std::string_view path, std::string_view body,
                             int status, std::string_view reply) {
  using nlohmann::json;
  const auto as_json = [](std::string_view text) {
    JsonFault fault = JsonFault::none;
    json parsed = parse_json_limited(text, fault);
    return parsed.is_discarded() ? json(std::string(text)) : parsed;
  };
  const json line = {{"agent", agent},
                     {"path", path},
                     {"body", as_json(body)},
                     {"status", status},
                     {"reply", as_json(reply)}};
  std::string text = line.dump(-1, ' ', false, json::error_handler_t::replace);
  text += '\n';
  const std::lock_guard lock(mutex_);
  // Best effort: a full disk must not take the mock down mid-test; the test will see the gap.
  std::fwrite(text.data(), 1, text.size(), file_);
  std::fflush(file_);
}

}  // namespace swarm::mock

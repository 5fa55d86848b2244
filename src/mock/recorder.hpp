#pragma once
/// @file recorder.hpp
/// --record FILE: one JSON line per generation request received, so tests can check that what
/// a client sent is what the user wrote. Shared by every event-loop thread.

#include <cstddef>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <string_view>

namespace swarm::mock {

class RequestRecorder {
 public:
  /// Creates or truncates `path`; throws std::runtime_error naming it.
  explicit RequestRecorder(const std::filesystem::path& path);
  ~RequestRecorder();
  RequestRecorder(const RequestRecorder&) = delete;
  RequestRecorder& operator=(const RequestRecorder&) = delete;

  /// Appends {"agent", "path", "body", "status", "reply"} and flushes, so a reader sees every
  /// request answered so far even if the mock is killed. `body` and `reply` (the reply the
  /// route produced, before any injected failure replaces it) are stored as JSON when they
  /// parse, else as strings.
  void record(std::size_t agent, std::string_view path, std::string_view body, int status,
              std::string_view reply);

 private:
  std::mutex mutex_;
  std::FILE* file_ = nullptr;
};

}  // namespace swarm::mock

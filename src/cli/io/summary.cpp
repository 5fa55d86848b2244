#include "io/summary.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "io/file_handles.hpp"

namespace swarm::cli {
namespace {

// Cut at a UTF-8 character boundary so the key stays valid text.
std::string truncate_utf8(std::string_view text, std::size_t limit) {
  if (text.size() <= limit) return std::string(text);
  std::size_t cut = limit;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0U) == 0x80U) --cut;
  return std::string(text.substr(0, cut));
}

double milliseconds(std::chrono::duration<double> d) {
  return std::round(d.count() * 1e6) / 1e3;
}

}  // namespace

RunSummary::RunSummary() : start_(std::chrono::steady_clock::now()) {}

void RunSummary::add(const swarm::Response& response, std::string_view endpoint) {
  ++requests_;
  attempts_ += static_cast<std::uint64_t>(std::max(response.attempts, 0));
  retries_ += static_cast<std::uint64_t>(std::max(response.attempts - 1, 0));
  usage_ += response.usage;
  if (response.success) {
    ++ok_;
    latency_.add(response.latency);
    return;
  }
  const std::string_view where = endpoint.empty() ? kNoEndpoint : endpoint;
  auto it = failures_by_endpoint_.find(where);
  if (it == failures_by_endpoint_.end()) it = failures_by_endpoint_.emplace(where, 0).first;
  ++it->second;

  const std::string_view kind =
      response.kind == FailureKind::none ? kUnknownKind : to_string(response.kind);
  auto by_kind = failures_by_kind_.find(kind);
  if (by_kind == failures_by_kind_.end()) by_kind = failures_by_kind_.emplace(kind, 0).first;
  ++by_kind->second;

  std::string reason = truncate_utf8(response.error, kReasonLength);
  auto found = failure_reasons_.find(reason);
  if (found != failure_reasons_.end()) {
    ++found->second;
  } else if (failure_reasons_.size() < kMaxDistinctReasons) {
    failure_reasons_.emplace(std::move(reason), 1);
  } else {
    // Errors that embed request details are all different: cap the map, count the rest.
    ++failure_reasons_["(other)"];
  }
}

void RunSummary::set_extra(const std::string& key, nlohmann::json value) {
  extra_[key] = std::move(value);
}

nlohmann::json RunSummary::to_json() const {
  using nlohmann::json;
  const std::chrono::duration<double> wall =
      wall_.value_or(std::chrono::steady_clock::now() - start_);
  json out;
  out["requests"] = requests_;
  out["ok"] = ok_;
  out["failed"] = failed();
  out["attempts"] = attempts_;
  out["retries"] = retries_;
  out["usage"] = {{"prompt_tokens", usage_.prompt_tokens},
                  {"completion_tokens", usage_.completion_tokens},
                  {"total_tokens", usage_.total_tokens}};
  out["wall_time_s"] = std::round(wall.count() * 1e3) / 1e3;
  out["throughput_rps"] =
      wall.count() > 0 ? std::round(static_cast<double>(requests_) / wall.count() * 1e3) / 1e3
                       : 0.0;
  json latency{{"count", latency_.count()}};
  if (latency_.count() > 0) {
    latency["p50"] = milliseconds(latency_.quantile(0.50));
    latency["p90"] = milliseconds(latency_.quantile(0.90));
    latency["p99"] = milliseconds(latency_.quantile(0.99));
    latency["max"] = milliseconds(latency_.max());
  } else {
    for (const char* key : {"p50", "p90", "p99", "max"}) latency[key] = nullptr;
  }
  out["latency_ms"] = std::move(latency);
  out["failures_by_endpoint"] = json::object();
  for (const auto& [url, count] : failures_by_endpoint_) out["failures_by_endpoint"][url] = count;
  out["failures_by_kind"] = json::object();
  for (const auto& [kind, count] : failures_by_kind_) out["failures_by_kind"][kind] = count;

  std::vector<std::pair<std::string_view, std::uint64_t>> reasons(failure_reasons_.begin(),
                                                                  failure_reasons_.end());
  const std::size_t top = std::min(kTopReasons, reasons.size());
  // Most frequent first; ties alphabetically so the file is deterministic.
  std::partial_sort(reasons.begin(), reasons.begin() + static_cast<std::ptrdiff_t>(top),
                    reasons.end(), [](const auto& a, const auto& b) {
                      return a.second != b.second ? a.second > b.second : a.first < b.first;
                    });
  out["top_failure_reasons"] = json::array();
  for (std::size_t i = 0; i < top; ++i) {
    out["top_failure_reasons"].push_back(
        {{"error", reasons[i].first}, {"count", reasons[i].second}});
  }
  for (const auto& [key, value] : extra_.items()) out[key] = value;
  return out;
}

void RunSummary::write(const std::string& path) const {
  detail::AtomicFile file(path);
  file.write(to_json().dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
  file.commit();
}

}  // namespace swarm::cli

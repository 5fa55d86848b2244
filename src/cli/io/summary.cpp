#include "io/summary.hpp"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <vector>

#include <fmt/format.h>

#include "io/file_handles.hpp"
#include "swarm/version.hpp"

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

double rounded(double x, double scale = 1e3) {
  return std::round(x * scale) / scale;
}

std::string iso_utc(std::chrono::system_clock::time_point t) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(t);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

// vllm bench serve's five statistics of one metric, e.g. mean_ttft_ms ... p99_ttft_ms (null
// without samples: a run that did not stream has no TTFT).
void put_stats(nlohmann::json& out, const LatencyHistogram& h, std::string_view metric) {
  const auto put = [&](std::string_view stat, std::chrono::duration<double> value) {
    const std::string key = fmt::format("{}_{}_ms", stat, metric);
    out[key] = h.count() > 0 ? nlohmann::json(milliseconds(value)) : nlohmann::json(nullptr);
  };
  put("mean", h.mean());
  put("median", h.quantile(0.50));
  put("std", h.stddev());
  put("p90", h.quantile(0.90));
  put("p99", h.quantile(0.99));
}

// The non-empty buckets of `h` as [[upper_ms, count], ...], ascending: what a report draws (at
// most LatencyHistogram::kBuckets pairs, whatever the number of requests).
nlohmann::json buckets(const LatencyHistogram& h) {
  nlohmann::json out = nlohmann::json::array();
  for (std::size_t i = 0; i < LatencyHistogram::kBuckets; ++i) {
    if (const std::uint64_t n = h.bucket_count(i); n > 0) {
      out.push_back({rounded(LatencyHistogram::bucket_upper(i) * 1e3, 1e6), n});
    }
  }
  return out;
}

}  // namespace

RunSummary::RunSummary()
    : start_(std::chrono::steady_clock::now()), started_at_(std::chrono::system_clock::now()) {}

void RunSummary::add(const swarm::Response& response, std::string_view endpoint) {
  ++requests_;
  attempts_ += static_cast<std::uint64_t>(std::max(response.attempts, 0));
  retries_ += static_cast<std::uint64_t>(std::max(response.attempts - 1, 0));
  usage_ += response.usage;
  const std::string_view where = endpoint.empty() ? kNoEndpoint : endpoint;
  auto row = endpoints_.find(where);
  if (row == endpoints_.end()) row = endpoints_.emplace(where, EndpointRow{}).first;
  ++row->second.requests;
  const auto second = static_cast<std::size_t>(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count());
  if (timeline_.size() <= second) timeline_.resize(second + 1);
  if (!response.model.empty() && models_.size() < kMaxModels &&
      std::find(models_.begin(), models_.end(), response.model) == models_.end()) {
    models_.push_back(response.model);
  }
  if (response.success) {
    ++ok_;
    ++timeline_[second].ok;
    ok_usage_ += response.usage;
    latency_.add(response.latency);
    row->second.latency.add(response.latency);
    row->second.output_tokens += response.usage.completion_tokens;
    if (response.ttft.count() > 0) {
      ttft_.add(response.ttft);
      const auto tokens = response.usage.completion_tokens;
      if (tokens > 1) {
        tpot_.add((response.latency - response.ttft) / static_cast<double>(tokens - 1));
      }
      for (const float gap : response.itl) itl_.add(std::chrono::duration<double>(gap));
    }
    return;
  }
  ++row->second.failed;
  ++timeline_[second].failed;
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
  // Successful requests only: failures such as "connection refused" return in microseconds.
  const auto per_second = [&](double n) {
    return wall.count() > 0 ? rounded(n / wall.count()) : 0.0;
  };
  out["throughput_rps"] = per_second(static_cast<double>(ok_));
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

  // vllm bench serve's names for the same quantities (README "Run summary").
  out["completed"] = ok_;
  out["duration"] = rounded(wall.count(), 1e6);
  out["total_input_tokens"] = ok_usage_.prompt_tokens;
  out["total_output_tokens"] = ok_usage_.completion_tokens;
  out["request_throughput"] = per_second(static_cast<double>(ok_));
  out["output_throughput"] = per_second(static_cast<double>(ok_usage_.completion_tokens));
  out["total_token_throughput"] =
      per_second(static_cast<double>(ok_usage_.prompt_tokens + ok_usage_.completion_tokens));
  put_stats(out, latency_, "e2el");
  put_stats(out, ttft_, "ttft");
  put_stats(out, tpot_, "tpot");
  put_stats(out, itl_, "itl");

  out["histograms"] = {{"e2el_ms", buckets(latency_)}, {"ttft_ms", buckets(ttft_)}};
  out["aswarm_version"] = swarm::kVersion;
  out["models"] = models_;
  out["start_time"] = iso_utc(started_at_);
  out["end_time"] =
      iso_utc(started_at_ + std::chrono::duration_cast<std::chrono::system_clock::duration>(wall));
  out["endpoints"] = json::array();
  for (const auto& [url, row] : endpoints_) {
    const bool any = row.latency.count() > 0;
    out["endpoints"].push_back(
        {{"endpoint", url},
         {"requests", row.requests},
         {"failed", row.failed},
         {"p50_ms", any ? json(milliseconds(row.latency.quantile(0.5))) : json(nullptr)},
         {"p99_ms", any ? json(milliseconds(row.latency.quantile(0.99))) : json(nullptr)},
         {"output_tokens_per_s", per_second(static_cast<double>(row.output_tokens))}});
  }
  out["timeline"] = json::array();
  for (std::size_t t = 0; t < timeline_.size(); ++t) {
    out["timeline"].push_back({{"t", t}, {"ok", timeline_[t].ok}, {"failed", timeline_[t].failed}});
  }
  for (const auto& [key, value] : extra_.items()) out[key] = value;
  return out;
}

void RunSummary::write(const std::string& path) const { write(to_json(), path); }

void RunSummary::write(const nlohmann::json& summary, const std::string& path) {
  detail::AtomicFile file(path);
  file.write(summary.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
  file.commit();
}

}  // namespace swarm::cli

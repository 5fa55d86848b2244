#pragma once
/// @file http_client.hpp
/// Minimal blocking HTTP for the tests: one libcurl easy handle per request, 127.0.0.1 only.

#include <curl/curl.h>

#include <chrono>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace swarm::mock::test {

using namespace std::chrono_literals;

struct HttpResponse {
  long status = 0;            ///< 0 when no HTTP answer arrived
  CURLcode error = CURLE_OK;  ///< transport outcome
  std::string body;
  std::map<std::string, std::string> headers;  ///< names lower-cased
  std::chrono::duration<double> elapsed{};

  /// The body as JSON (throws nlohmann::json::parse_error when it is not).
  [[nodiscard]] nlohmann::json json() const { return nlohmann::json::parse(body); }
};

/// Sends one request; `body` is sent (as application/json) when not empty.
HttpResponse http_request(std::string_view method, const std::string& url,
                          const std::string& body = {}, std::chrono::milliseconds timeout = 20s);

inline HttpResponse http_get(const std::string& url, std::chrono::milliseconds timeout = 20s) {
  return http_request("GET", url, {}, timeout);
}

inline HttpResponse http_post(const std::string& url, const std::string& body,
                              std::chrono::milliseconds timeout = 20s) {
  return http_request("POST", url, body, timeout);
}

/// POSTs body[i] to url[i], all at the same time (one thread each); results in input order.
std::vector<HttpResponse> post_concurrently(const std::vector<std::string>& urls,
                                            const std::vector<std::string>& bodies);

/// A chat completion request whose last user message is `prompt`.
std::string chat_body(std::string_view prompt, int max_tokens = 0);

/// The value of one Prometheus series, written exactly as the mock renders it (e.g.
/// `aswarm_mock_requests_total{port="123",route="/health"}`); 0 when the series is absent.
double metric(const std::string& exposition, std::string_view series);

}  // namespace swarm::mock::test

#include "http_client.hpp"

#include <algorithm>
#include <cctype>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace swarm::mock::test {
namespace {

struct CurlGlobal {
  CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
  ~CurlGlobal() { curl_global_cleanup(); }
  CurlGlobal(const CurlGlobal&) = delete;
  CurlGlobal& operator=(const CurlGlobal&) = delete;
};

using EasyHandle = std::unique_ptr<CURL, decltype(&curl_easy_cleanup)>;
using HeaderList = std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)>;

std::size_t append_body(char* data, std::size_t size, std::size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

std::size_t append_header(char* data, std::size_t size, std::size_t count, void* out) {
  const std::string line(data, size * count);
  const std::size_t colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    std::string value = line.substr(colon + 1);
    const auto first = value.find_first_not_of(" \t");
    const auto last = value.find_last_not_of(" \t\r\n");
    value = first == std::string::npos ? "" : value.substr(first, last - first + 1);
    (*static_cast<std::map<std::string, std::string>*>(out))[name] = value;
  }
  return size * count;
}

}  // namespace

HttpResponse http_request(std::string_view method, const std::string& url, const std::string& body,
                          std::chrono::milliseconds timeout) {
  // Thread-safe one-time initialisation (curl_global_init itself is not, in curl < 7.84).
  static CurlGlobal global;
  if (url.rfind("http://127.0.0.1:", 0) != 0) {
    throw std::invalid_argument("tests talk to 127.0.0.1 only: " + url);
  }
  EasyHandle curl(curl_easy_init(), &curl_easy_cleanup);
  HeaderList headers(nullptr, &curl_slist_free_all);
  HttpResponse response;
  const std::string method_text(method);
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_CUSTOMREQUEST, method_text.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);  // timeouts from many threads
  curl_easy_setopt(curl.get(), CURLOPT_NOPROXY, "*");  // a CI proxy must not see 127.0.0.1
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, &append_body);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &response.body);
  curl_easy_setopt(curl.get(), CURLOPT_HEADERFUNCTION, &append_header);
  curl_easy_setopt(curl.get(), CURLOPT_HEADERDATA, &response.headers);
  if (!body.empty()) {
    headers.reset(curl_slist_append(nullptr, "Content-Type: application/json"));
    // No "Expect: 100-continue" round trip for bodies over 1 KiB.
    headers.reset(curl_slist_append(headers.release(), "Expect:"));
    curl_easy_setopt(curl.get(), CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  }
  const auto start = std::chrono::steady_clock::now();
  response.error = curl_easy_perform(curl.get());
  response.elapsed = std::chrono::steady_clock::now() - start;
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &response.status);
  return response;
}

std::vector<HttpResponse> post_concurrently(const std::vector<std::string>& urls,
                                            const std::vector<std::string>& bodies) {
  std::vector<HttpResponse> responses(urls.size());
  {
    std::vector<std::jthread> threads;
    for (std::size_t i = 0; i < urls.size(); ++i) {
      threads.emplace_back([&, i] { responses[i] = http_post(urls[i], bodies.at(i)); });
    }
  }
  return responses;
}

std::string chat_body(std::string_view prompt, int max_tokens) {
  nlohmann::json body = {{"model", "mock-model"},
                         {"messages", {{{"role", "user"}, {"content", prompt}}}}};
  if (max_tokens > 0) body["max_tokens"] = max_tokens;
  return body.dump();
}

double metric(const std::string& exposition, std::string_view series) {
  std::istringstream lines(exposition);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 &&
        line[series.size()] == ' ') {
      return std::stod(line.substr(series.size() + 1));
    }
  }
  return 0.0;
}

}  // namespace swarm::mock::test

// Every failure class ends as exactly one failed Response with a precise error and its
// FailureKind; transient ones are retried (and only those), counted in `attempts`, and the mock's
// counters agree.

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <thread>
#include <vector>

#include "pool_test_util.hpp"

namespace swarm::pool_test {
namespace {

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

TEST(PoolFailures, ConnectionRefusedIsRetriedThenFails) {
  auto o = test_options();
  o.retries = 2;
  const RefusedPort down;
  AgentPool pool({Endpoint{.host = "127.0.0.1", .port = down.port()}}, o);
  const auto r = pool.post(0, "x", {.max_tokens = 5});
  EXPECT_FALSE(r.success);
  EXPECT_TRUE(contains(r.error, "Couldn't connect to server")) << r.error;
  EXPECT_EQ(r.kind, FailureKind::connect);
  EXPECT_EQ(r.attempts, 3);
  EXPECT_EQ(r.http_status, 0);
  EXPECT_EQ(pool.stats().retries, 2u);
}

TEST(PoolFailures, ConnectionResetIsRetriedAndCounted) {
  MockProcess mock({"--count", "1", "--fail-reset", "1"});
  auto o = test_options();
  o.retries = 2;
  AgentPool pool(mock.agents(), o);
  const auto r = pool.post(0, "x");
  EXPECT_FALSE(r.success);
  EXPECT_TRUE(contains(r.error, "Server returned nothing") || contains(r.error, "Recv failure"))
      << r.error;
  EXPECT_EQ(r.kind, FailureKind::reset);
  EXPECT_EQ(r.attempts, 3);
  EXPECT_EQ(requests(metrics_of(mock), mock, 0, "/v1/chat/completions"), 3);
}

TEST(PoolFailures, TotalTimeoutOnAHangingServer) {
  MockProcess mock({"--count", "1", "--fail-hang", "1"});
  auto o = test_options();
  o.retries = 0;
  o.timeout = Seconds(0.3);
  AgentPool pool(mock.agents(), o);
  const auto r = pool.post(0, "x");
  EXPECT_FALSE(r.success);
  EXPECT_TRUE(contains(r.error, "Timeout was reached")) << r.error;
  EXPECT_EQ(r.kind, FailureKind::timeout);
  EXPECT_GE(r.latency.count(), 0.29);
  EXPECT_EQ(r.attempts, 1);
}

TEST(PoolFailures, Http500CarriesVllmMessageAndIsNotRetried) {
  MockProcess mock({"--count", "1", "--fail-500", "1"});
  auto o = test_options();
  AgentPool pool(mock.agents(), o);
  const auto r = pool.post(0, "x");
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.http_status, 500);
  EXPECT_EQ(r.kind, FailureKind::http_status);
  EXPECT_EQ(r.attempts, 1);
  EXPECT_EQ(r.error.rfind("HTTP 500: ", 0), 0u) << r.error;
  EXPECT_GT(r.error.size(), std::string("HTTP 500: ").size());
  EXPECT_FALSE(contains(r.error, "{"));  // the message, not the raw JSON body
}

TEST(PoolFailures, Http429HonoursRetryAfter) {
  MockProcess mock({"--count", "1", "--fail-429", "1", "--retry-after", "1"});
  auto o = test_options();
  o.retries = 1;
  AgentPool pool(mock.agents(), o);
  const auto r = pool.post(0, "x");
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.http_status, 429);
  EXPECT_EQ(r.kind, FailureKind::http_status);
  EXPECT_EQ(r.attempts, 2);
  EXPECT_GE(r.latency.count(), 0.95);  // waited the server's Retry-After, not 10 ms of backoff
}

TEST(PoolFailures, Http503FromADeadServerIsRetriedToExhaustion) {
  MockProcess mock({"--count", "2", "--dead-agents", "1"});
  auto o = test_options();
  o.retries = 3;
  AgentPool pool(mock.agents(), o);
  const auto results = pool.broadcast_prompt("x");
  EXPECT_TRUE(results[0].success);
  EXPECT_EQ(results[0].kind, FailureKind::none);
  EXPECT_FALSE(results[1].success);
  EXPECT_EQ(results[1].http_status, 503);
  EXPECT_EQ(results[1].kind, FailureKind::http_status);
  EXPECT_EQ(results[1].attempts, 4);
  EXPECT_EQ(requests(metrics_of(mock), mock, 1, "/v1/chat/completions"), 4);
}

TEST(PoolFailures, MalformedTruncatedAndOversizeBodies) {
  auto o = test_options();
  {
    MockProcess mock({"--count", "1", "--fail-malformed", "1"});
    const auto r = AgentPool(mock.agents(), o).post(0, "x");
    EXPECT_FALSE(r.success);
    EXPECT_EQ(r.error.rfind("malformed JSON in response", 0), 0u) << r.error;
    EXPECT_EQ(r.kind, FailureKind::decode);
    EXPECT_EQ(r.attempts, 1);
  }
  {
    MockProcess mock({"--count", "1", "--fail-truncated", "1"});
    const auto r = AgentPool(mock.agents(), o).post(0, "x");
    EXPECT_FALSE(r.success);
    EXPECT_TRUE(contains(r.error, "Transferred a partial file")) << r.error;
    EXPECT_EQ(r.kind, FailureKind::reset);
    EXPECT_EQ(r.attempts, 1);
    EXPECT_EQ(requests(metrics_of(mock), mock, 0, "/v1/chat/completions"), 1);
  }
  {
    MockProcess mock({"--count", "1"});
    o.max_response_bytes = 64;
    const auto r = AgentPool(mock.agents(), o).post(0, std::string(500, 'x'));
    EXPECT_FALSE(r.success);
    EXPECT_EQ(r.error, "response body exceeds max_response_bytes (64 bytes)");
    EXPECT_EQ(r.kind, FailureKind::oversize);
    EXPECT_EQ(r.attempts, 1);
  }
}

TEST(PoolFailures, MixedFailuresGiveExactlyOneResponseEachAndNoUncountedResends) {
  MockProcess mock({"--count", "4", "--fail-500", "0.2", "--fail-reset", "0.15", "--fail-malformed",
                    "0.1", "--fail-429", "0.1", "--retry-after", "0"});
  auto o = test_options();
  o.retries = 2;
  AgentPool pool(mock.agents(), o);
  std::vector<int> calls(300, 0);
  std::int64_t attempts = 0;
  std::size_t ok = 0;
  pool.stream(
      300, [](std::size_t i) { return "m" + std::to_string(i); },
      [&](std::size_t i, Response&& r) {
        ++calls[i];
        attempts += r.attempts;
        if (r.success) {
          ++ok;
          EXPECT_EQ(r.text, "completion: m" + std::to_string(i));
          EXPECT_EQ(r.kind, FailureKind::none);
        } else {
          EXPECT_FALSE(r.error.empty());
          // Only what the mock injects: 500/429 statuses, resets, malformed bodies.
          EXPECT_TRUE(r.kind == FailureKind::http_status || r.kind == FailureKind::reset ||
                      r.kind == FailureKind::decode)
              << to_string(r.kind) << ": " << r.error;
        }
      });
  for (int c : calls) ASSERT_EQ(c, 1);
  EXPECT_GT(ok, 0u);
  EXPECT_LT(ok, 300u);
  const auto m = metrics_of(mock);
  double sent = 0;
  for (std::size_t a = 0; a < 4; ++a) sent += requests(m, mock, a, "/v1/chat/completions");
  EXPECT_EQ(sent, static_cast<double>(attempts));
  // Resets on reused keep-alive connections make libcurl re-send silently; those must have
  // happened here and been counted, or this test would not prove the counting.
  EXPECT_GT(pool.stats().resends, 0u);
}

class ProxyEnv : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string proxy = "http://127.0.0.1:" + std::to_string(free_port());
    for (const char* v : {"http_proxy", "HTTP_PROXY", "https_proxy", "all_proxy"}) {
      ::setenv(v, proxy.c_str(), 1);
    }
  }
  void TearDown() override {
    for (const char* v : {"http_proxy", "HTTP_PROXY", "https_proxy", "all_proxy"}) ::unsetenv(v);
  }
};

TEST_F(ProxyEnv, ProxyVariablesAreIgnoredUnlessAskedFor) {
  MockProcess mock({"--count", "1"});
  auto o = test_options();
  o.retries = 0;
  EXPECT_TRUE(AgentPool(mock.agents(), o).post(0, "direct").success);
  o.use_proxy = true;  // the variables are live: opting in sends the call to the dead proxy
  const auto r = AgentPool(mock.agents(), o).post(0, "via proxy");
  EXPECT_FALSE(r.success);
  EXPECT_TRUE(contains(r.error, "connect")) << r.error;
  EXPECT_EQ(r.kind, FailureKind::connect);
}

/// A one-shot raw TCP listener that records the request head and answers with `reply`.
class OneShotServer {
 public:
  explicit OneShotServer(std::string reply) : reply_(std::move(reply)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(fd_, 4);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] {
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      char buf[8192];
      // Read until the end of the head (bounded: at most a few reads of a small request).
      for (int i = 0; i < 20 && request_.find("\r\n\r\n") == std::string::npos; ++i) {
        const auto n = ::read(c, buf, sizeof buf);
        if (n <= 0) break;
        request_.append(buf, static_cast<std::size_t>(n));
      }
      (void)::write(c, reply_.data(), reply_.size());
      ::close(c);
    });
  }
  ~OneShotServer() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  OneShotServer(const OneShotServer&) = delete;
  OneShotServer& operator=(const OneShotServer&) = delete;
  [[nodiscard]] std::uint16_t port() const { return port_; }
  [[nodiscard]] const std::string& request() const { return request_; }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::string reply_;
  std::string request_;
  std::thread thread_;
};

TEST(PoolAuth, ApiKeyIsSentButNeverAppearsInErrors) {
  const std::string key = "sk-TEST-SECRET-4711";
  const std::string body = R"({"error":{"message":"invalid key sk-TEST-SECRET-4711","code":401}})";
  std::string reply =
      "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\n"
      "Content-Length: " +
      std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
  std::string request_head;
  {
    OneShotServer server(reply);
    auto o = test_options();
    o.api_key = key;
    o.retries = 0;
    AgentPool pool({Endpoint{.host = "127.0.0.1", .port = server.port()}}, o);
    const auto r = pool.post(0, "x");
    EXPECT_FALSE(r.success);
    EXPECT_EQ(r.http_status, 401);
    EXPECT_EQ(r.error, "HTTP 401: invalid key ***");
    EXPECT_EQ(r.kind, FailureKind::http_status);
    request_head = server.request();
  }
  EXPECT_TRUE(contains(request_head, "Authorization: Bearer " + key)) << request_head;
  EXPECT_FALSE(contains(request_head, "Expect:")) << "100-continue must be off";

  // Transport errors never carry it either.
  auto o = test_options();
  o.api_key = key;
  o.retries = 0;
  const RefusedPort down;
  const auto refused =
      AgentPool({Endpoint{.host = "127.0.0.1", .port = down.port()}}, o).post(0, "x");
  EXPECT_FALSE(refused.success);
  EXPECT_FALSE(contains(refused.error, key));
}

TEST(PoolFailures, TlsToAPlainHttpServerIsATlsFailure) {
  MockProcess mock({"--count", "1"});
  auto agents = mock.agents();
  agents[0].scheme = Scheme::https;  // the mock speaks plain HTTP: the handshake fails
  auto o = test_options();
  o.retries = 0;
  const auto r = AgentPool(agents, o).post(0, "x");
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.kind, FailureKind::tls) << r.error;
  EXPECT_EQ(r.http_status, 0);
}

TEST(PoolFailures, AReplyThatIsNotHttpIsATransportFailure) {
  OneShotServer server("this is not HTTP\r\n\r\n");
  auto o = test_options();
  o.retries = 0;
  const auto r = AgentPool({Endpoint{.host = "127.0.0.1", .port = server.port()}}, o).post(0, "x");
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.kind, FailureKind::transport) << r.error;
  EXPECT_EQ(r.http_status, 0);
}

TEST(PoolFailures, BatchedAndEmbeddingDecodeFailures) {
  MockProcess mock({"--count", "1", "--fail-malformed", "1"});
  auto o = test_options();
  AgentPool pool(mock.agents(), o);
  const std::vector<std::string> prompts{"a", "b"};
  for (const auto& r : pool.send_all_batched(prompts, 2)) {
    EXPECT_FALSE(r.success);
    EXPECT_EQ(r.kind, FailureKind::decode) << r.error;
  }
  for (const auto& e : pool.embed_all(prompts, 2)) {
    EXPECT_FALSE(e.response.success);
    EXPECT_EQ(e.response.kind, FailureKind::decode) << e.response.error;
  }
}

}  // namespace
}  // namespace swarm::pool_test

// AgentPool::get / get_all: raw GETs without protocol decoding (what aswarm-health probes with).

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "pool_test_util.hpp"

namespace swarm::pool_test {
namespace {

TEST(PoolGet, HealthOfAliveAndDeadAgents) {
  MockProcess mock({"--count", "2", "--dead-agents", "1"});
  auto o = test_options();
  o.retries = 0;
  AgentPool pool(mock.agents(), o);
  const auto r = pool.get_all("/health", Seconds(5));
  ASSERT_EQ(r.size(), 2u);
  EXPECT_TRUE(r[0].success);
  EXPECT_EQ(r[0].kind, FailureKind::none);
  EXPECT_EQ(r[0].http_status, 200);
  EXPECT_EQ(r[0].agent_index, 0);
  EXPECT_EQ(r[0].attempts, 1);
  EXPECT_FALSE(r[1].success);
  EXPECT_EQ(r[1].kind, FailureKind::http_status);
  EXPECT_EQ(r[1].http_status, 503);
  EXPECT_EQ(r[1].error, "HTTP 503: this agent is down (--dead-agents)");
  // The body of an error reply is kept: probes show its first line.
  EXPECT_NE(r[1].text.find("this agent is down"), std::string::npos) << r[1].text;
  EXPECT_EQ(requests(metrics_of(mock), mock, 1, "/health"), 1);
}

TEST(PoolGet, BodyIsRawAndSubPoolIndicesAreTheSubPools) {
  MockProcess mock({"--count", "3"});
  AgentPool pool(mock.agents(), test_options());
  const std::vector<std::size_t> pick{2};
  const auto r = pool.select(pick).get_all("/v1/models", Seconds(5));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_TRUE(r[0].success) << r[0].error;
  EXPECT_EQ(r[0].agent_index, 0);
  EXPECT_NE(r[0].text.find("\"data\""), std::string::npos) << r[0].text;
  const auto m = metrics_of(mock);
  EXPECT_EQ(requests(m, mock, 2, "/v1/models"), 1);
  EXPECT_EQ(requests(m, mock, 0, "/v1/models"), 0);
}

/// A listening socket that never accepts: connects succeed (the kernel's backlog), replies never
/// come.
class SilentListener {
 public:
  SilentListener() : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(fd_, 4);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~SilentListener() { ::close(fd_); }
  SilentListener(const SilentListener&) = delete;
  SilentListener& operator=(const SilentListener&) = delete;
  [[nodiscard]] std::uint16_t port() const { return port_; }

 private:
  int fd_;
  std::uint16_t port_ = 0;
};

TEST(PoolGet, RefusedAndTimedOutProbesCarryTheirKind) {
  auto o = test_options();
  o.retries = 0;
  const RefusedPort down;
  AgentPool refused({Endpoint{.host = "127.0.0.1", .port = down.port()}}, o);
  const auto r = refused.get_all("/health", Seconds(5));
  EXPECT_EQ(r[0].kind, FailureKind::connect) << r[0].error;
  EXPECT_TRUE(r[0].text.empty());

  // A zero timeout is raised to 1 ms instead of meaning "none" to libcurl (the test would hang).
  SilentListener silent;
  AgentPool pool({Endpoint{.host = "127.0.0.1", .port = silent.port()}}, o);
  const auto t = pool.get_all("/health", Seconds(0));
  EXPECT_FALSE(t[0].success);
  EXPECT_EQ(t[0].kind, FailureKind::timeout) << t[0].error;
  EXPECT_LT(t[0].latency.count(), 5.0);
}

}  // namespace
}  // namespace swarm::pool_test

// aswarm-health's pieces in-process: --min-healthy parsing, the hostfile wait, the atomic write,
// the prober and the gate against a real aswarm-mock-agent on 127.0.0.1. Waits are bounded and
// timing assertions are generous (2 shared cores).

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <fstream>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "gate.hpp"
#include "hostfile_io.hpp"
#include "mock_process.hpp"
#include "options.hpp"
#include "prober.hpp"
#include "swarm/hostfile.hpp"

namespace swarm::health {
namespace {

using namespace std::chrono_literals;
using mock::test::MockProcess;
using mock::test::TempDir;
using Duration = std::chrono::duration<double>;

spdlog::logger& quiet_log() {
  static spdlog::logger log("test", std::make_shared<spdlog::sinks::null_sink_mt>());
  return log;
}

void write(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

std::string read(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// A port on 127.0.0.1 where nothing listens: the mock's own port after the mock has exited.
std::uint16_t closed_port() {
  MockProcess mock({"--count", "1"});
  const auto port = mock.port(0);
  mock.stop();
  return port;
}

/// A TCP listener on 127.0.0.1 that never accepts: connections complete in the kernel's backlog
/// and requests are never answered, like a server stuck while loading.
class SilentListener {
 public:
  SilentListener() : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (fd_ < 0 || bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
        listen(fd_, 64) != 0 || getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      throw std::runtime_error("cannot listen on 127.0.0.1");
    }
    port_ = ntohs(addr.sin_port);
  }
  ~SilentListener() { close(fd_); }
  SilentListener(const SilentListener&) = delete;
  SilentListener& operator=(const SilentListener&) = delete;
  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }

 private:
  int fd_;
  std::uint16_t port_ = 0;
};

TEST(MinHealthy, CountsAndPercentages) {
  EXPECT_EQ(parse_min_healthy("0").required(10), 0U);
  EXPECT_EQ(parse_min_healthy("12").required(10), 12U);
  EXPECT_EQ(parse_min_healthy("90%").required(10), 9U);
  EXPECT_EQ(parse_min_healthy("90%").required(15), 14U);  // 13.5 rounds up
  EXPECT_EQ(parse_min_healthy("100%").required(7), 7U);
  EXPECT_EQ(parse_min_healthy("0.5%").required(1000), 5U);
  EXPECT_EQ(parse_min_healthy("90%").describe(), "90%");
  for (const char* bad : {"", "-1", "x", "1.5", "0%", "101%", "%", "9 0%", "90%%"}) {
    EXPECT_THROW((void)parse_min_healthy(bad), std::invalid_argument) << bad;
  }
}

TEST(HealthFlags, NumbersAreFiniteAndInRange) {
  // CLI11's ranges compare doubles, so "nan" passed them and --timeout nan never expired.
  const auto error_of = [](std::vector<std::string> args) {
    CLI::App app;
    Options o;
    add_options(app, o);
    args.insert(args.begin(), {"aswarm-health", "--hostfile", "h"});
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    try {
      app.parse(static_cast<int>(argv.size()), argv.data());
    } catch (const CLI::ParseError& e) {
      return std::string(e.what());
    }
    return std::string{};
  };
  EXPECT_EQ(error_of({"--timeout", "nan"}), "--timeout: 'nan' is not a finite number in [0.001, 8640000]");
  EXPECT_EQ(error_of({"--settle", "1e308"}), "--settle: '1e308' is out of range [0, 8640000]");
  EXPECT_EQ(error_of({"--concurrency", "-3"}),
            "--concurrency: '-3' is not a whole number (expected one in (0, 1000000])");
  EXPECT_EQ(error_of({"--timeout", "5", "--interval", "0.5"}), "");
}

TEST(WriteFileAtomically, ReplacesContentAndLeavesNoTemporary) {
  TempDir dir;
  const auto path = dir.path() / "ready.txt";
  write(path, "old\n");
  write_file_atomically(path, "new\n");
  EXPECT_EQ(read(path), "new\n");
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), {}), 1);
  EXPECT_THROW(write_file_atomically(dir.path() / "missing-dir" / "x", "y"), std::runtime_error);
}

TEST(WaitForHostfile, TimesOutWhenTheFileNeverAppears) {
  TempDir dir;
  const auto start = Clock::now();
  const auto got = wait_for_hostfile(dir.path() / "never.txt", start + 300ms, 50ms, quiet_log());
  EXPECT_FALSE(got.has_value());
  EXPECT_GE(Clock::now() - start, 300ms);
  EXPECT_LT(Clock::now() - start, 10s);
}

TEST(WaitForHostfile, ReadsAFileThatAppearsLateAndWaitsOutAnEmptyOne) {
  TempDir dir;
  const auto path = dir.path() / "late.txt";
  write(path, "");  // `: > hostfile` first, lines later: the seed's job does this
  auto writer = std::async(std::launch::async, [&] {
    std::this_thread::sleep_for(400ms);
    write(path, "n1:8001 role=a\nn2:8002 role=b\n");
  });
  const auto got = wait_for_hostfile(path, Clock::now() + 20s, 50ms, quiet_log());
  writer.get();
  ASSERT_TRUE(got.has_value());
  ASSERT_EQ(got->size(), 2U);
  EXPECT_EQ((*got)[1].host, "n2");
  EXPECT_EQ((*got)[1].tag("role"), "b");
}

TEST(WaitForHostfile, ABadHostfileIsAnErrorWithFileAndLine) {
  TempDir dir;
  const auto path = dir.path() / "bad.txt";
  write(path, "n1:8001\nn2:80x1\n");
  try {
    (void)wait_for_hostfile(path, Clock::now() + 20s, 50ms, quiet_log());
    FAIL() << "expected HostfileError";
  } catch (const HostfileError& e) {
    EXPECT_EQ(e.line(), 2U);
    EXPECT_NE(std::string(e.what()).find("bad.txt:2:"), std::string::npos) << e.what();
  }
}

TEST(Prober, ProbesManyEndpointsInOneRound) {
  MockProcess mock({"--count", "6", "--dead-agents", "2"});
  auto endpoints = mock.agents();
  endpoints.push_back(Endpoint{.host = "127.0.0.1", .port = closed_port()});
  Prober prober(endpoints, "/health", 64);
  const auto start = Clock::now();
  const auto results = prober.probe({0, 1, 2, 3, 4, 5, 6}, 10s);
  ASSERT_EQ(results.size(), 7U);
  for (std::size_t i : {0, 1, 3, 4, 5}) EXPECT_TRUE(results[i].healthy) << i;
  EXPECT_FALSE(results[2].healthy);
  EXPECT_NE(results[2].detail.find("HTTP 503"), std::string::npos) << results[2].detail;
  EXPECT_FALSE(results[6].healthy);
  EXPECT_NE(results[6].detail.find("onnect"), std::string::npos) << results[6].detail;
  EXPECT_LT(Clock::now() - start, 10s);
}

TEST(Prober, ProbesConcurrentlyNotOneByOne) {
  // Eight endpoints that never answer, probed with a 1 s timeout: one by one would take 8 s.
  SilentListener silent;
  const std::vector<Endpoint> endpoints(8, Endpoint{.host = "127.0.0.1", .port = silent.port()});
  Prober prober(endpoints, "/health", 64);
  const auto start = Clock::now();
  const auto results = prober.probe({0, 1, 2, 3, 4, 5, 6, 7}, 1s);
  const Duration took = Clock::now() - start;
  for (const auto& r : results) {
    EXPECT_FALSE(r.healthy);
    EXPECT_TRUE(r.timed_out) << r.detail;
  }
  EXPECT_GE(took.count(), 0.9);
  EXPECT_LT(took.count(), 5.0);
}

TEST(Gate, WaitsForALateStartAndFinishesEarlyWhenAllAreHealthy) {
  MockProcess mock({"--count", "3", "--health-delay", "1"});
  Prober prober(mock.agents(), "/health", 16);
  const auto start = Clock::now();
  const auto result = run_gate(mock.agents(), prober,
                               GateSettings{.start = start,
                                            .deadline = start + 60s,
                                            .settle = 30s,
                                            .interval = 100ms,
                                            .probe_timeout = 2s},
                               quiet_log());
  EXPECT_EQ(result.healthy, 3U);
  EXPECT_EQ(result.stop_reason, "all healthy");
  EXPECT_GT(result.outcomes[0].probes, 1);  // it answered 503 first
  EXPECT_LT(Clock::now() - start, 25s);     // not the settle time
}

TEST(Gate, SettleTimeStartsAtTheFirstHealthyEndpoint) {
  MockProcess mock({"--count", "2", "--dead-agents", "1"});
  Prober prober(mock.agents(), "/health", 16);
  const auto start = Clock::now();
  const auto result = run_gate(mock.agents(), prober,
                               GateSettings{.start = start,
                                            .deadline = start + 60s,
                                            .settle = 1s,
                                            .interval = 100ms,
                                            .probe_timeout = 2s},
                               quiet_log());
  EXPECT_EQ(result.healthy, 1U);
  EXPECT_EQ(result.stop_reason, "settle time over");
  EXPECT_TRUE(result.outcomes[0].healthy);
  EXPECT_FALSE(result.outcomes[1].healthy);
  EXPECT_NE(result.outcomes[1].last_error.find("503"), std::string::npos);
  EXPECT_GE(Clock::now() - start, 1s);
  EXPECT_LT(Clock::now() - start, 30s);
}

TEST(Gate, TheDeadlineEndsAGateWhereNothingComesUp) {
  const std::vector<Endpoint> endpoints{Endpoint{.host = "127.0.0.1", .port = closed_port()}};
  Prober prober(endpoints, "/health", 16);
  const auto start = Clock::now();
  const auto result = run_gate(endpoints, prober,
                               GateSettings{.start = start,
                                            .deadline = start + 1s,
                                            .settle = 100s,
                                            .interval = 100ms,
                                            .probe_timeout = 2s},
                               quiet_log());
  EXPECT_EQ(result.healthy, 0U);
  EXPECT_EQ(result.stop_reason, "deadline reached");
  EXPECT_GT(result.outcomes[0].probes, 1);
  EXPECT_LT(Clock::now() - start, 30s);
}

}  // namespace
}  // namespace swarm::health

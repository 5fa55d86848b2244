// Transport settings: TLS verification and CA bundles, and the open-file limit check.

#include <sys/resource.h>

#include <vector>

#include "pool_test_util.hpp"

namespace swarm::pool_test {
namespace {

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

TEST(PoolTransport, HttpsEndpointsSpeakTlsAndFailCleanlyAgainstPlainHttp) {
  MockProcess mock({"--count", "1"});
  auto o = test_options();
  o.retries = 0;
  Endpoint e = mock.agents()[0];
  e.scheme = Scheme::https;  // the mock speaks plain HTTP: the TLS handshake must fail
  const auto r = AgentPool({e}, o).post(0, "x");
  EXPECT_FALSE(r.success);
  EXPECT_TRUE(contains(r.error, "SSL")) << r.error;
  EXPECT_EQ(r.http_status, 0);
}

TEST(PoolTransport, CustomCaBundleIsUsed) {
  MockProcess mock({"--count", "1"});
  TempDir dir;
  auto o = test_options();
  o.retries = 0;
  o.ca_bundle = (dir.path() / "missing-ca.pem").string();
  Endpoint e = mock.agents()[0];
  e.scheme = Scheme::https;
  const auto r = AgentPool({e}, o).post(0, "x");
  EXPECT_FALSE(r.success);
  // libcurl refuses before any handshake because the configured CA file cannot be read.
  EXPECT_TRUE(contains(r.error, "CA") || contains(r.error, "certificate")) << r.error;
}

class FdLimit : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &saved_), 0); }
  void TearDown() override { setrlimit(RLIMIT_NOFILE, &saved_); }
  rlimit saved_{};
};

TEST_F(FdLimit, SoftLimitIsRaisedToWhatThePoolNeeds) {
  if (saved_.rlim_max != RLIM_INFINITY && saved_.rlim_max < 2000) GTEST_SKIP() << "hard limit too low";
  rlimit low = saved_;
  low.rlim_cur = 256;
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
  std::vector<Endpoint> many(1000, Endpoint{.host = "127.0.0.1", .port = 9});
  AgentPool pool(many, test_options());
  rlimit now{};
  getrlimit(RLIMIT_NOFILE, &now);
  EXPECT_GE(now.rlim_cur, 1000u + 512u + 128u);  // cache + in flight + headroom
}

TEST_F(FdLimit, HardLimitTooLowIsAClearErrorWithTheNumbers) {
  if (saved_.rlim_max == RLIM_INFINITY || saved_.rlim_max > 1'000'000) {
    GTEST_SKIP() << "hard limit too high to exceed in a test";
  }
  const std::size_t n = saved_.rlim_max + 100;
  std::vector<Endpoint> many(n, Endpoint{.host = "127.0.0.1", .port = 9});
  try {
    AgentPool pool(many, test_options());
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    EXPECT_TRUE(contains(what, "open-file limit too low")) << what;
    EXPECT_TRUE(contains(what, std::to_string(n) + " endpoints")) << what;
    EXPECT_TRUE(contains(what, "hard limit (ulimit -Hn) is " + std::to_string(saved_.rlim_max)))
        << what;
  }
}

}  // namespace
}  // namespace swarm::pool_test

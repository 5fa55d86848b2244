// White-box tests of the engine's health state machine (no network): which failures count,
// when an endpoint cools, the probe schedule and its back-off, and the latency mean.

#include <limits>
#include <stdexcept>

#include <gtest/gtest.h>

#include "health.hpp"

namespace swarm::detail {
namespace {

using namespace std::chrono_literals;

PoolOptions options() {
  PoolOptions o;
  o.cooldown_failures = 2;
  o.probe_interval = Seconds(1);
  o.probe_interval_max = Seconds(3);
  return o;
}

LastFailure http503() {
  return LastFailure{"HTTP 503: down", FailureKind::http_status, 503};
}

TEST(CoolingFailure, TransportFailuresAnd5xxCountOthersDoNot) {
  for (auto k : {FailureKind::connect, FailureKind::reset, FailureKind::timeout, FailureKind::tls,
                 FailureKind::transport}) {
    EXPECT_TRUE(cooling_failure(k, 0)) << to_string(k);
  }
  EXPECT_TRUE(cooling_failure(FailureKind::none, 500));
  EXPECT_TRUE(cooling_failure(FailureKind::none, 503));
  EXPECT_FALSE(cooling_failure(FailureKind::none, 200));
  EXPECT_FALSE(cooling_failure(FailureKind::none, 429));
  EXPECT_FALSE(cooling_failure(FailureKind::none, 400));
  EXPECT_FALSE(cooling_failure(FailureKind::oversize, 0));
}

TEST(HealthTable, CoolsAfterConsecutiveFailuresOnly) {
  HealthTable h(2, options());
  const auto t0 = Clock::now();
  EXPECT_TRUE(h.healthy(0));
  EXPECT_FALSE(h.failed(0, http503(), t0));
  h.succeeded(0, Seconds(0.1));  // resets the count
  EXPECT_FALSE(h.failed(0, http503(), t0));
  h.answered(0);  // so does an HTTP 400: the endpoint answers
  EXPECT_FALSE(h.failed(0, http503(), t0));
  EXPECT_TRUE(h.failed(0, http503(), t0));
  EXPECT_EQ(h.state(0), AgentHealth::cooling);
  EXPECT_FALSE(h.failed(0, http503(), t0));  // already cooling: no second transition
  EXPECT_TRUE(h.healthy(1));
  EXPECT_EQ(h.last_failure(0).error, "HTTP 503: down");
  EXPECT_EQ(h.last_failure(0).http_status, 503);
}

TEST(HealthTable, ProbesBackOffExponentiallyAndOneSuccessEndsCooling) {
  HealthTable h(1, options());
  const auto t0 = Clock::now();
  EXPECT_EQ(h.next_probe(), Clock::time_point::max());
  h.failed(0, http503(), t0);
  h.failed(0, http503(), t0);
  EXPECT_EQ(h.next_probe(), t0 + 1s);
  EXPECT_FALSE(h.due_probe(t0 + 999ms));
  ASSERT_EQ(h.due_probe(t0 + 1s), 0u);
  EXPECT_FALSE(h.due_probe(t0 + 100s));  // one probe at a time: it is in flight
  EXPECT_FALSE(h.probed(0, false, t0 + 1s));
  EXPECT_EQ(h.next_probe(), t0 + 3s);  // 2 s after the failed probe
  ASSERT_EQ(h.due_probe(t0 + 3s), 0u);
  EXPECT_FALSE(h.probed(0, false, t0 + 3s));
  EXPECT_EQ(h.next_probe(), t0 + 6s);  // 4 s, capped at probe_interval_max = 3 s
  ASSERT_EQ(h.due_probe(t0 + 6s), 0u);
  EXPECT_TRUE(h.probed(0, true, t0 + 6s));
  EXPECT_TRUE(h.healthy(0));
  EXPECT_EQ(h.next_probe(), Clock::time_point::max());
  // A second cooldown starts the back-off again from probe_interval.
  h.failed(0, http503(), t0 + 7s);
  EXPECT_TRUE(h.failed(0, http503(), t0 + 7s));
  EXPECT_EQ(h.next_probe(), t0 + 8s);
}

TEST(HealthTable, SuspectCoolsAHealthyEndpointWithItsProbeDueAtOnce) {
  HealthTable h(2, options());
  const auto t0 = Clock::now();
  EXPECT_TRUE(h.suspect(0, t0));
  EXPECT_FALSE(h.healthy(0));
  EXPECT_TRUE(h.healthy(1));
  EXPECT_FALSE(h.suspect(0, t0));  // already cooling: no second probe
  ASSERT_EQ(h.due_probe(t0), 0u);
  EXPECT_FALSE(h.due_probe(t0 + 100s));
  EXPECT_FALSE(h.was_down(0));  // not worth a log line if its first probe answers
  EXPECT_FALSE(h.probed(0, false, t0, LastFailure{"GET /health: refused", FailureKind::connect}));
  EXPECT_TRUE(h.was_down(0));
  EXPECT_EQ(h.last_failure(0).error, "GET /health: refused");
  EXPECT_EQ(h.next_probe(), t0 + 250ms);
  ASSERT_EQ(h.due_probe(t0 + 250ms), 0u);
  EXPECT_TRUE(h.probed(0, true, t0 + 250ms));
  EXPECT_TRUE(h.healthy(0));
}

TEST(HealthTable, ARefusedProbeIsRepeatedEveryIntervalOthersBackOff) {
  // Nothing listening (a server still loading its model) is probed every 250 ms (probe_interval
  // is 1 s here), so a late joiner is found within a quarter second; a server that answers 503
  // is backed off.
  const auto t0 = Clock::now();
  HealthTable late(1, options());
  const LastFailure refused{"GET /health: Couldn't connect to server", FailureKind::connect};
  late.suspect(0, t0);
  ASSERT_EQ(late.due_probe(t0), 0u);
  EXPECT_FALSE(late.probed(0, false, t0, refused));
  for (int k = 1; k <= 4; ++k) {
    const auto at = t0 + k * 250ms;
    EXPECT_EQ(late.next_probe(), at) << k;  // every 250 ms
    ASSERT_EQ(late.due_probe(at), 0u) << k;
    EXPECT_FALSE(late.probed(0, false, at, refused));
  }
  HealthTable failing(1, options());
  failing.suspect(0, t0);
  ASSERT_EQ(failing.due_probe(t0), 0u);
  EXPECT_FALSE(failing.probed(0, false, t0, http503()));
  EXPECT_EQ(failing.next_probe(), t0 + 2s);
  ASSERT_EQ(failing.due_probe(t0 + 2s), 0u);
  EXPECT_FALSE(failing.probed(0, false, t0 + 2s, http503()));
  EXPECT_EQ(failing.next_probe(), t0 + 5s);  // 4 s, capped at probe_interval_max = 3 s
}

TEST(HealthTable, AFailedProbeKeepsTheRequestFailureAsTheLastOne) {
  HealthTable h(1, options());
  const auto t0 = Clock::now();
  h.failed(0, http503(), t0);
  h.failed(0, http503(), t0);
  ASSERT_EQ(h.due_probe(t0 + 1s), 0u);
  h.probed(0, false, t0 + 1s, LastFailure{"GET /health: HTTP 500", FailureKind::http_status, 500});
  EXPECT_EQ(h.last_failure(0).error, "HTTP 503: down");
}

TEST(HealthTable, LatencyIsAnExponentiallyWeightedMean) {
  HealthTable h(1, options());
  EXPECT_EQ(h.latency(0).count(), 0.0);
  h.succeeded(0, Seconds(1.0));
  EXPECT_DOUBLE_EQ(h.latency(0).count(), 1.0);
  h.succeeded(0, Seconds(2.0));
  EXPECT_DOUBLE_EQ(h.latency(0).count(), 1.2);
}

TEST(HealthOptions, ValidateRejectsOutOfRangeSettings) {
  EXPECT_NO_THROW(PoolOptions{}.validate());
  const auto rejects = [](auto change) {
    PoolOptions o;
    change(o);
    EXPECT_THROW(o.validate(), std::invalid_argument);
  };
  rejects([](PoolOptions& o) { o.cooldown_failures = 0; });
  rejects([](PoolOptions& o) { o.probe_interval = Seconds(0); });
  rejects([](PoolOptions& o) { o.probe_interval_max = Seconds(0.5); });
  rejects([](PoolOptions& o) { o.probe_timeout = Seconds(0); });
  rejects([](PoolOptions& o) { o.failover_attempts = -1; });
  rejects([](PoolOptions& o) { o.give_up_after = Seconds(-1); });
  // NaN passes `<= 0` and switched the timeout off; 1e308 overflows curl's milliseconds.
  const double nan = std::numeric_limits<double>::quiet_NaN();
  rejects([&](PoolOptions& o) { o.timeout = Seconds(nan); });
  rejects([](PoolOptions& o) { o.timeout = Seconds(1e308); });
  rejects([](PoolOptions& o) { o.timeout = Seconds(std::numeric_limits<double>::infinity()); });
  rejects([&](PoolOptions& o) { o.give_up_after = Seconds(nan); });
  rejects([&](PoolOptions& o) { o.connect_timeout = Seconds(nan); });
  rejects([&](PoolOptions& o) { o.temperature = nan; });
}

TEST(HealthOptions, DefaultsLeaveFailoverOff) {
  const PoolOptions o;
  EXPECT_FALSE(o.failover);
  EXPECT_EQ(o.cooldown_failures, 3);
  EXPECT_EQ(o.probe_interval, Seconds(1));
  EXPECT_EQ(o.probe_interval_max, Seconds(30));
  EXPECT_EQ(o.failover_attempts, 3);
  EXPECT_EQ(o.give_up_after, Seconds(600));
}

}  // namespace
}  // namespace swarm::detail

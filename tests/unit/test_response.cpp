// FailureKind names (summaries and logs key on them, so they must not drift) and
// Response::failure's kind.

#include "swarm/response.hpp"

#include <set>
#include <string>

#include <gtest/gtest.h>

namespace swarm {
namespace {

TEST(FailureKind, StableSnakeCaseNames) {
  EXPECT_EQ(to_string(FailureKind::none), "none");
  EXPECT_EQ(to_string(FailureKind::connect), "connect");
  EXPECT_EQ(to_string(FailureKind::timeout), "timeout");
  EXPECT_EQ(to_string(FailureKind::reset), "reset");
  EXPECT_EQ(to_string(FailureKind::tls), "tls");
  EXPECT_EQ(to_string(FailureKind::transport), "transport");
  EXPECT_EQ(to_string(FailureKind::http_status), "http_status");
  EXPECT_EQ(to_string(FailureKind::oversize), "oversize");
  EXPECT_EQ(to_string(FailureKind::stream), "stream");
  EXPECT_EQ(to_string(FailureKind::decode), "decode");
  EXPECT_EQ(to_string(FailureKind::other), "other");
}

TEST(FailureKind, NamesAreDistinct) {
  std::set<std::string_view> names;
  for (int k = 0; k <= static_cast<int>(FailureKind::other); ++k) {
    EXPECT_TRUE(names.insert(to_string(static_cast<FailureKind>(k))).second) << k;
  }
}

TEST(Response, FailureCarriesAKindAndOkCarriesNone) {
  EXPECT_EQ(Response::ok("x").kind, FailureKind::none);
  const auto plain = Response::failure("no answers", 3);
  EXPECT_EQ(plain.kind, FailureKind::other);
  EXPECT_EQ(plain.error, "no answers");
  EXPECT_EQ(plain.agent_index, 3);
  EXPECT_EQ(Response::failure("t", 0, FailureKind::timeout).kind, FailureKind::timeout);
}

}  // namespace
}  // namespace swarm

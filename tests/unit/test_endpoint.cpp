#include <gtest/gtest.h>

#include "swarm/endpoint.hpp"

namespace {

using swarm::Endpoint;
using swarm::Scheme;

TEST(Endpoint, UrlAndAuthority) {
  Endpoint e{.host = "node1", .port = 8001};
  EXPECT_EQ(e.url(), "http://node1:8001");
  EXPECT_EQ(e.authority(), "node1:8001");
  e.scheme = Scheme::https;
  EXPECT_EQ(e.url(), "https://node1:8001");
}

TEST(Endpoint, Ipv6IsBracketed) {
  const Endpoint e{.host = "fe80::1", .port = 9000};
  EXPECT_EQ(e.url(), "http://[fe80::1]:9000");
  EXPECT_EQ(e.authority(), "[fe80::1]:9000");
}

TEST(Endpoint, DefaultsAndTags) {
  Endpoint e{.host = "h"};
  EXPECT_EQ(e.port, 8000);
  EXPECT_EQ(e.scheme, Scheme::http);
  EXPECT_EQ(e.tag("role"), "");
  e.tags["role"] = "critic";
  EXPECT_EQ(e.tag("role"), "critic");
}

TEST(Endpoint, SchemeNames) {
  EXPECT_EQ(swarm::to_string(Scheme::http), "http");
  EXPECT_EQ(swarm::to_string(Scheme::https), "https");
}

TEST(Endpoint, EqualityComparesEveryField) {
  const Endpoint a{.host = "h", .port = 1, .tags = {{"k", "v"}}};
  Endpoint b = a;
  EXPECT_EQ(a, b);
  b.tags["k"] = "w";
  EXPECT_NE(a, b);
  b = a;
  b.scheme = Scheme::https;
  EXPECT_NE(a, b);
}

}  // namespace

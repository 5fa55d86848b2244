// The wire codec: every type that crosses MPI round-trips field by field, and a damaged buffer
// is an error, not a crash.

#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "wire.hpp"

namespace {

using namespace swarm::mpi::detail;  // NOLINT(google-build-using-namespace): the codec under test

swarm::Response full_response() {
  swarm::Response r;
  r.success = true;
  r.text = std::string("answer with\0nul", 15);
  r.error = "none";
  r.kind = swarm::FailureKind::timeout;
  r.agent_index = 123456789012LL;
  r.http_status = 201;
  r.latency = std::chrono::duration<double>(1.25);
  r.attempts = 3;
  r.usage = {7, 11, 18, 5};
  r.finish_reason = "length";
  r.reasoning = "thinking";
  r.response_id = "chatcmpl-1";
  r.model = "m";
  r.body = R"({"id":"chatcmpl-1"})";
  r.ttft = std::chrono::duration<double>(0.125);
  r.itl = {0.5F, 0.0F, 0.25F};
  return r;
}

void expect_same(const swarm::Response& a, const swarm::Response& b) {
  EXPECT_EQ(a.success, b.success);
  EXPECT_EQ(a.text, b.text);
  EXPECT_EQ(a.error, b.error);
  EXPECT_EQ(a.kind, b.kind);
  EXPECT_EQ(a.agent_index, b.agent_index);
  EXPECT_EQ(a.http_status, b.http_status);
  EXPECT_EQ(a.latency, b.latency);
  EXPECT_EQ(a.attempts, b.attempts);
  EXPECT_EQ(a.usage, b.usage);
  EXPECT_EQ(a.finish_reason, b.finish_reason);
  EXPECT_EQ(a.reasoning, b.reasoning);
  EXPECT_EQ(a.response_id, b.response_id);
  EXPECT_EQ(a.model, b.model);
  EXPECT_EQ(a.body, b.body);
  EXPECT_EQ(a.ttft, b.ttft);
  EXPECT_EQ(a.itl, b.itl);
}

TEST(Wire, ResponseRoundTripsEveryField) {
  expect_same(decode<swarm::Response>(encode(full_response())), full_response());
  expect_same(decode<swarm::Response>(encode(swarm::Response{})), swarm::Response{});
}

TEST(Wire, WorkKeepsAnAbsentMaxTokensAbsent) {
  const swarm::mpi::Work with{std::numeric_limits<std::uint64_t>::max(), "p", 0};
  const auto a = decode<swarm::mpi::Work>(encode(with));
  EXPECT_EQ(a.index, with.index);
  EXPECT_EQ(a.prompt, "p");
  EXPECT_EQ(a.max_tokens, std::optional<std::int64_t>(0));
  const auto b = decode<swarm::mpi::Work>(encode(swarm::mpi::Work{5, "", std::nullopt}));
  EXPECT_FALSE(b.max_tokens.has_value());
}

TEST(Wire, AChunkCarriesTheRootsBacklog) {
  Chunk c;
  c.backlog = Chunk::kPlenty;
  c.work = {swarm::mpi::Work{3, "a", std::nullopt}, swarm::mpi::Work{4, "b", 9}};
  const auto back = decode<Chunk>(encode(c));
  EXPECT_EQ(back.backlog, Chunk::kPlenty);
  ASSERT_EQ(back.work.size(), 2u);
  EXPECT_EQ(back.work[1].index, 4u);
  EXPECT_EQ(back.work[1].prompt, "b");
  EXPECT_EQ(back.work[1].max_tokens, std::optional<std::int64_t>(9));
}

TEST(Wire, EndpointsBoardEntriesAndPipelineMessages) {
  swarm::Endpoint e{"::1", 8443, swarm::Scheme::https, {{"role", "critic"}, {"node", "x1"}}};
  e.base_path = "/gw/agent/1";
  const auto endpoints = decode<std::vector<swarm::Endpoint>>(encode(std::vector{e, e}));
  ASSERT_EQ(endpoints.size(), 2u);
  EXPECT_EQ(endpoints[1], e);

  const swarm::mpi::BoardEntry entry{"text", 2, 9, -1, 4};
  const auto got = decode<swarm::mpi::BoardEntry>(encode(entry));
  EXPECT_EQ(got.text, "text");
  EXPECT_EQ(got.section, 2u);
  EXPECT_EQ(got.round, 9u);
  EXPECT_EQ(got.agent, -1);
  EXPECT_EQ(got.seq, 4u);

  const auto outcomes = decode<std::vector<Outcome>>(
      encode(std::vector<Outcome>{{true, "out", ""}, {false, "", "e"}}));
  ASSERT_EQ(outcomes.size(), 2u);
  EXPECT_TRUE(outcomes[0].success);
  EXPECT_EQ(outcomes[0].output, "out");
  EXPECT_EQ(outcomes[1].error, "e");

  const FarmTask task{42, 3, {{7, 0}, {9, 1}}, "prompt"};
  const auto t = decode<FarmTask>(encode(task));
  EXPECT_EQ(t.id, 42u);
  EXPECT_EQ(t.priority, 3u);
  ASSERT_EQ(t.targets.size(), 2u);
  EXPECT_EQ(t.targets[1].agent, 9u);
  EXPECT_EQ(t.targets[1].pos, 1u);
  EXPECT_EQ(t.prompt, "prompt");

  const auto r = decode<FarmResult>(encode(FarmResult{5, 6, full_response()}));
  EXPECT_EQ(r.id, 5u);
  EXPECT_EQ(r.pos, 6u);
  expect_same(r.response, full_response());

  const std::vector<Returned> back{{swarm::mpi::Work{7, "p", 12}, full_response()},
                                    {swarm::mpi::Work{8, "q", {}}, {}}};
  const auto b = decode<std::vector<Returned>>(encode(back));
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[0].work.index, 7u);
  EXPECT_EQ(b[0].work.prompt, "p");
  EXPECT_EQ(b[0].work.max_tokens, 12);
  expect_same(b[0].last, full_response());
  EXPECT_EQ(b[1].work.prompt, "q");
  EXPECT_FALSE(b[1].work.max_tokens);
  EXPECT_EQ(b[1].last.attempts, 0);
}

TEST(Wire, OptionalResponsesForTheRankTree) {
  EXPECT_FALSE(decode<std::optional<swarm::Response>>(encode(std::optional<swarm::Response>{})));
  const auto some = decode<std::optional<swarm::Response>>(encode(std::optional(full_response())));
  ASSERT_TRUE(some.has_value());
  expect_same(*some, full_response());
}

TEST(Wire, TruncatedOrTrailingBytesAreErrors) {
  auto bytes = encode(full_response());
  auto cut = bytes;
  cut.resize(cut.size() - 1);
  EXPECT_THROW((void)decode<swarm::Response>(cut), std::logic_error);
  bytes.push_back('x');
  EXPECT_THROW((void)decode<swarm::Response>(bytes), std::logic_error);
  // A length prefix claiming more than the buffer holds.
  ByteWriter w;
  w.put<std::uint64_t>(1u << 30);
  EXPECT_THROW((void)decode<swarm::mpi::Work>(w.bytes()), std::logic_error);
}

TEST(Wire, BucketsPackEndToEndWithTheirSizes) {
  const std::vector<std::vector<swarm::mpi::Work>> buckets = {
      {{0, "a", {}}, {2, "bb", 5}}, {}, {{1, "ccc", {}}}};
  std::vector<std::size_t> sizes;
  const auto bytes = pack_buckets(buckets, sizes);
  ASSERT_EQ(sizes.size(), 3u);
  EXPECT_EQ(sizes[1], 0u);
  EXPECT_EQ(sizes[0] + sizes[2], bytes.size());
  const auto first = decode_all<swarm::mpi::Work>(bytes.data(), sizes[0]);
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[1].prompt, "bb");
  const auto last = decode_all<swarm::mpi::Work>(bytes.data() + sizes[0], sizes[2]);
  ASSERT_EQ(last.size(), 1u);
  EXPECT_EQ(last[0].index, 1u);
}

}  // namespace

// The reply budget (PoolOptions::reply_budget_bytes): many large replies in flight at once are
// held to the budget plus one reply, by pausing transfers rather than failing them, and every
// request still gets its whole answer.

#include <algorithm>
#include <string>
#include <vector>

#include "pool_test_util.hpp"
#include "words.hpp"

namespace swarm::pool_test {
namespace {

using mock::test::words;

constexpr int kWords = 100000;  // about 0.6 MB of JSON per reply
constexpr std::size_t kPrompts = 16;

struct BudgetRun {
  std::vector<Response> answers;
  PoolStats stats;
};

BudgetRun run_large_replies(const MockProcess& mock, std::size_t budget) {
  auto o = test_options();
  o.model_max_context = 1 << 22;
  o.dynamic_max_tokens = false;
  o.max_tokens = kWords;
  o.concurrency = kPrompts;
  o.reply_budget_bytes = budget;
  AgentPool pool(mock.agents(), o);
  const std::vector<std::string> prompts(kPrompts, "large");
  BudgetRun run;
  run.answers = pool.send_all(prompts);
  run.stats = pool.stats();
  return run;
}

TEST(PoolBudget, LargeRepliesInFlightStayWithinTheBudgetPlusOneReply) {
  // Two agents, every request on the wire at once: without a budget the replies arrive
  // interleaved and the rank holds all of them at the same time.
  MockProcess mock({"--count", "2", "--output-tokens", "fixed:" + std::to_string(kWords),
                    "--max-model-len", std::to_string(1 << 22)});
  const BudgetRun free_run = run_large_replies(mock, std::size_t{1} << 30);
  std::size_t largest = 0;
  for (const auto& r : free_run.answers) {
    ASSERT_TRUE(r.success) << r.error;
    EXPECT_EQ(words(r.text), static_cast<std::size_t>(kWords));
    largest = std::max(largest, r.text.size());
  }
  EXPECT_EQ(free_run.stats.budget_pauses, 0u);
  const std::size_t budget = largest;  // room for about one reply
  // The scenario must stress the budget: unbudgeted, several replies were held together.
  ASSERT_GT(free_run.stats.peak_reply_bytes, 3 * budget);

  const BudgetRun budgeted = run_large_replies(mock, budget);
  ASSERT_EQ(budgeted.answers.size(), kPrompts);
  for (std::size_t i = 0; i < kPrompts; ++i) {
    const auto& r = budgeted.answers[i];
    ASSERT_TRUE(r.success) << i << ": " << r.error;
    EXPECT_EQ(r.text, free_run.answers[i].text) << i;
    EXPECT_EQ(r.attempts, 1) << i;  // paused, never failed and retried
  }
  EXPECT_GT(budgeted.stats.budget_pauses, 0u);
  // A reply body is its text plus a few hundred bytes of JSON around it.
  EXPECT_LE(budgeted.stats.peak_reply_bytes, budget + largest + 4096)
      << "unbudgeted peak " << free_run.stats.peak_reply_bytes;
}

TEST(PoolBudget, ABudgetSmallerThanOneReplyStillCompletesEverything) {
  MockProcess mock({"--count", "1", "--output-tokens", "fixed:" + std::to_string(kWords),
                    "--max-model-len", std::to_string(1 << 22)});
  const BudgetRun run = run_large_replies(mock, 1);
  for (const auto& r : run.answers) {
    ASSERT_TRUE(r.success) << r.error;
    EXPECT_EQ(words(r.text), static_cast<std::size_t>(kWords));
  }
  // One overdraft at a time: the peak is one reply, however many were in flight.
  EXPECT_LE(run.stats.peak_reply_bytes, run.answers.front().text.size() + 4096 + 1);
}

TEST(PoolBudget, APausedStreamIsNotIdle) {
  // Four streams of 400 tokens at 1 ms per token (about 0.4 s each), one allowed to grow at
  // a time by a 1-byte budget: the others wait paused for longer than the 0.25 s idle timeout,
  // which must not count against them (their bytes wait at the server, not for the server).
  MockProcess mock({"--count", "1", "--output-tokens", "fixed:400", "--latency",
                    "tokens:0:1", "--max-model-len", std::to_string(1 << 22)});
  auto o = test_options();
  o.model_max_context = 1 << 22;
  o.dynamic_max_tokens = false;
  o.max_tokens = 400;
  o.idle_timeout = Seconds(0.25);
  o.retries = 0;
  o.reply_budget_bytes = 1;
  AgentPool pool(mock.agents(), o);
  const std::vector<std::string> prompts(4, "s");
  const auto answers = pool.send_all(prompts, {.stream = true});
  for (const auto& r : answers) {
    ASSERT_TRUE(r.success) << r.error;
    EXPECT_EQ(words(r.text), 400u);
  }
  EXPECT_GT(pool.stats().budget_pauses, 0u);
}

TEST(PoolBudget, ZeroIsRejected) {
  auto o = test_options();
  o.reply_budget_bytes = 0;
  EXPECT_THROW(o.validate(), std::invalid_argument);
}

}  // namespace
}  // namespace swarm::pool_test

// PromptFrame (protocol_internal.hpp) against prompt_body(): the cut frame must give the DOM's bytes for
// every protocol and option mix, and refuse (usable() false) whenever a cut would be ambiguous
// or extra_body replaces a hole. append_json_string (json_text.hpp) against nlohmann's dump().

#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "protocol_internal.hpp"
#include "swarm/json_text.hpp"
#include "swarm/protocol.hpp"

namespace swarm {
namespace {

using nlohmann::json;

std::string dumped(std::string_view s) {
  return json(s).dump(-1, ' ', false, json::error_handler_t::replace);
}

// Every byte value alone and in context, valid and invalid UTF-8, a long plain run.
std::vector<std::string> awkward_texts() {
  std::vector<std::string> texts = {"",
                                    "plain prompt",
                                    "quote \" backslash \\ slash /",
                                    "tab\tnewline\nreturn\rformfeed\fbackspace\b",
                                    std::string("nul\0inside", 10),
                                    "del \x7f and unit separator \x1f",
                                    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
                                    "bad \xff\xfe utf-8 \xc3",
                                    std::string(protocol::kPromptMark)};
  // Grown in place: GCC 12 warns falsely (-Warray-bounds) on long strings built and moved in.
  texts.emplace_back(5000, 'x');
  texts.back() += '"';
  texts.back().resize(10001, 'y');
  for (int c = 0; c < 256; ++c) texts.push_back(std::string(1, static_cast<char>(c)) + "a");
  return texts;
}

TEST(JsonText, AppendJsonStringIsNlohmannsDumpForEveryByte) {
  for (const auto& s : awkward_texts()) {
    std::string out = "prefix";
    append_json_string(out, s);
    EXPECT_EQ(out, "prefix" + dumped(s)) << json(s).dump(-1, ' ', true, json::error_handler_t::replace);
  }
}

struct Case {
  const char* name;
  PoolOptions options;
  std::string model;
};

std::vector<Case> cases() {
  std::vector<Case> out;
  for (const auto protocol : {Protocol::chat, Protocol::completions, Protocol::generate}) {
    PoolOptions plain;
    plain.protocol = protocol;
    out.push_back({"plain", plain, "m"});
    out.push_back({"no model", plain, ""});
    PoolOptions full = plain;
    full.system_prompt = "be \"brief\"\n\xc3\xa9";
    full.temperature = 0.7;
    full.extra_body = {{"top_p", 0.9}, {"a_first_key", {1, 2}}, {"zz_last", {{"x", nullptr}}}};
    out.push_back({"system, temperature, extra keys before and after", full, "model/with \"quote\""});
  }
  return out;
}

TEST(PromptFrame, GivesPromptBodysBytesForEveryProtocolAndPrompt) {
  for (const auto& c : cases()) {
    const protocol::PromptFrame frame(c.options, c.model);
    ASSERT_TRUE(frame.usable()) << c.name;
    EXPECT_EQ(frame.model(), c.model);
    for (const auto& prompt : awkward_texts()) {
      for (const std::int64_t max_tokens : {0L, 1L, 512L, -3L, 9'000'000'000L}) {
        EXPECT_EQ(frame.body(prompt, max_tokens),
                  protocol::prompt_body(c.options, c.model, prompt, max_tokens))
            << c.name << " / " << max_tokens;
      }
    }
  }
}

TEST(PromptFrame, RefusesWhenExtraBodyReplacesAHoleOrRepeatsAMarker) {
  PoolOptions o;
  o.extra_body = {{"max_tokens", 5}};
  EXPECT_FALSE(protocol::PromptFrame(o, "m").usable()) << "max_tokens replaced";
  o.extra_body = {{"messages", json::array()}};
  EXPECT_FALSE(protocol::PromptFrame(o, "m").usable()) << "messages replaced";
  o.protocol = Protocol::completions;
  o.extra_body = {{"prompt", "fixed"}};
  EXPECT_FALSE(protocol::PromptFrame(o, "m").usable()) << "prompt replaced";
  o.extra_body = {{"prompt", std::string(protocol::kPromptMark)}};
  EXPECT_FALSE(protocol::PromptFrame(o, "m").usable()) << "prompt replaced by the marker itself";
  o.extra_body = {{"nested", {{"max_tokens", protocol::kMaxTokensMark}}}};
  EXPECT_FALSE(protocol::PromptFrame(o, "m").usable()) << "max_tokens marker twice";
  o.protocol = Protocol::chat;
  o.extra_body = nullptr;
  o.system_prompt = std::string(protocol::kPromptMark);
  EXPECT_FALSE(protocol::PromptFrame(o, "m").usable()) << "prompt marker in the system prompt";
  o.system_prompt.clear();
  EXPECT_TRUE(protocol::PromptFrame(o, "m").usable());
  EXPECT_FALSE(protocol::PromptFrame().usable());
}

}  // namespace
}  // namespace swarm

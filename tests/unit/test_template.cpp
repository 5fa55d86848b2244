#include "swarm/template.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace swarm {
namespace {

using Names = std::vector<std::string>;

TEST(TemplateFill, ReplacesKnownPlaceholder) {
  EXPECT_EQ(fill_template("Rate {item} please.", {{"item", "apples"}}), "Rate apples please.");
}

TEST(TemplateFill, MapOverloadReplacesKnownPlaceholder) {
  const TemplateValues values{{"item", "apples"}, {"level", "2"}};
  EXPECT_EQ(fill_template("{item} at level {level}", values), "apples at level 2");
}

TEST(TemplateFill, ReplacesEveryOccurrenceOfARepeatedPlaceholder) {
  EXPECT_EQ(fill_template("{x}-{x}-{x}", {{"x", "ab"}}), "ab-ab-ab");
}

TEST(TemplateFill, AdjacentPlaceholders) {
  EXPECT_EQ(fill_template("{a}{b}{a}", {{"a", "1"}, {"b", "22"}}), "1221");
}

TEST(TemplateFill, PlaceholderAtStartAndEnd) {
  EXPECT_EQ(fill_template("{a} middle {b}", {{"a", "START"}, {"b", "END"}}), "START middle END");
  EXPECT_EQ(fill_template("{a}", {{"a", "only"}}), "only");
}

TEST(TemplateFill, EmptyTemplateGivesEmptyString) {
  EXPECT_EQ(fill_template("", {{"a", "x"}}), "");
  EXPECT_EQ(fill_template("", TemplateValues{}), "");
}

TEST(TemplateFill, NoValuesLeavesTemplateUnchanged) {
  EXPECT_EQ(fill_template("keep {a} and {b}", TemplateValues{}), "keep {a} and {b}");
}

TEST(TemplateFill, EmptyValueRemovesPlaceholder) {
  EXPECT_EQ(fill_template("[{a}]", {{"a", ""}}), "[]");
}

TEST(TemplateFill, UnknownPlaceholderStaysAsWritten) {
  EXPECT_EQ(fill_template("{known} {unknown}", {{"known", "k"}}), "k {unknown}");
}

TEST(TemplateFill, JsonBracesSurvive) {
  const std::string tmpl = R"(Answer as {"score": 1, "why": "..."} about {item}. {} { x })";
  EXPECT_EQ(fill_template(tmpl, {{"item", "pears"}, {"score", "BAD"}}),
            R"(Answer as {"score": 1, "why": "..."} about pears. {} { x })");
}

TEST(TemplateFill, NestedJsonObjectWithPlaceholderInside) {
  EXPECT_EQ(fill_template(R"({"q": "{item}", "n": {"k": 1}})", {{"item", "figs"}}),
            R"({"q": "figs", "n": {"k": 1}})");
}

TEST(TemplateFill, StrayBracesStayAsWritten) {
  EXPECT_EQ(fill_template("}{ { } {a {a}} }a{", {{"a", "X"}}), "}{ { } {a X} }a{");
  EXPECT_EQ(fill_template("{", {{"a", "X"}}), "{");
  EXPECT_EQ(fill_template("}", {{"a", "X"}}), "}");
  EXPECT_EQ(fill_template("{a", {{"a", "X"}}), "{a");
}

TEST(TemplateFill, DoubledBracesSubstituteTheInnerPlaceholderLikeStrReplace) {
  // Python: "{{a}}".replace("{a}", "X") == "{X}".
  EXPECT_EQ(fill_template("{{a}}", {{"a", "X"}}), "{X}");
}

TEST(TemplateFill, InsertedValuesAreNotRescanned) {
  // The seed's chained str.replace would turn this into "answer: 3"; we keep the agent's text.
  EXPECT_EQ(fill_template("answer: {response}", {{"response", "{level}"}, {"level", "3"}}),
            "answer: {level}");
  // Nor can a value complete a placeholder with the text that follows it.
  EXPECT_EQ(fill_template("{a}b}", {{"a", "{"}, {"b", "B"}}), "{b}");
}

TEST(TemplateFill, SectionPlaceholderWithColon) {
  EXPECT_EQ(
      fill_template("Critiques:\n{section:critiques}\nEnd", {{"section:critiques", "c1\nc2"}}),
      "Critiques:\nc1\nc2\nEnd");
}

TEST(TemplateFill, NamesWithDigitsDashesAndDots) {
  EXPECT_EQ(fill_template("{item_2}|{agent-id}|{v1.2}",
                          {{"item_2", "a"}, {"agent-id", "b"}, {"v1.2", "c"}}),
            "a|b|c");
}

TEST(TemplateFill, KeysThatAreNotPlaceholderNamesAreNeverSubstituted) {
  // A space is not a name character, and names start with a letter, digit or '_'.
  EXPECT_EQ(fill_template("{a b} {-x} {}", {{"a b", "X"}, {"-x", "Y"}, {"", "Z"}}),
            "{a b} {-x} {}");
}

TEST(TemplateFill, FirstPairWinsInInitializerListOverload) {
  // Same as initialising a std::map from the list: the first of duplicate keys is kept.
  EXPECT_EQ(fill_template("{a}", {{"a", "first"}, {"a", "second"}}), "first");
  EXPECT_EQ(fill_template("{a}", TemplateValues{{"a", "first"}, {"a", "second"}}), "first");
}

TEST(TemplateFill, LongValuesAndManyOccurrences) {
  const std::string value(1000, 'v');
  std::string tmpl;
  std::string expected;
  for (int i = 0; i < 200; ++i) {
    tmpl += "<{p}>";
    expected += "<" + value + ">";
  }
  EXPECT_EQ(fill_template(tmpl, {{"p", value}}), expected);
}

TEST(TemplateFill, NonAsciiTextPassesThrough) {
  EXPECT_EQ(fill_template("Ünïcødé {x} → ✓", {{"x", "日本"}}), "Ünïcødé 日本 → ✓");
}

TEST(TemplatePlaceholders, FirstAppearanceOrderWithoutDuplicates) {
  EXPECT_EQ(template_placeholders("{b} {a} {b} {c} {a}"), (Names{"b", "a", "c"}));
}

TEST(TemplatePlaceholders, EmptyAndPlainTemplatesHaveNone) {
  EXPECT_TRUE(template_placeholders("").empty());
  EXPECT_TRUE(template_placeholders("no braces here").empty());
}

TEST(TemplatePlaceholders, JsonEmptyAndSpacedBracesAreNotPlaceholders) {
  EXPECT_EQ(template_placeholders(R"({} { spaced } {"json": 1} {...} {item})"), (Names{"item"}));
}

TEST(TemplatePlaceholders, SectionAndOtherNameCharacters) {
  EXPECT_EQ(template_placeholders("{section:critiques}{x-1}{a.b}{_z}{9}"),
            (Names{"section:critiques", "x-1", "a.b", "_z", "9"}));
}

TEST(TemplatePlaceholders, AdjacentAndDoubledBraces) {
  EXPECT_EQ(template_placeholders("{{a}}{b}{"), (Names{"a", "b"}));
}

TEST(TemplatePlaceholders, AgreeWithWhatFillSubstitutes) {
  const std::string tmpl = R"({a} {"k": {b}} {c d} {section:x} {})";
  const Names names = template_placeholders(tmpl);
  ASSERT_EQ(names, (Names{"a", "b", "section:x"}));
  TemplateValues values;
  for (const std::string& n : names) values[n] = "#";
  EXPECT_EQ(fill_template(tmpl, values), R"(# {"k": #} {c d} # {})");
}

}  // namespace
}  // namespace swarm

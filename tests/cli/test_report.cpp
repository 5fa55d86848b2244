// The run report (io/report.hpp): every section drawn from a summary with streamed data, the
// headline numbers embedded as the summary's, all text escaped, empty runs labelled as such,
// and the histogram buckets RunSummary hands it.

#include <chrono>
#include <cstdint>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "io/report.hpp"
#include "io/summary.hpp"
#include "test_util.hpp"

namespace swarm::cli {
namespace {

using nlohmann::json;
using Seconds = std::chrono::duration<double>;

std::size_t occurrences(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// The <script type="application/json" id="summary"> block, parsed.
json embedded(const std::string& page) {
  const std::string open = "<script type=\"application/json\" id=\"summary\">";
  const auto start = page.find(open);
  EXPECT_NE(start, std::string::npos);
  const auto end = page.find("</script>", start);
  return json::parse(page.substr(start + open.size(), end - start - open.size()));
}

// The section with `id`, from its tag to its </section>.
std::string section(const std::string& page, const std::string& id) {
  const auto start = page.find("<section id=\"" + id + "\">");
  if (start == std::string::npos) return {};
  return page.substr(start, page.find("</section>", start) - start);
}

// Streamed successes at two endpoints, failures of two kinds at a third whose URL and error
// carry markup.
RunSummary streamed_run() {
  RunSummary s;
  for (int i = 0; i < 40; ++i) {
    auto r = Response::ok("x");
    r.latency = Seconds(0.1 + 0.01 * i);
    r.ttft = Seconds(0.02 + 0.001 * i);
    r.itl = {0.01F, 0.01F};
    r.usage = {5, 3, 8};
    r.attempts = 1;
    s.add(r, i % 2 == 0 ? "http://a:1" : "http://b:2");
  }
  auto refused = Response::failure("<b>refused</b> & \"gone\"");
  refused.kind = FailureKind::connect;
  refused.attempts = 1;
  for (int i = 0; i < 3; ++i) s.add(refused, "http://evil/<script>alert(1)</script>");
  auto status = Response::failure("HTTP 503");
  status.kind = FailureKind::http_status;
  status.attempts = 1;
  s.add(status, "http://evil/<script>alert(1)</script>");
  s.set_wall_time(Seconds(2.0));
  return s;
}

TEST(RunSummary, HistogramsHoldTheNonEmptyBuckets) {
  const json j = streamed_run().to_json();
  std::uint64_t e2el = 0;
  double last = 0;
  for (const json& pair : j["histograms"]["e2el_ms"]) {
    ASSERT_GT(pair[1].get<std::uint64_t>(), 0U);
    ASSERT_GT(pair[0].get<double>(), last);  // ascending, one pair per bucket
    last = pair[0].get<double>();
    e2el += pair[1].get<std::uint64_t>();
  }
  EXPECT_EQ(e2el, 40U);  // successes only
  EXPECT_GE(last, 490.0);  // the slowest, 490 ms, lies in the last bucket
  EXPECT_LT(last, 490.0 * 1.1);
  std::uint64_t ttft = 0;
  for (const json& pair : j["histograms"]["ttft_ms"]) ttft += pair[1].get<std::uint64_t>();
  EXPECT_EQ(ttft, 40U);
  EXPECT_TRUE(RunSummary().to_json()["histograms"]["e2el_ms"].empty());
}

TEST(Report, EverySectionOfAStreamedRunAndItsNumbers) {
  const json summary = streamed_run().to_json();
  const std::string page = render_report(summary);
  for (const char* id :
       {"headline", "latency-histogram", "latency-cdf", "ttft", "throughput", "endpoints",
        "failures"}) {
    const std::string body = section(page, id);
    ASSERT_FALSE(body.empty()) << id;
    EXPECT_EQ(body.find("class=\"empty\""), std::string::npos) << id << " has data";
  }
  // One bar per non-empty bucket in the two histograms, a CDF line, ok bars over time.
  EXPECT_EQ(occurrences(section(page, "latency-histogram"), "<rect class=\"bar\""),
            summary["histograms"]["e2el_ms"].size());
  EXPECT_EQ(occurrences(section(page, "ttft"), "<rect class=\"bar\""),
            summary["histograms"]["ttft_ms"].size());
  EXPECT_EQ(occurrences(section(page, "latency-cdf"), "<polyline class=\"cdf\""), 1U);
  EXPECT_GE(occurrences(section(page, "throughput"), "<rect class=\"ok\""), 1U);
  EXPECT_EQ(occurrences(section(page, "endpoints"), "<td class=\"url\">"), 3U);
  EXPECT_NE(section(page, "failures").find(">connect</text>"), std::string::npos);
  EXPECT_NE(section(page, "failures").find(">http_status</text>"), std::string::npos);

  const json numbers = embedded(page);
  for (const char* key : {"requests", "ok", "failed", "duration", "request_throughput",
                          "output_throughput", "median_e2el_ms", "p90_e2el_ms", "p99_e2el_ms",
                          "median_ttft_ms"}) {
    EXPECT_EQ(numbers.at(key), summary.at(key)) << key;
  }
  EXPECT_EQ(numbers["requests"], 44);
  EXPECT_EQ(numbers["failed"], 4);
  EXPECT_NE(page.find("<td data-key=\"requests\">44</td>"), std::string::npos);
  EXPECT_NE(page.find("<td data-key=\"request_throughput\">20.000</td>"), std::string::npos);
}

TEST(Report, EscapesEveryText) {
  const std::string page = render_report(streamed_run().to_json());
  EXPECT_EQ(page.find("<script>"), std::string::npos);  // the endpoint URL's markup
  EXPECT_EQ(page.find("<b>refused"), std::string::npos);  // the error's
  EXPECT_NE(page.find("http://evil/&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(page.find("&lt;b&gt;refused&lt;/b&gt; &amp; &quot;gone&quot;"), std::string::npos);
  // The only scripts are the JSON data block; a value with "</script>" cannot close it.
  json summary = streamed_run().to_json();
  summary["median_e2el_ms"] = "</script><script>x()</script>";
  const std::string hostile = render_report(summary);
  EXPECT_EQ(occurrences(hostile, "<script"), 1U);
  EXPECT_EQ(occurrences(hostile, "</script>"), 1U);
  EXPECT_EQ(embedded(hostile)["median_e2el_ms"], nullptr);  // not a number: not a headline
  EXPECT_EQ(html_escape("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&#39;");
}

TEST(Report, EmptyRunLabelsEverySection) {
  RunSummary empty;
  empty.set_wall_time(Seconds(0.5));
  const std::string page = render_report(empty.to_json());
  for (const char* id : {"latency-histogram", "latency-cdf", "ttft", "throughput", "endpoints",
                         "failures"}) {
    const std::string body = section(page, id);
    ASSERT_FALSE(body.empty()) << id;
    EXPECT_NE(body.find("class=\"empty\""), std::string::npos) << id << " says it is empty";
    EXPECT_EQ(body.find("<svg"), std::string::npos) << id;
  }
  const json numbers = embedded(page);
  EXPECT_EQ(numbers["requests"], 0);
  EXPECT_TRUE(numbers["median_e2el_ms"].is_null());
  EXPECT_NE(page.find("<td data-key=\"median_e2el_ms\">&#8211;</td>"), std::string::npos);
}

TEST(Report, RejectsWhatIsNotASummary) {
  EXPECT_THROW((void)render_report(json::array()), std::invalid_argument);
  EXPECT_THROW((void)render_report(json{{"requests", "many"}}), std::invalid_argument);
}

TEST(Report, SummaryFileErrorsNameTheFile) {
  const test::TempDir dir;
  const std::string missing = dir.path().string() + "/missing.json";
  try {
    (void)read_summary_file(missing);
    FAIL() << "read a missing file";
  } catch (const SummaryFileError& e) {
    EXPECT_EQ(std::string(e.what()), missing + ": cannot read: No such file or directory");
  }
  const std::string broken = dir.path().string() + "/broken.json";
  std::ofstream(broken) << "{\n  \"requests\": 3,\n  \"ok\": oops\n}\n";
  try {
    (void)read_summary_file(broken);
    FAIL() << "parsed malformed JSON";
  } catch (const SummaryFileError& e) {
    EXPECT_EQ(std::string(e.what()).rfind(broken + ":3: not valid JSON", 0), 0U) << e.what();
  }
  const std::string other = dir.path().string() + "/other.json";
  std::ofstream(other) << "[1, 2]\n";
  EXPECT_THROW((void)read_summary_file(other), SummaryFileError);
  // A summary written by RunSummary reads back to the same JSON, so the same page.
  const std::string saved = dir.path().string() + "/summary.json";
  const json summary = streamed_run().to_json();
  RunSummary::write(summary, saved);
  EXPECT_EQ(render_report(read_summary_file(saved)), render_report(summary));
}

}  // namespace
}  // namespace swarm::cli

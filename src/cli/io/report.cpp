#include "io/report.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <sstream>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "io/file_handles.hpp"

namespace swarm::cli {
namespace {

using nlohmann::json;

// The plots' geometry (SVG user units); the page scales them to its width.
constexpr double kWidth = 760;
constexpr double kHeight = 260;
constexpr double kLeft = 64;
constexpr double kRight = 16;
constexpr double kTop = 14;
constexpr double kBottom = 40;
constexpr std::size_t kMaxTimelineBars = 600;  // a 10-hour run is 36,000 seconds

const json& field(const json& object, std::string_view key) {
  static const json missing;
  if (!object.is_object()) return missing;
  const auto it = object.find(key);
  return it == object.end() ? missing : *it;
}

double number_or(const json& value, double fallback) {
  return value.is_number() ? value.get<double>() : fallback;
}

// Integers as integers, other numbers with 3 decimals (the summary's precision), "-" for none.
std::string show(const json& value) {
  if (value.is_number_unsigned()) return fmt::format("{}", value.get<std::uint64_t>());
  if (value.is_number_integer()) return fmt::format("{}", value.get<std::int64_t>());
  if (value.is_number_float()) return fmt::format("{:.3f}", value.get<double>());
  if (value.is_string()) return html_escape(value.get<std::string>());
  return "&#8211;";
}

// A tick label in milliseconds: 0.01, 1, 250, 12000.
std::string ms_label(double ms) {
  if (ms >= 100) return fmt::format("{:.0f}", ms);
  if (ms >= 1) return fmt::format("{:.3g}", ms);
  return fmt::format("{:.2g}", ms);
}

void empty_note(std::string& out, std::string_view text) {
  out += fmt::format("<p class=\"empty\">{}</p>\n", html_escape(text));
}

struct Bucket {
  double upper_ms;
  std::uint64_t count;
};

// [[upper_ms, count], ...] from the summary; malformed pairs are skipped, order made ascending.
std::vector<Bucket> read_buckets(const json& pairs) {
  std::vector<Bucket> out;
  if (!pairs.is_array()) return out;
  for (const json& pair : pairs) {
    if (!pair.is_array() || pair.size() != 2 || !pair[0].is_number() ||
        !pair[1].is_number_unsigned()) {
      continue;
    }
    const double upper = pair[0].get<double>();
    const auto count = pair[1].get<std::uint64_t>();
    if (upper > 0 && std::isfinite(upper) && count > 0) out.push_back({upper, count});
  }
  std::sort(out.begin(), out.end(),
            [](const Bucket& a, const Bucket& b) { return a.upper_ms < b.upper_ms; });
  return out;
}

// A log-scaled millisecond axis over the buckets (each spans upper/1.1 .. upper).
struct LogAxis {
  double lo;
  double hi;
  explicit LogAxis(const std::vector<Bucket>& b)
      : lo(std::log10(b.front().upper_ms / 1.1)), hi(std::log10(b.back().upper_ms)) {
    if (hi - lo < 0.3) {  // one or two buckets: show half a decade around them
      const double mid = (lo + hi) / 2;
      lo = mid - 0.25;
      hi = mid + 0.25;
    }
  }
  [[nodiscard]] double x(double ms) const {
    return kLeft + (std::log10(ms) - lo) / (hi - lo) * (kWidth - kLeft - kRight);
  }
};

std::string svg_open(std::string_view label) {
  return fmt::format(
      "<svg viewBox=\"0 0 {:.0f} {:.0f}\" role=\"img\" aria-label=\"{}\">\n"
      "<line class=\"axis\" x1=\"{:.0f}\" y1=\"{:.0f}\" x2=\"{:.0f}\" y2=\"{:.0f}\"/>\n"
      "<line class=\"axis\" x1=\"{:.0f}\" y1=\"{:.0f}\" x2=\"{:.0f}\" y2=\"{:.0f}\"/>\n",
      kWidth, kHeight, html_escape(label), kLeft, kHeight - kBottom, kWidth - kRight,
      kHeight - kBottom, kLeft, kTop, kLeft, kHeight - kBottom);
}

void x_ticks_ms(std::string& out, const LogAxis& axis, std::string_view caption) {
  const double base = kHeight - kBottom;
  // 1-2-5 ticks when they fit, else decades only; both ends too when fewer than three.
  std::vector<double> ticks;
  for (const bool decades_only : {false, true}) {
    ticks.clear();
    for (double k = std::floor(axis.lo); k <= axis.hi; k += 1) {
      for (const double m : {1.0, 2.0, 5.0}) {
        const double ms = m * std::pow(10.0, k);
        if ((m == 1.0 || !decades_only) && std::log10(ms) >= axis.lo && std::log10(ms) <= axis.hi) {
          ticks.push_back(ms);
        }
      }
    }
    if (ticks.size() <= 10) break;
  }
  if (ticks.size() < 3) {  // the ends, unless a tick already sits there (labels would overlap)
    const auto clear = [&](double ms) {
      return std::none_of(ticks.begin(), ticks.end(),
                          [&](double t) { return std::abs(axis.x(t) - axis.x(ms)) < 40; });
    };
    const double lo = std::pow(10.0, axis.lo);
    const double hi = std::pow(10.0, axis.hi);
    if (clear(lo)) ticks.insert(ticks.begin(), lo);
    if (clear(hi)) ticks.push_back(hi);
  }
  for (const double ms : ticks) {
    const double x = axis.x(ms);
    out += fmt::format(
        "<line class=\"tick\" x1=\"{0:.1f}\" y1=\"{1:.0f}\" x2=\"{0:.1f}\" y2=\"{2:.0f}\"/>"
        "<text x=\"{0:.1f}\" y=\"{3:.0f}\" text-anchor=\"middle\">{4}</text>\n",
        x, base, base + 5, base + 17, ms_label(ms));
  }
  out += fmt::format("<text x=\"{:.0f}\" y=\"{:.0f}\" text-anchor=\"middle\">{}</text>\n",
                     (kLeft + kWidth - kRight) / 2, kHeight - 6, html_escape(caption));
}

void y_label(std::string& out, double y, std::string_view text) {
  out += fmt::format(
      "<line class=\"grid\" x1=\"{0:.0f}\" y1=\"{1:.1f}\" x2=\"{2:.0f}\" y2=\"{1:.1f}\"/>"
      "<text x=\"{3:.0f}\" y=\"{4:.1f}\" text-anchor=\"end\">{5}</text>\n",
      kLeft, y, kWidth - kRight, kLeft - 6, y + 4, html_escape(text));
}

std::string histogram_svg(const std::vector<Bucket>& buckets, std::string_view label) {
  const LogAxis axis(buckets);
  std::uint64_t peak = 0;
  for (const Bucket& b : buckets) peak = std::max(peak, b.count);
  const double base = kHeight - kBottom;
  const double span = base - kTop;
  std::string out = svg_open(label);
  y_label(out, kTop, fmt::format("{}", peak));
  for (const Bucket& b : buckets) {
    const double x0 = axis.x(b.upper_ms / 1.1);
    const double x1 = axis.x(b.upper_ms);
    const double h = span * static_cast<double>(b.count) / static_cast<double>(peak);
    out += fmt::format(
        "<rect class=\"bar\" x=\"{:.2f}\" y=\"{:.2f}\" width=\"{:.2f}\" height=\"{:.2f}\">"
        "<title>{} ms .. {} ms: {}</title></rect>\n",
        x0, base - h, std::max(x1 - x0, 0.5), h, ms_label(b.upper_ms / 1.1),
        ms_label(b.upper_ms), b.count);
  }
  x_ticks_ms(out, axis, "milliseconds (log scale); bar height: requests");
  out += "</svg>\n";
  return out;
}

std::string cdf_svg(const std::vector<Bucket>& buckets, std::string_view label) {
  const LogAxis axis(buckets);
  std::uint64_t total = 0;
  for (const Bucket& b : buckets) total += b.count;
  const double base = kHeight - kBottom;
  const double span = base - kTop;
  std::string out = svg_open(label);
  y_label(out, base - span * 0.5, "0.5");
  y_label(out, base - span * 0.9, "0.9");
  y_label(out, kTop, "1");  // 0.99 would sit on top of it
  std::string points = fmt::format("{:.2f},{:.2f}", axis.x(buckets.front().upper_ms / 1.1), base);
  std::uint64_t seen = 0;
  for (const Bucket& b : buckets) {
    seen += b.count;
    const double y = base - span * static_cast<double>(seen) / static_cast<double>(total);
    points += fmt::format(" {:.2f},{:.2f}", axis.x(b.upper_ms), y);
  }
  out += fmt::format("<polyline class=\"cdf\" points=\"{}\"/>\n", points);
  x_ticks_ms(out, axis, "milliseconds (log scale); fraction of requests at or below");
  out += "</svg>\n";
  return out;
}

void latency_sections(std::string& out, const json& summary) {
  const auto e2el = read_buckets(field(field(summary, "histograms"), "e2el_ms"));
  out += "<section id=\"latency-histogram\">\n<h2>E2E latency of successful requests</h2>\n";
  if (e2el.empty()) {
    empty_note(out, "No successful requests: no latency to draw.");
  } else {
    out += histogram_svg(e2el, "E2E latency histogram");
  }
  out += "</section>\n<section id=\"latency-cdf\">\n<h2>E2E latency CDF</h2>\n";
  if (e2el.empty()) {
    empty_note(out, "No successful requests: no latency to draw.");
  } else {
    out += cdf_svg(e2el, "E2E latency CDF");
  }
  out += "</section>\n";

  const auto ttft = read_buckets(field(field(summary, "histograms"), "ttft_ms"));
  out += "<section id=\"ttft\">\n<h2>Time to first token</h2>\n";
  if (ttft.empty()) {
    empty_note(out, "Not streamed (no --stream): no time to first token.");
  } else {
    out += "<table class=\"stats\"><tr>";
    for (const char* stat : {"mean", "median", "p90", "p99"}) {
      out += fmt::format("<th>{} ms</th>", stat);
    }
    out += "</tr><tr>";
    for (const char* stat : {"mean", "median", "p90", "p99"}) {
      out += fmt::format("<td>{}</td>", show(field(summary, fmt::format("{}_ttft_ms", stat))));
    }
    out += "</tr></table>\n";
    out += histogram_svg(ttft, "TTFT histogram");
  }
  out += "</section>\n";
}

void timeline_section(std::string& out, const json& summary) {
  out += "<section id=\"throughput\">\n<h2>Completions over time</h2>\n";
  const json& timeline = field(summary, "timeline");
  std::uint64_t seconds = 0;
  if (timeline.is_array()) {
    for (const json& row : timeline) {
      const double t = number_or(field(row, "t"), -1);
      if (t >= 0 && t < 1e9) seconds = std::max(seconds, static_cast<std::uint64_t>(t) + 1);
    }
  }
  if (seconds == 0) {
    empty_note(out, "No completions recorded.");
    out += "</section>\n";
    return;
  }
  const std::uint64_t bin = (seconds + kMaxTimelineBars - 1) / kMaxTimelineBars;
  const std::size_t bars = static_cast<std::size_t>((seconds + bin - 1) / bin);
  std::vector<std::pair<double, double>> counts(bars);  // ok, failed per bin
  for (const json& row : timeline) {
    const double t = number_or(field(row, "t"), -1);
    if (t < 0 || t >= 1e9) continue;
    auto& c = counts[static_cast<std::size_t>(static_cast<std::uint64_t>(t) / bin)];
    c.first += std::max(number_or(field(row, "ok"), 0), 0.0);
    c.second += std::max(number_or(field(row, "failed"), 0), 0.0);
  }
  double peak = 0;
  for (const auto& [ok, failed] : counts) peak = std::max(peak, (ok + failed) / bin);
  if (peak <= 0) peak = 1;
  const double base = kHeight - kBottom;
  const double span = base - kTop;
  const double step = (kWidth - kLeft - kRight) / static_cast<double>(bars);
  std::string svg = svg_open("completions per second over time");
  y_label(svg, kTop, fmt::format("{:g}/s", std::round(peak * 1000) / 1000));
  for (std::size_t i = 0; i < bars; ++i) {
    const double ok = counts[i].first / bin;
    const double failed = counts[i].second / bin;
    const double x = kLeft + step * static_cast<double>(i);
    const double h_ok = span * ok / peak;
    const double h_failed = span * failed / peak;
    const std::string tip = fmt::format("t={}..{} s: {:g} ok/s, {:g} failed/s", i * bin,
                                        (i + 1) * bin, ok, failed);
    if (h_ok > 0) {
      svg += fmt::format(
          "<rect class=\"ok\" x=\"{:.2f}\" y=\"{:.2f}\" width=\"{:.2f}\" height=\"{:.2f}\">"
          "<title>{}</title></rect>\n",
          x, base - h_ok, std::max(step - 0.5, 0.5), h_ok, tip);
    }
    if (h_failed > 0) {
      svg += fmt::format(
          "<rect class=\"failed\" x=\"{:.2f}\" y=\"{:.2f}\" width=\"{:.2f}\" height=\"{:.2f}\">"
          "<title>{}</title></rect>\n",
          x, base - h_ok - h_failed, std::max(step - 0.5, 0.5), h_failed, tip);
    }
  }
  svg += fmt::format(
      "<text x=\"{:.0f}\" y=\"{:.0f}\" text-anchor=\"start\">0 s</text>"
      "<text x=\"{:.0f}\" y=\"{:.0f}\" text-anchor=\"end\">{} s</text>\n"
      "<text x=\"{:.0f}\" y=\"{:.0f}\" text-anchor=\"middle\">seconds since the start ({} s per "
      "bar); green: successful, red: failed</text>\n</svg>\n",
      kLeft, base + 17, kWidth - kRight, base + 17, bars * bin, (kLeft + kWidth - kRight) / 2,
      kHeight - 6, bin);
  out += svg;
  out += "</section>\n";
}

// A table cell shaded by value / column maximum (a heat map the browser draws without script).
std::string heat_cell(const json& value, double max, std::string_view rgb) {
  const double v = number_or(value, 0);
  const double alpha = max > 0 ? std::clamp(v / max, 0.0, 1.0) * 0.85 : 0.0;
  return fmt::format("<td style=\"background:rgba({},{:.3f})\">{}</td>", rgb, alpha, show(value));
}

void endpoints_section(std::string& out, const json& summary) {
  out += "<section id=\"endpoints\">\n<h2>Per endpoint</h2>\n";
  const json& rows = field(summary, "endpoints");
  if (!rows.is_array() || rows.empty()) {
    empty_note(out, "No requests: no endpoint rows.");
    out += "</section>\n";
    return;
  }
  double max_requests = 0;
  double max_failed = 0;
  double max_p50 = 0;
  for (const json& row : rows) {
    max_requests = std::max(max_requests, number_or(field(row, "requests"), 0));
    max_failed = std::max(max_failed, number_or(field(row, "failed"), 0));
    max_p50 = std::max(max_p50, number_or(field(row, "p50_ms"), 0));
  }
  out += "<p>Shading: darker is more, relative to the busiest, most failing or slowest "
         "endpoint.</p>\n<table class=\"heat\">\n<tr><th>endpoint</th><th>requests</th>"
         "<th>failed</th><th>p50 ms</th><th>p99 ms</th><th>output tokens/s</th></tr>\n";
  for (const json& row : rows) {
    out += fmt::format("<tr><td class=\"url\">{}</td>", show(field(row, "endpoint")));
    out += heat_cell(field(row, "requests"), max_requests, "40,100,200");
    out += heat_cell(field(row, "failed"), max_failed, "220,40,40");
    out += heat_cell(field(row, "p50_ms"), max_p50, "230,140,20");
    out += fmt::format("<td>{}</td><td>{}</td></tr>\n", show(field(row, "p99_ms")),
                       show(field(row, "output_tokens_per_s")));
  }
  out += "</table>\n</section>\n";
}

void failures_section(std::string& out, const json& summary) {
  out += "<section id=\"failures\">\n<h2>Failures by kind</h2>\n";
  const json& kinds = field(summary, "failures_by_kind");
  std::vector<std::pair<std::string, double>> rows;
  if (kinds.is_object()) {
    for (const auto& [kind, count] : kinds.items()) {
      if (number_or(count, 0) > 0) rows.emplace_back(kind, number_or(count, 0));
    }
  }
  if (rows.empty()) {
    empty_note(out, "No failures.");
    out += "</section>\n";
    return;
  }
  std::stable_sort(rows.begin(), rows.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  const double peak = rows.front().second;
  constexpr double kRow = 24;
  const double height = kRow * static_cast<double>(rows.size()) + 8;
  out += fmt::format("<svg viewBox=\"0 0 {:.0f} {:.0f}\" role=\"img\" aria-label=\"failures by "
                     "kind\">\n",
                     kWidth, height);
  constexpr double kLabel = 140;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const double y = 4 + kRow * static_cast<double>(i);
    const double w = (kWidth - kLabel - 80) * rows[i].second / peak;
    out += fmt::format(
        "<text x=\"{:.0f}\" y=\"{:.0f}\" text-anchor=\"end\">{}</text>"
        "<rect class=\"failed\" x=\"{:.0f}\" y=\"{:.0f}\" width=\"{:.2f}\" height=\"{:.0f}\"/>"
        "<text x=\"{:.2f}\" y=\"{:.0f}\">{:g}</text>\n",
        kLabel - 8, y + 15, html_escape(rows[i].first), kLabel, y, std::max(w, 1.0), kRow - 6,
        kLabel + w + 6, y + 15, rows[i].second);
  }
  out += "</svg>\n";
  const json& reasons = field(summary, "top_failure_reasons");
  if (reasons.is_array() && !reasons.empty()) {
    out += "<h3>Most frequent errors</h3>\n<table>\n<tr><th>count</th><th>error</th></tr>\n";
    for (const json& r : reasons) {
      out += fmt::format("<tr><td>{}</td><td class=\"error\">{}</td></tr>\n",
                         show(field(r, "count")), show(field(r, "error")));
    }
    out += "</table>\n";
  }
  out += "</section>\n";
}

// The headline numbers: shown in the table and embedded as JSON, the same values.
constexpr std::pair<const char*, const char*> kHeadline[] = {
    {"requests", "requests"},
    {"ok", "successful"},
    {"failed", "failed"},
    {"duration", "duration (s)"},
    {"request_throughput", "request throughput (successful/s)"},
    {"output_throughput", "output throughput (tokens/s)"},
    {"median_e2el_ms", "p50 E2E latency (ms)"},
    {"p90_e2el_ms", "p90 E2E latency (ms)"},
    {"p99_e2el_ms", "p99 E2E latency (ms)"},
    {"median_ttft_ms", "p50 TTFT (ms)"},
};

void header_section(std::string& out, const json& summary) {
  out += "<h1>aswarm run report</h1>\n<p class=\"meta\">";
  const auto meta = [&](std::string_view label, std::string_view key) {
    const json& v = field(summary, key);
    if (!v.is_null()) out += fmt::format("{}: <b>{}</b> &nbsp; ", label, show(v));
  };
  meta("pattern", "pattern");
  meta("ranks", "ranks");
  meta("agents", "agents");
  meta("start", "start_time");
  meta("end", "end_time");
  meta("aswarm", "aswarm_version");
  const json& models = field(summary, "models");
  if (models.is_array() && !models.empty()) {
    std::string names;
    for (const json& m : models) {
      if (!names.empty()) names += ", ";
      names += show(m);
    }
    out += fmt::format("models: <b>{}</b>", names);
  }
  out += "</p>\n";
  if (const json& cmd = field(summary, "command_line"); cmd.is_string()) {
    out += fmt::format("<p class=\"meta\"><code>{}</code></p>\n", show(cmd));
  }
  out += "<section id=\"headline\">\n<table class=\"headline\">\n";
  json numbers = json::object();
  for (const auto& [key, label] : kHeadline) {
    const json& v = field(summary, key);
    numbers[key] = v.is_number() ? v : json(nullptr);
    out += fmt::format("<tr><th>{}</th><td data-key=\"{}\">{}</td></tr>\n", label, key,
                       show(numbers[key]));
  }
  out += "</table>\n";
  // A data block (not executed). "<" is written as \u003c so no value can close the element.
  std::string data = numbers.dump(-1, ' ', true);
  std::string safe;
  for (const char c : data) safe += c == '<' ? std::string("\\u003c") : std::string(1, c);
  out += fmt::format("<script type=\"application/json\" id=\"summary\">{}</script>\n", safe);
  out += "</section>\n";
}

constexpr std::string_view kStyle = R"(<style>
body{font-family:sans-serif;margin:1.5em auto;max-width:60em;color:#222;padding:0 1em}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ccc}
.meta{color:#555;font-size:.9em}code{word-break:break-all}
table{border-collapse:collapse;font-size:.9em}td,th{border:1px solid #ddd;padding:2px 8px;
text-align:right}th{background:#f4f4f4}td.url,td.error{text-align:left;word-break:break-all}
.headline th{text-align:left}
svg{width:100%;height:auto;font-size:11px;background:#fcfcfc}
.axis{stroke:#444}.tick{stroke:#444}.grid{stroke:#e4e4e4}
.bar{fill:#3b6fc4}.ok{fill:#3a9d4a}.failed{fill:#d23c3c}.cdf{fill:none;stroke:#3b6fc4;stroke-width:2}
.empty{color:#777;font-style:italic}
</style>
)";

}  // namespace

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string render_report(const json& summary) {
  if (!summary.is_object() || !field(summary, "requests").is_number()) {
    throw std::invalid_argument("render_report: not a run summary (no numeric \"requests\")");
  }
  std::string out =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<title>aswarm run report</title>\n";
  out += kStyle;
  out += "</head>\n<body>\n";
  header_section(out, summary);
  latency_sections(out, summary);
  timeline_section(out, summary);
  endpoints_section(out, summary);
  failures_section(out, summary);
  out += "</body>\n</html>\n";
  return out;
}

json read_summary_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw SummaryFileError(fmt::format("{}: cannot read: {}", path, std::strerror(errno)));
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) {
    throw SummaryFileError(fmt::format("{}: cannot read: {}", path, std::strerror(errno)));
  }
  try {
    json summary = json::parse(text);
    if (!summary.is_object() || !field(summary, "requests").is_number()) {
      throw SummaryFileError(fmt::format(
          "{}: not an aswarm run summary (a JSON object with a numeric \"requests\", as "
          "--summary writes)",
          path));
    }
    return summary;
  } catch (const json::parse_error& e) {
    const std::size_t at = std::min<std::size_t>(e.byte > 0 ? e.byte - 1 : 0, text.size());
    const auto line = 1 + std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(at),
                                     '\n');
    throw SummaryFileError(fmt::format("{}:{}: not valid JSON ({})", path, line,
                                       text.empty() ? "empty file" : "parse error"));
  }
}

void write_report(const json& summary, const std::string& path) {
  const std::string page = render_report(summary);
  detail::AtomicFile file(path);
  file.write(page);
  file.commit();
}

}  // namespace swarm::cli

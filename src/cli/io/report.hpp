#pragma once
/// @file report.hpp
/// The run report (--report FILE.html, --report-from SUMMARY.json): one self-contained HTML page
/// drawn from a run summary (RunSummary::to_json()) with inline SVG and CSS only (no scripts,
/// no network), so it opens from a login node's file system. Everything it shows comes from the
/// summary, so a report redrawn from a saved summary is byte for byte the run's own report.

#include <stdexcept>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace swarm::cli {

/// A summary file that cannot be read or is not a summary; the message is "path[:line]: reason".
class SummaryFileError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// `text` with & < > " ' replaced by entities: safe in element content and quoted attributes.
[[nodiscard]] std::string html_escape(std::string_view text);

/// The report page. Sections: headline table, E2E latency histogram and CDF, completions over
/// time, TTFT distribution (or a line saying the run did not stream), per-endpoint heat map,
/// failures by kind and top reasons; a section without data says so. The headline numbers are
/// also embedded as JSON in <script type="application/json" id="summary"> (a data block, not
/// run by the browser) so tests and tools can read what the page shows. Throws
/// std::invalid_argument if `summary` is not an object with a numeric "requests".
[[nodiscard]] std::string render_report(const nlohmann::json& summary);

/// Reads and parses a --summary file; throws SummaryFileError ("path: cannot read: ...",
/// "path:line: not valid JSON: ...", "path: not an aswarm run summary ...").
[[nodiscard]] nlohmann::json read_summary_file(const std::string& path);

/// Renders `summary` and writes it to `path` atomically (temp file + fsync + rename).
void write_report(const nlohmann::json& summary, const std::string& path);

}  // namespace swarm::cli

#pragma once
/// @file hostfile.hpp
/// The hostfile parser. One endpoint per line; every form the Python Aurora Swarm accepts, plus
/// URLs and IPv6, and a precise `path:line: reason` error for everything else.
///
/// Accepted lines (columns separated by any run of spaces/tabs):
///   host<TAB>port<TAB>key=value ...     the seed's tab format
///   host:port key=value ...             host and port in the first column
///   [ipv6]:port   http://host:port   https://host:port
///   host key=value                      port omitted -> 8000
/// `#` starts a comment at the start of a line or after whitespace (`note=a#b` is a tag value);
/// blank lines and CRLF line ends are fine.

#include <filesystem>
#include <functional>
#include <istream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "swarm/endpoint.hpp"
#include "swarm/file_error.hpp"

namespace swarm {

/// Bad hostfile content or an unreadable hostfile. `what()` is `path:line: reason`
/// (`path: reason` when the problem is not tied to a line).
class HostfileError : public FileError {
 public:
  /// The FileError constructors: (path, line, reason).
  using FileError::FileError;
};

/// Receives non-fatal findings (e.g. a duplicate `host:port`), already formatted as
/// `path:line: warning: ...`. An empty handler logs them through aswarm's logger.
using HostfileWarningHandler = std::function<void(const std::string&)>;

/// Default port when a line gives none (vLLM's default).
inline constexpr std::uint16_t kDefaultPort = 8000;

/// Longest hostfile line accepted; a longer one is `path:line: line longer than N bytes`.
inline constexpr std::size_t kMaxHostfileLineBytes = 64 * 1024;

/// Parses a hostfile; endpoints keep file order. Throws HostfileError.
std::vector<Endpoint> parse_hostfile(const std::filesystem::path& path,
                                     const HostfileWarningHandler& on_warning = {});

/// Parses hostfile text from a stream; `source_name` is used in messages (e.g. "<stdin>").
std::vector<Endpoint> parse_hostfile(std::istream& in, std::string_view source_name,
                                     const HostfileWarningHandler& on_warning = {});

/// Parses a single hostfile line (comments allowed). Returns false for blank/comment-only
/// lines. Throws HostfileError naming `source_name:line_no`.
bool parse_hostfile_line(std::string_view line, std::string_view source_name, std::size_t line_no,
                         Endpoint& out);

/// The two ways format_hostfile() writes a line.
enum class HostfileFormat : std::uint8_t {
  columns,    ///< `host:port k=v ...` (space-separated; what the mock writes)
  seed_tabs,  ///< `host<TAB>port<TAB>k=v ...`: the seed's format, which its parser needs
              ///< (aswarm-health writes it)
};

/// Formats endpoints back into hostfile text, one per line, tags sorted by key (an https or
/// base-path endpoint as its URL in either format), such that parse_hostfile() reproduces them
/// exactly.
std::string format_hostfile(const std::vector<Endpoint>& endpoints,
                            HostfileFormat format = HostfileFormat::columns);

}  // namespace swarm

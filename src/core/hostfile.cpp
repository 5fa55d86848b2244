#include "swarm/hostfile.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <system_error>
#include <unordered_map>

#include <fmt/format.h>

#include "log.hpp"

namespace swarm {
namespace {

constexpr std::string_view kWhitespace = " \t\v\f";
// Longest host name DNS allows (an IPv6 literal with a zone id is shorter).
constexpr std::size_t kMaxHostBytes = 253;

// Why a single line failed; turned into a HostfileError with the file and line by the caller.
struct LineError {
  std::string reason;
};

[[noreturn]] void fail(std::string reason) {
  throw LineError{std::move(reason)};
}

std::string_view next_column(std::string_view& rest) {
  const auto begin = rest.find_first_not_of(kWhitespace);
  if (begin == std::string_view::npos) {
    rest = {};
    return {};
  }
  rest.remove_prefix(begin);
  const auto end = std::min(rest.find_first_of(kWhitespace), rest.size());
  auto column = rest.substr(0, end);
  rest.remove_prefix(end);
  return column;
}

std::uint16_t parse_port(std::string_view text) {
  if (text.empty()) fail("missing port after ':'");
  unsigned long value = 0;
  const auto* end = text.data() + text.size();
  // from_chars accepts no sign, no spaces and no base prefix: exactly the digits we want.
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ptr != end || (ec != std::errc{} && ec != std::errc::result_out_of_range)) {
    fail(fmt::format("port '{}' is not a number", text));
  }
  if (ec == std::errc::result_out_of_range || value == 0 || value > 65535) {
    fail(fmt::format("port {} is out of range (1-65535)", text));
  }
  return static_cast<std::uint16_t>(value);
}

bool is_host_char(char c, bool ipv6) {
  const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  if (alnum || c == '.' || c == '-') return true;
  return ipv6 ? (c == ':' || c == '%') : c == '_';
}

void check_host(std::string_view host, bool ipv6) {
  if (host.empty()) fail("empty host");
  if (host.size() > kMaxHostBytes) {
    fail(fmt::format("host name of {} bytes (at most {})", host.size(), kMaxHostBytes));
  }
  for (char c : host) {
    if (!is_host_char(c, ipv6)) {
      fail(fmt::format("invalid character '{}' in host '{}'", c, host));
    }
  }
}

// The path of a URL endpoint: a gateway's base path such as "/agent/3" (a trailing slash, as
// copied from a browser, is dropped). Endpoints are servers, not API roots: the client appends
// /v1/... itself, so a path ending in /v1 is a mistake worth naming.
std::string base_path(std::string_view path) {
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  for (const char c : path) {
    const bool ok = std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '/' || c == '-' ||
                    c == '.' || c == '_' || c == '~' || c == '%' || c == '+';
    if (!ok) fail(fmt::format("invalid character '{}' in URL path '{}'", c, path));
  }
  if (path.find("//") != std::string_view::npos) {
    fail(fmt::format("URL path '{}' has an empty segment", path));
  }
  if (path == "/v1" || path.ends_with("/v1")) {
    fail(
        fmt::format("URL path '{}' ends in /v1: give the server's base URL (aswarm appends "
                    "/v1/... itself)",
                    path));
  }
  return std::string(path);
}

// Parses the first column into `out`; returns whether it carried an explicit port.
bool parse_address(std::string_view column, Endpoint& out) {
  // user:password@ would be echoed by every later message (and misread as IPv6): refused first,
  // without repeating it. '@' is valid in no host and in no path we accept.
  if (column.find('@') != std::string_view::npos) {
    fail(
        "credentials in the address (user:password@host) are not supported; the address is "
        "not repeated here so the secret stays out of logs (use ASWARM_API_KEY for a key)");
  }
  if (const auto sep = column.find("://"); sep != std::string_view::npos) {
    const auto scheme = column.substr(0, sep);
    if (scheme == "http") {
      out.scheme = Scheme::http;
    } else if (scheme == "https") {
      out.scheme = Scheme::https;
    } else {
      fail(fmt::format("unsupported scheme '{}' (use http or https)", scheme));
    }
    column.remove_prefix(sep + 3);
    if (const auto slash = column.find('/'); slash != std::string_view::npos) {
      out.base_path = base_path(column.substr(slash));
      column = column.substr(0, slash);
    }
  }

  std::string_view port_text;
  bool has_port = false;
  if (!column.empty() && column.front() == '[') {
    const auto close = column.find(']');
    if (close == std::string_view::npos) fail(fmt::format("missing ']' in '{}'", column));
    out.host = std::string(column.substr(1, close - 1));
    check_host(out.host, /*ipv6=*/true);
    // Brackets are for IPv6 literals only: "[h%x]" would be written back as "h%x:8000", a
    // different (invalid) line (found by fuzz_hostfile).
    if (out.host.find(':') == std::string::npos) {
      fail(fmt::format("bracketed host '{}' is not an IPv6 address", out.host));
    }
    const auto after = column.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') fail(fmt::format("unexpected '{}' after ']'", after));
      port_text = after.substr(1);
      has_port = true;
    }
  } else {
    const auto colon = column.find(':');
    if (colon != std::string_view::npos && column.find(':', colon + 1) != std::string_view::npos) {
      fail(fmt::format("IPv6 address '{}' must be bracketed, e.g. [{}]:8000", column, column));
    }
    out.host = std::string(column.substr(0, colon));
    check_host(out.host, /*ipv6=*/false);
    if (colon != std::string_view::npos) {
      port_text = column.substr(colon + 1);
      has_port = true;
    }
  }
  if (has_port) out.port = parse_port(port_text);
  return has_port;
}

void add_tag(std::string_view column, std::size_t column_no, Endpoint& out) {
  const auto eq = column.find('=');
  if (eq == std::string_view::npos) {
    fail(fmt::format("column {} '{}' is not a key=value tag", column_no, column));
  }
  if (eq == 0) fail(fmt::format("tag '{}' has an empty key", column));
  // A control character (a CR inside a tag, say) could not be written back by
  // format_hostfile() and makes no sense in a tag; say which byte rather than print it.
  for (const char c : column) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      fail(fmt::format("tag '{}' contains the control character 0x{:02x}",
                       column.substr(0, eq), static_cast<unsigned char>(c)));
    }
  }
  auto [it, inserted] =
      out.tags.emplace(std::string(column.substr(0, eq)), std::string(column.substr(eq + 1)));
  if (!inserted) fail(fmt::format("tag '{}' is given twice on this line", it->first));
}

// A '#' starts a comment at the start of a line or after whitespace; inside a column it is data
// ("note=a#b role=x" keeps both tags, as the seed, which has no inline comments, does).
std::string_view without_comment(std::string_view line) noexcept {
  for (std::size_t hash = line.find('#'); hash != std::string_view::npos;
       hash = line.find('#', hash + 1)) {
    if (hash == 0 || kWhitespace.find(line[hash - 1]) != std::string_view::npos) {
      return line.substr(0, hash);
    }
  }
  return line;
}

bool parse_line(std::string_view line, Endpoint& out) {
  line = without_comment(line);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);  // CRLF files

  auto rest = line;
  const auto first = next_column(rest);
  if (first.empty()) return false;

  out = Endpoint{};
  const bool has_port = parse_address(first, out);
  std::size_t column_no = 2;
  for (auto column = next_column(rest); !column.empty(); column = next_column(rest), ++column_no) {
    // The seed's tab format puts the port in its own second column.
    if (column_no == 2 && !has_port && column.find('=') == std::string_view::npos) {
      out.port = parse_port(column);
      continue;
    }
    add_tag(column, column_no, out);
  }
  return true;
}

// std::getline without its unbounded growth: stops one byte past kMaxHostfileLineBytes, so
// /dev/zero or a file without newlines is an error at once, not gigabytes of buffer.
bool read_line(std::istream& in, std::string& line) {
  line.clear();
  std::streambuf* buf = in.rdbuf();
  if (buf == nullptr || !in.good()) return false;
  using Traits = std::streambuf::traits_type;
  for (auto c = buf->sbumpc(); c != Traits::eof(); c = buf->sbumpc()) {
    if (c == '\n') return true;
    line.push_back(Traits::to_char_type(c));
    if (line.size() > kMaxHostfileLineBytes) return true;
  }
  in.setstate(std::ios::eofbit);
  return !line.empty();
}

}  // namespace

bool parse_hostfile_line(std::string_view line, std::string_view source_name, std::size_t line_no,
                         Endpoint& out) {
  try {
    return parse_line(line, out);
  } catch (const LineError& e) {
    throw HostfileError(std::string(source_name), line_no, e.reason);
  }
}

std::vector<Endpoint> parse_hostfile(std::istream& in, std::string_view source_name,
                                     const HostfileWarningHandler& on_warning) {
  std::vector<Endpoint> endpoints;
  // host:port (host lower-cased: DNS names are case-insensitive) -> first line it appeared on.
  std::unordered_map<std::string, std::size_t> first_seen;
  std::string line;
  std::size_t line_no = 0;
  Endpoint endpoint;
  while (read_line(in, line)) {
    ++line_no;
    if (line.size() > kMaxHostfileLineBytes) {
      throw HostfileError(std::string(source_name), line_no,
                          fmt::format("line longer than {} bytes", kMaxHostfileLineBytes));
    }
    std::string_view view = line;
    if (line_no == 1 && view.starts_with("\xEF\xBB\xBF")) view.remove_prefix(3);  // UTF-8 BOM
    if (!parse_hostfile_line(view, source_name, line_no, endpoint)) continue;

    // Servers behind one gateway share host:port and differ in their base path.
    std::string key = endpoint.authority() + endpoint.base_path;
    for (auto& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    auto [it, fresh] = first_seen.emplace(std::move(key), line_no);
    if (!fresh) {
      auto message =
          fmt::format("{}:{}: warning: duplicate endpoint {} (first on line {}); kept", source_name,
                      line_no, endpoint.authority() + endpoint.base_path, it->second);
      if (on_warning) {
        on_warning(message);
      } else {
        detail::logger().warn("{}", message);
      }
    }
    endpoints.push_back(std::move(endpoint));
  }
  if (in.bad()) {
    throw HostfileError(std::string(source_name), line_no + 1, "read error");
  }
  if (endpoints.empty()) {
    throw HostfileError(std::string(source_name), 0,
                        line_no == 0 ? "no endpoints (the file is empty)"
                                     : "no endpoints (only blank lines and comments)");
  }
  return endpoints;
}

std::vector<Endpoint> parse_hostfile(const std::filesystem::path& path,
                                     const HostfileWarningHandler& on_warning) {
  const auto name = path.string();
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    throw HostfileError(name, 0, "cannot read hostfile: is a directory");
  }
  // A FIFO would block rank 0 until a writer comes, and a device (/dev/zero) never ends.
  if (const auto status = std::filesystem::status(path, ec);
      !ec && status.type() != std::filesystem::file_type::regular) {
    throw HostfileError(name, 0, "cannot read hostfile: not a regular file");
  }
  std::ifstream in(path);
  if (!in) {
    throw HostfileError(name, 0, fmt::format("cannot read hostfile: {}", std::strerror(errno)));
  }
  return parse_hostfile(in, name, on_warning);
}

std::string format_hostfile(const std::vector<Endpoint>& endpoints, HostfileFormat format) {
  const bool tabs = format == HostfileFormat::seed_tabs;
  std::string out;
  for (const auto& e : endpoints) {
    if (e.scheme == Scheme::https || !e.base_path.empty()) {
      out += e.url();  // the seed has neither https nor base paths: kept as a URL in both forms
    } else if (tabs) {
      const bool ipv6 = e.host.find(':') != std::string::npos;
      fmt::format_to(std::back_inserter(out), "{}\t{}", ipv6 ? "[" + e.host + "]" : e.host,
                     e.port);
    } else {
      out += e.authority();
    }
    for (const auto& [key, value] : e.tags) {
      // A tag that would not read back identically is a programming error, not user input.
      if (key.empty() || key.front() == '#' ||
          key.find_first_of(" \t\v\f\r\n=") != std::string::npos ||
          value.find_first_of(" \t\v\f\r\n") != std::string::npos) {
        throw std::invalid_argument(fmt::format(
            "format_hostfile: tag '{}={}' cannot be written to a hostfile", key, value));
      }
      fmt::format_to(std::back_inserter(out), "{}{}={}", tabs ? '\t' : ' ', key, value);
    }
    out += '\n';
  }
  return out;
}

}  // namespace swarm

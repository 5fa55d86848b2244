// Hostfile parser: every accepted form, every rejected form, with the exact `path:line: reason`.

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "swarm/hostfile.hpp"

namespace {

namespace fs = std::filesystem;
using swarm::Endpoint;
using swarm::HostfileError;
using swarm::Scheme;

class HostfileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "aswarm-hostfile-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    std::error_code ec;
    fs::permissions(dir_, fs::perms::owner_all, ec);
    fs::remove_all(dir_, ec);
  }

  fs::path write(const std::string& content, const std::string& name = "hosts.txt") {
    auto path = dir_ / name;
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }

  std::vector<Endpoint> parse(const std::string& content) {
    warnings_.clear();
    return swarm::parse_hostfile(write(content),
                                 [this](const std::string& w) { warnings_.push_back(w); });
  }

  // Parses `content` expecting a HostfileError; returns its message.
  std::string error_of(const std::string& content) {
    const auto path = write(content);
    try {
      swarm::parse_hostfile(path, [](const std::string&) {});
    } catch (const HostfileError& e) {
      return e.what();
    }
    ADD_FAILURE() << "no HostfileError for:\n" << content;
    return {};
  }

  std::string path_str() const { return (dir_ / "hosts.txt").string(); }

  fs::path dir_;
  std::vector<std::string> warnings_;
};

// ---- accepted forms --------------------------------------------------------------------------

TEST_F(HostfileTest, SeedTabFormatHostPortTags) {
  const auto eps = parse("node1\t8001\trole=critic\tnode=aurora-0001\n");
  ASSERT_EQ(eps.size(), 1u);
  EXPECT_EQ(eps[0].host, "node1");
  EXPECT_EQ(eps[0].port, 8001);
  EXPECT_EQ(eps[0].scheme, Scheme::http);
  EXPECT_EQ(eps[0].tag("role"), "critic");
  EXPECT_EQ(eps[0].tag("node"), "aurora-0001");
  EXPECT_EQ(eps[0].tags.size(), 2u);
}

TEST_F(HostfileTest, WhitespaceSeparatedColumnsAnyMix) {
  const auto eps = parse("  node2   8002 \t role=worker  \n");
  ASSERT_EQ(eps.size(), 1u);
  EXPECT_EQ(eps[0].host, "node2");
  EXPECT_EQ(eps[0].port, 8002);
  EXPECT_EQ(eps[0].tag("role"), "worker");
}

TEST_F(HostfileTest, HostColonPortInFirstColumn) {
  const auto eps = parse("host1:8000 node=aurora-0001 role=worker\nhost2:9000\n");
  ASSERT_EQ(eps.size(), 2u);
  EXPECT_EQ(eps[0].host, "host1");
  EXPECT_EQ(eps[0].port, 8000);
  EXPECT_EQ(eps[0].tag("node"), "aurora-0001");
  EXPECT_EQ(eps[1].host, "host2");
  EXPECT_EQ(eps[1].port, 9000);
  EXPECT_TRUE(eps[1].tags.empty());
}

TEST_F(HostfileTest, BracketedIpv6WithPort) {
  const auto eps = parse("[::1]:8001 role=a\n[fe80::1%eth0]:8002\n");
  ASSERT_EQ(eps.size(), 2u);
  EXPECT_EQ(eps[0].host, "::1");
  EXPECT_EQ(eps[0].port, 8001);
  EXPECT_EQ(eps[0].url(), "http://[::1]:8001");
  EXPECT_EQ(eps[1].host, "fe80::1%eth0");
}

TEST_F(HostfileTest, BracketedIpv6WithoutPortDefaults) {
  const auto eps = parse("[::1]\n");
  ASSERT_EQ(eps.size(), 1u);
  EXPECT_EQ(eps[0].port, swarm::kDefaultPort);
}

TEST_F(HostfileTest, HttpAndHttpsUrls) {
  const auto eps = parse(
      "http://node1:8000 role=a\n"
      "https://secure.example:8443\n"
      "https://[::1]:9443/\n"
      "https://bare\n");
  ASSERT_EQ(eps.size(), 4u);
  EXPECT_EQ(eps[0].scheme, Scheme::http);
  EXPECT_EQ(eps[0].url(), "http://node1:8000");
  EXPECT_EQ(eps[1].scheme, Scheme::https);
  EXPECT_EQ(eps[1].host, "secure.example");
  EXPECT_EQ(eps[1].port, 8443);
  EXPECT_EQ(eps[1].url(), "https://secure.example:8443");
  EXPECT_EQ(eps[2].scheme, Scheme::https);
  EXPECT_EQ(eps[2].host, "::1");
  EXPECT_EQ(eps[2].port, 9443);
  // Port omitted means 8000 for URLs too (vLLM's default), not the scheme's 443.
  EXPECT_EQ(eps[3].port, 8000);
}

TEST_F(HostfileTest, UrlsWithABasePathForGateways) {
  const auto eps = parse(
      "http://gw:8080/agent/3 role=a\n"
      "https://gw/agent/4/\n"
      "http://gw:8080/\n");
  ASSERT_EQ(eps.size(), 3u);
  EXPECT_EQ(eps[0].host, "gw");
  EXPECT_EQ(eps[0].port, 8080);
  EXPECT_EQ(eps[0].base_path, "/agent/3");
  EXPECT_EQ(eps[0].url(), "http://gw:8080/agent/3");
  EXPECT_EQ(eps[1].base_path, "/agent/4");  // a trailing slash is dropped
  EXPECT_EQ(eps[1].url(), "https://gw:8000/agent/4");
  EXPECT_EQ(eps[2].base_path, "");
  // The base path survives a round trip through format_hostfile (aswarm-health's output).
  std::istringstream in(swarm::format_hostfile(eps));
  EXPECT_EQ(swarm::parse_hostfile(in, "<roundtrip>"), eps);
}

TEST_F(HostfileTest, PortOmittedDefaultsTo8000) {
  const auto eps = parse("node3\nnode4 role=critic\n");
  ASSERT_EQ(eps.size(), 2u);
  EXPECT_EQ(eps[0].port, 8000);
  EXPECT_EQ(eps[1].port, 8000);
  EXPECT_EQ(eps[1].tag("role"), "critic");
}

TEST_F(HostfileTest, TagsInAnyLaterColumnAndValuesMayContainEquals) {
  const auto eps = parse("node1:1 a=1 b=x=y c=\n");
  ASSERT_EQ(eps.size(), 1u);
  EXPECT_EQ(eps[0].tag("a"), "1");
  EXPECT_EQ(eps[0].tag("b"), "x=y");
  EXPECT_EQ(eps[0].tag("c"), "");
  EXPECT_EQ(eps[0].tags.count("c"), 1u);
  EXPECT_EQ(eps[0].tag("missing"), "");
  EXPECT_EQ(eps[0].tags.count("missing"), 0u);
}

TEST_F(HostfileTest, CommentsBlankLinesAndCrlf) {
  const auto eps = parse(
      "# full-line comment\r\n"
      "\r\n"
      "   \t  \r\n"
      "node1:8001 role=a # trailing comment\r\n"
      "   # indented comment\n"
      "node2:8002\t# tab-separated comment\r\n");
  ASSERT_EQ(eps.size(), 2u);
  EXPECT_EQ(eps[0].host, "node1");
  EXPECT_EQ(eps[0].tag("role"), "a");
  EXPECT_EQ(eps[0].tags.size(), 1u);
  EXPECT_EQ(eps[1].host, "node2");
  EXPECT_EQ(eps[1].port, 8002);
}

TEST_F(HostfileTest, NoTrailingNewlineAndUtf8Bom) {
  const auto eps = parse("\xEF\xBB\xBFnode1:8001\nnode2:8002");
  ASSERT_EQ(eps.size(), 2u);
  EXPECT_EQ(eps[0].host, "node1");
  EXPECT_EQ(eps[1].port, 8002);
}

TEST_F(HostfileTest, KeepsFileOrder) {
  std::string text;
  for (int i = 0; i < 50; ++i)
    text += "h" + std::to_string(49 - i) + ":" + std::to_string(1000 + i) + "\n";
  const auto eps = parse(text);
  ASSERT_EQ(eps.size(), 50u);
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(eps[static_cast<std::size_t>(i)].host, "h" + std::to_string(49 - i));
    EXPECT_EQ(eps[static_cast<std::size_t>(i)].port, 1000 + i);
  }
}

TEST_F(HostfileTest, PortBoundaries) {
  const auto eps = parse("a:1\nb:65535\n");
  EXPECT_EQ(eps[0].port, 1);
  EXPECT_EQ(eps[1].port, 65535);
}

TEST_F(HostfileTest, DuplicateHostPortIsKeptAndWarnedWithBothLines) {
  const auto eps = parse("node1:8000 role=a\nnode2:8000\n\nNODE1:8000 role=b\nnode1\t8000\n");
  ASSERT_EQ(eps.size(), 4u);  // kept
  EXPECT_EQ(eps[2].tag("role"), "b");
  ASSERT_EQ(warnings_.size(), 2u);
  EXPECT_EQ(warnings_[0],
            path_str() + ":4: warning: duplicate endpoint NODE1:8000 (first on line 1); kept");
  EXPECT_EQ(warnings_[1],
            path_str() + ":5: warning: duplicate endpoint node1:8000 (first on line 1); kept");
}

TEST_F(HostfileTest, SameHostDifferentPortsIsNotADuplicate) {
  parse("node1:8000\nnode1:8001\n");
  EXPECT_TRUE(warnings_.empty());
}

TEST_F(HostfileTest, ParsesFromStreamWithSourceName) {
  std::istringstream in("a:1\nb:2\n");
  const auto eps = swarm::parse_hostfile(in, "<stdin>");
  ASSERT_EQ(eps.size(), 2u);
  std::istringstream bad("a:1\nb:x\n");
  try {
    swarm::parse_hostfile(bad, "<stdin>");
    FAIL();
  } catch (const HostfileError& e) {
    EXPECT_STREQ(e.what(), "<stdin>:2: port 'x' is not a number");
    EXPECT_EQ(e.path(), "<stdin>");
    EXPECT_EQ(e.line(), 2u);
  }
}

// ---- rejected forms: exact messages -----------------------------------------------------------

TEST_F(HostfileTest, UnreadableFile) {
  const auto missing = dir_ / "nope.txt";
  try {
    swarm::parse_hostfile(missing);
    FAIL();
  } catch (const HostfileError& e) {
    EXPECT_EQ(std::string(e.what()),
              missing.string() + ": cannot read hostfile: No such file or directory");
    EXPECT_EQ(e.line(), 0u);
  }
}

TEST_F(HostfileTest, DirectoryIsNotAHostfile) {
  try {
    swarm::parse_hostfile(dir_);
    FAIL();
  } catch (const HostfileError& e) {
    EXPECT_EQ(std::string(e.what()), dir_.string() + ": cannot read hostfile: is a directory");
  }
}

TEST_F(HostfileTest, PermissionDenied) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads any file";
  const auto path = write("a:1\n");
  fs::permissions(path, fs::perms::none);
  try {
    swarm::parse_hostfile(path);
    FAIL();
  } catch (const HostfileError& e) {
    EXPECT_EQ(std::string(e.what()), path.string() + ": cannot read hostfile: Permission denied");
  }
}

TEST_F(HostfileTest, PortNotANumber) {
  EXPECT_EQ(error_of("ok:1\nnode:80a0\n"), path_str() + ":2: port '80a0' is not a number");
  EXPECT_EQ(error_of("node:-1\n"), path_str() + ":1: port '-1' is not a number");
  EXPECT_EQ(error_of("node:+80\n"), path_str() + ":1: port '+80' is not a number");
  EXPECT_EQ(error_of("node\tabc\n"), path_str() + ":1: port 'abc' is not a number");
  EXPECT_EQ(error_of("node:\n"), path_str() + ":1: missing port after ':'");
}

TEST_F(HostfileTest, PortOutOfRange) {
  EXPECT_EQ(error_of("node:0\n"), path_str() + ":1: port 0 is out of range (1-65535)");
  EXPECT_EQ(error_of("a:1\n\nnode:65536\n"),
            path_str() + ":3: port 65536 is out of range (1-65535)");
  EXPECT_EQ(error_of("node\t99999999999999999999999\n"),
            path_str() + ":1: port 99999999999999999999999 is out of range (1-65535)");
  EXPECT_EQ(error_of("[::1]:0\n"), path_str() + ":1: port 0 is out of range (1-65535)");
}

TEST_F(HostfileTest, EmptyHost) {
  EXPECT_EQ(error_of(":8000\n"), path_str() + ":1: empty host");
  EXPECT_EQ(error_of("[]:8000\n"), path_str() + ":1: empty host");
  EXPECT_EQ(error_of("http://:8000\n"), path_str() + ":1: empty host");
  EXPECT_EQ(error_of("https://\n"), path_str() + ":1: empty host");
}

TEST_F(HostfileTest, TagColumnWithoutEquals) {
  EXPECT_EQ(error_of("node:8000 role=a worker\n"),
            path_str() + ":1: column 3 'worker' is not a key=value tag");
  // With the port already in column 1, a bare column 2 is a tag mistake, not a port.
  EXPECT_EQ(error_of("node:8000\t8001\n"),
            path_str() + ":1: column 2 '8001' is not a key=value tag");
  EXPECT_EQ(error_of("node\t8000\tcritic\n"),
            path_str() + ":1: column 3 'critic' is not a key=value tag");
  EXPECT_EQ(error_of("node:1 =x\n"), path_str() + ":1: tag '=x' has an empty key");
}

TEST_F(HostfileTest, SameTagKeyTwiceOnALine) {
  EXPECT_EQ(error_of("a:1 role=x\nnode:8000 role=a node=n role=b\n"),
            path_str() + ":2: tag 'role' is given twice on this line");
}

TEST_F(HostfileTest, NoEndpoints) {
  EXPECT_EQ(error_of(""), path_str() + ": no endpoints (the file is empty)");
  EXPECT_EQ(error_of("# only a comment\n\n   \n"),
            path_str() + ": no endpoints (only blank lines and comments)");
}

TEST_F(HostfileTest, MalformedAddresses) {
  EXPECT_EQ(error_of("::1:8000\n"),
            path_str() + ":1: IPv6 address '::1:8000' must be bracketed, e.g. [::1:8000]:8000");
  EXPECT_EQ(error_of("[::1:8000\n"), path_str() + ":1: missing ']' in '[::1:8000'");
  EXPECT_EQ(error_of("[::1]8000\n"), path_str() + ":1: unexpected '8000' after ']'");
  EXPECT_EQ(error_of("ftp://node:21\n"),
            path_str() + ":1: unsupported scheme 'ftp' (use http or https)");
  EXPECT_EQ(error_of("http://node:8000/v1\n"),
            path_str() +
                ":1: URL path '/v1' ends in /v1: give the server's base URL (aswarm "
                "appends /v1/... itself)");
  EXPECT_EQ(error_of("http://gw:80/a?b=1\n"),
            path_str() + ":1: invalid character '?' in URL path '/a?b=1'");
  EXPECT_EQ(error_of("http://gw:80/a//b\n"),
            path_str() + ":1: URL path '/a//b' has an empty segment");
  // userinfo is refused as credentials, without echoing it (CredentialsAreRefused... below).
  EXPECT_EQ(error_of("user@node:8000\n").find(path_str() + ":1: credentials in the address"), 0U);
}

TEST_F(HostfileTest, ErrorNamesTheFirstBadLineAfterGoodOnes) {
  // Nothing is half-returned: the error carries the line, and good lines before it don't matter.
  EXPECT_EQ(error_of("a:1\nb:2\n# c\nc:3 x\n"),
            path_str() + ":4: column 2 'x' is not a key=value tag");
}

// ---- format_hostfile round trip ---------------------------------------------------------------

TEST_F(HostfileTest, FormatRoundTrips) {
  const auto eps = parse(
      "node1\t8001\trole=critic\n"
      "[::1]:9000 role=hypotheses node=n1\n"
      "https://secure:8443 a=b=c\n"
      "plain\n");
  const auto text = swarm::format_hostfile(eps);
  EXPECT_EQ(text,
            "node1:8001 role=critic\n"
            "[::1]:9000 node=n1 role=hypotheses\n"
            "https://secure:8443 a=b=c\n"
            "plain:8000\n");
  std::istringstream in(text);
  EXPECT_EQ(swarm::parse_hostfile(in, "<roundtrip>"), eps);
  // Issue 18: the seed's parser splits on tabs and reads the port from column 2, so
  // aswarm-health writes this form (host, port, sorted tags); aswarm reads both.
  const auto tabs = swarm::format_hostfile(eps, swarm::HostfileFormat::seed_tabs);
  EXPECT_EQ(tabs,
            "node1\t8001\trole=critic\n"
            "[::1]\t9000\tnode=n1\trole=hypotheses\n"
            "https://secure:8443\ta=b=c\n"
            "plain\t8000\n");
  std::istringstream tabs_in(tabs);
  EXPECT_EQ(swarm::parse_hostfile(tabs_in, "<roundtrip>"), eps);
}

TEST_F(HostfileTest, FormatRejectsTagsThatCannotRoundTrip) {
  Endpoint e{.host = "h", .port = 1, .scheme = Scheme::http, .tags = {{"role", "two words"}}};
  EXPECT_THROW(swarm::format_hostfile({e}), std::invalid_argument);
  e.tags = {{"#k", "v"}};  // would read back as a comment
  EXPECT_THROW(swarm::format_hostfile({e}), std::invalid_argument);
  e.tags = {{"k#", "v#w"}};  // a '#' inside a column is data
  std::istringstream in(swarm::format_hostfile({e}));
  EXPECT_EQ(swarm::parse_hostfile(in, "<roundtrip>"), std::vector<Endpoint>{e});
}

TEST_F(HostfileTest, HashInsideAColumnIsDataAsInTheSeed) {
  // Issue 18: '#' started a comment anywhere, so the role tag was lost; the seed keeps both.
  const auto eps = parse("node1:8001 note=a#b role=x\nnode2\t8002\tnote=#c\n#node3:1\n");
  ASSERT_EQ(eps.size(), 2u);
  EXPECT_EQ(eps[0].tag("note"), "a#b");
  EXPECT_EQ(eps[0].tag("role"), "x");
  EXPECT_EQ(eps[1].tag("note"), "#c");
  EXPECT_EQ(eps[1].port, 8002);
}

// ---- limits and secrets (the reliability audit) -----------------------------------------------

TEST_F(HostfileTest, ControlCharacterInATagIsRefused) {
  // A CR inside a tag parsed, but format_hostfile() could not write it back (the fuzzer's
  // round trip, and the 2-rank hang of the audit).
  EXPECT_EQ(error_of("a:1 role=x\ry\n"),
            path_str() + ":1: tag 'role' contains the control character 0x0d");
  EXPECT_EQ(error_of("a:1 k\x01=v\n"), path_str() + ":1: tag 'k\x01' contains the control character 0x01");
  EXPECT_EQ(parse("a:1 role=x\r\n").front().tags.at("role"), "x");  // CRLF still fine
}

TEST_F(HostfileTest, CredentialsAreRefusedWithoutEchoingThem) {
  for (const std::string line : {"http://user:s3cret@gw:8000/agent/1\n", "user:s3cret@gw:8000\n",
                                 "https://s3cret@gw\n", "http://u:s3/cret@gw/\n"}) {
    const auto message = error_of(line);
    EXPECT_EQ(message.find("s3"), std::string::npos) << message;
    EXPECT_NE(message.find(path_str() + ":1: credentials in the address"), std::string::npos)
        << message;
  }
}

TEST_F(HostfileTest, LongLinesAndHostsAreRefused) {
  EXPECT_EQ(error_of(std::string(300, 'h') + ":1\n"),
            path_str() + ":1: host name of 300 bytes (at most 253)");
  EXPECT_EQ(error_of("a:1\n" + std::string(swarm::kMaxHostfileLineBytes + 1, 'x')),
            path_str() + ":2: line longer than 65536 bytes");
  std::istringstream zeros(std::string(1 << 20, '\0'));  // what /dev/zero gives, bounded here
  try {
    swarm::parse_hostfile(zeros, "zeros");
    FAIL();
  } catch (const HostfileError& e) {
    EXPECT_STREQ(e.what(), "zeros:1: line longer than 65536 bytes");
  }
}

TEST_F(HostfileTest, BracketsAreForIpv6Only) {
  // fuzz_hostfile's crash-6f445623: "[%st00]" parsed, but format_hostfile() wrote it back as
  // "%st00:8000", which does not parse.
  EXPECT_EQ(error_of("[%st00]\n"), path_str() + ":1: bracketed host '%st00' is not an IPv6 address");
  EXPECT_EQ(error_of("[node1]:80\n"), path_str() + ":1: bracketed host 'node1' is not an IPv6 address");
  EXPECT_EQ(parse("[fe80::1%eth0]:9\n").front().host, "fe80::1%eth0");
}

TEST_F(HostfileTest, NonRegularFilesAreRefused) {
  try {
    swarm::parse_hostfile("/dev/zero");
    FAIL();
  } catch (const HostfileError& e) {
    EXPECT_STREQ(e.what(), "/dev/zero: cannot read hostfile: not a regular file");
  }
}

}  // namespace

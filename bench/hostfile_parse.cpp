// Benchmark: parse a generated hostfile of N lines (default 100,000) several times and print the
// timings. Target (issue 2): well under a second for 100,000 lines. Reported, never asserted.
//
//   bench_hostfile [lines] [repeats]

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "swarm/hostfile.hpp"

int main(int argc, char** argv) {
  const long lines = argc > 1 ? std::atol(argv[1]) : 100'000;
  const int repeats = argc > 2 ? std::atoi(argv[2]) : 5;
  if (lines <= 0 || repeats <= 0) {
    fmt::print(stderr, "usage: bench_hostfile [lines>0] [repeats>0]\n");
    return 2;
  }

  const auto path = std::filesystem::temp_directory_path() /
                    fmt::format("aswarm-bench-hostfile-{}.txt", ::getpid());
  {
    // A mix of every accepted form, like a real Aurora hostfile with a comment every 100 lines.
    std::ofstream out(path);
    for (long i = 0; i < lines; ++i) {
      const long node = i / 12;
      const long port = 8000 + i % 12;
      switch (i % 4) {
        case 0:
          out << fmt::format(
              "x{:05}c0s0b0n0.hsn.cm.aurora.alcf.anl.gov\t{}\trole=hypotheses\tnode={}\n", node,
              port, node);
          break;
        case 1:
          out << fmt::format("x{:05}c0s0b0n0:{} role=critiques node={}\n", node, port, node);
          break;
        case 2:
          out << fmt::format("http://10.{}.{}.{}:{} role=workers\n", node / 65536 % 256,
                             node / 256 % 256, node % 256, port);
          break;
        default:
          out << fmt::format("[fd00::{:x}]:{} role=workers # ipv6\n", node, port);
          break;
      }
      if (i % 100 == 99) out << "# rack boundary\n\n";
    }
  }
  const auto bytes = std::filesystem::file_size(path);

  std::vector<double> seconds;
  std::size_t parsed = 0;
  std::size_t warnings = 0;
  for (int r = 0; r < repeats; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    const auto endpoints = swarm::parse_hostfile(path, [&](const std::string&) { ++warnings; });
    const auto t1 = std::chrono::steady_clock::now();
    parsed = endpoints.size();
    seconds.push_back(std::chrono::duration<double>(t1 - t0).count());
  }
  std::filesystem::remove(path);
  std::sort(seconds.begin(), seconds.end());

  const double median = seconds[seconds.size() / 2];
  fmt::print("hostfile parse: {} lines ({:.1f} MiB), {} endpoints, {} repeats\n", lines,
             static_cast<double>(bytes) / (1 << 20), parsed, repeats);
  fmt::print("  min {:.1f} ms  median {:.1f} ms  max {:.1f} ms\n", seconds.front() * 1e3,
             median * 1e3, seconds.back() * 1e3);
  fmt::print("  {:.2f} M lines/s (median); target: 100,000 lines well under 1 s\n",
             static_cast<double>(lines) / median / 1e6);
  if (warnings != 0) fmt::print("  warnings: {}\n", warnings / static_cast<std::size_t>(repeats));
  return 0;
}

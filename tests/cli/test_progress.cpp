// Progress: the three modes, redraw throttling and the line format, with a fake clock.

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <gtest/gtest.h>

#include "io/progress.hpp"

namespace swarm::cli {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// A FILE* whose contents the test can read (open_memstream is not a terminal).
class MemFile {
 public:
  MemFile() : file_(::open_memstream(&data_, &size_)) {}
  ~MemFile() {
    std::fclose(file_);
    std::free(data_);
  }
  MemFile(const MemFile&) = delete;
  MemFile& operator=(const MemFile&) = delete;
  [[nodiscard]] std::FILE* get() const { return file_; }
  std::string text() {
    std::fflush(file_);
    return std::string(data_, size_);
  }

 private:
  char* data_ = nullptr;
  std::size_t size_ = 0;
  std::FILE* file_;
};

struct FakeClock {
  std::chrono::steady_clock::time_point now{seconds(1000)};
  Progress::Clock clock() {
    return [this] { return now; };
  }
};

TEST(Progress, ParsesModes) {
  EXPECT_EQ(parse_progress_mode("auto"), ProgressMode::automatic);
  EXPECT_EQ(parse_progress_mode("always"), ProgressMode::always);
  EXPECT_EQ(parse_progress_mode("never"), ProgressMode::never);
  EXPECT_FALSE(parse_progress_mode("sometimes"));
}

TEST(Progress, LineFormat) {
  MemFile err;
  FakeClock clock;
  Progress progress(10, ProgressMode::never, err.get(), clock.clock());
  EXPECT_EQ(progress.format_line(clock.now), "0/10 (0.0%) ok 0 failed 0  0.0 req/s  ETA --:--");
  Progress live(10, ProgressMode::always, err.get(), clock.clock());
  clock.now += seconds(2);
  live.update(5, 4, 1);
  EXPECT_EQ(live.format_line(clock.now), "5/10 (50.0%) ok 4 failed 1  2.5 req/s  ETA 00:02");
  clock.now += seconds(2);
  live.update(10, 9, 1);
  EXPECT_EQ(live.format_line(clock.now), "10/10 (100.0%) ok 9 failed 1  2.5 req/s  ETA 00:00");
}

TEST(Progress, EtaGrowsToHours) {
  MemFile err;
  FakeClock clock;
  Progress progress(100000, ProgressMode::always, err.get(), clock.clock());
  clock.now += seconds(10);
  progress.update(10, 10, 0);  // 1 req/s, 99990 s left
  EXPECT_EQ(progress.format_line(clock.now),
            "10/100000 (0.0%) ok 10 failed 0  1.0 req/s  ETA 27:46:30");
  Progress empty(0, ProgressMode::always, err.get(), clock.clock());
  EXPECT_EQ(empty.format_line(clock.now), "0/0 (100.0%) ok 0 failed 0  0.0 req/s  ETA 00:00");
}

TEST(Progress, NeverPrintsNothing) {
  MemFile err;
  FakeClock clock;
  Progress progress(10, ProgressMode::never, err.get(), clock.clock());
  for (int i = 1; i <= 10; ++i) {
    clock.now += seconds(20);
    progress.update(static_cast<std::size_t>(i), static_cast<std::size_t>(i), 0);
  }
  progress.finish();
  EXPECT_EQ(err.text(), "");
}

TEST(Progress, AlwaysRedrawsInPlaceAtMostTenTimesASecond) {
  MemFile err;
  FakeClock clock;
  Progress progress(1000, ProgressMode::always, err.get(), clock.clock());
  clock.now += seconds(1);
  progress.update(100, 100, 0);
  const std::string first = "\r100/1000 (10.0%) ok 100 failed 0  100.0 req/s  ETA 00:09";
  EXPECT_EQ(err.text(), first);
  clock.now += milliseconds(50);
  progress.update(105, 105, 0);  // too soon: not drawn
  EXPECT_EQ(err.text(), first);
  clock.now += milliseconds(50);
  progress.update(110, 109, 1);
  const std::string second = "\r110/1000 (11.0%) ok 109 failed 1  100.0 req/s  ETA 00:09";
  EXPECT_EQ(err.text(), first + second);
  // Ten updates within 100 ms draw at most once.
  for (int i = 0; i < 10; ++i) {
    clock.now += milliseconds(9);
    progress.update(111 + static_cast<std::size_t>(i), 111, 0);
  }
  EXPECT_EQ(err.text(), first + second);
  clock.now = std::chrono::steady_clock::time_point(seconds(1010));
  progress.update(1000, 990, 10);
  progress.finish();
  progress.finish();  // idempotent
  const std::string text = err.text();
  const std::string final_line = "\r1000/1000 (100.0%) ok 990 failed 10  100.0 req/s  ETA 00:00";
  ASSERT_GE(text.size(), final_line.size() + 1);
  EXPECT_EQ(text.substr(text.size() - final_line.size() - 1), final_line + "\n");
  EXPECT_EQ(text.find('\n'), text.size() - 1);  // one newline, at the very end
}

TEST(Progress, ShorterLineOverwritesTheRestOfTheLongerOne) {
  MemFile err;
  FakeClock clock;
  Progress progress(100000, ProgressMode::always, err.get(), clock.clock());
  clock.now += seconds(1);
  progress.update(5000, 5000, 0);  // "... 5000.0 req/s  ETA 00:19"
  const std::size_t long_size = err.text().size() - 1;
  clock.now += seconds(99);
  progress.update(5001, 5001, 0);  // "... 50.0 req/s  ETA 31:40": two characters shorter
  const std::string text = err.text();
  const std::string redraw = text.substr(long_size + 1);
  ASSERT_EQ(redraw.front(), '\r');
  EXPECT_EQ(redraw.size() - 1, long_size) << "padded to the previous width: [" << redraw << "]";
  EXPECT_EQ(redraw, "\r5001/100000 (5.0%) ok 5001 failed 0  50.0 req/s  ETA 31:40  ");
}

TEST(Progress, AutoWithoutTerminalLogsEveryThirtySecondsByDefault) {
  MemFile err;
  FakeClock clock;
  Progress progress(100, ProgressMode::automatic, err.get(), clock.clock());
  clock.now += seconds(29);
  progress.update(29, 29, 0);
  EXPECT_EQ(err.text(), "");
  clock.now += seconds(1);
  progress.update(30, 30, 0);
  EXPECT_EQ(err.text(),
            "aswarm-mpi: progress: 30/100 (30.0%) ok 30 failed 0  1.0 req/s  ETA 01:10\n");
}

TEST(Progress, ShowsTheOutputTokenRateOnceTokensAreCounted) {
  MemFile err;
  FakeClock clock;
  Progress progress(10, ProgressMode::always, err.get(), clock.clock());
  clock.now += seconds(2);
  progress.update(5, 5, 0, 1000);
  EXPECT_EQ(progress.format_line(clock.now),
            "5/10 (50.0%) ok 5 failed 0  2.5 req/s  500 tok/s  ETA 00:02");
}

TEST(Progress, AutoWithoutTerminalLogsAtTheGivenInterval) {
  MemFile err;
  FakeClock clock;
  Progress progress(100, ProgressMode::automatic, err.get(), clock.clock(), seconds(10));
  clock.now += seconds(5);
  progress.update(5, 5, 0);
  EXPECT_EQ(err.text(), "");
  clock.now += seconds(5);
  progress.update(10, 10, 0);
  const std::string first =
      "aswarm-mpi: progress: 10/100 (10.0%) ok 10 failed 0  1.0 req/s  ETA 01:30\n";
  EXPECT_EQ(err.text(), first);
  clock.now += seconds(9);
  progress.update(19, 19, 0);
  EXPECT_EQ(err.text(), first);
  clock.now += seconds(1);
  progress.update(20, 19, 1);
  const std::string second =
      "aswarm-mpi: progress: 20/100 (20.0%) ok 19 failed 1  1.0 req/s  ETA 01:20\n";
  EXPECT_EQ(err.text(), first + second);
  clock.now += seconds(1);
  progress.update(21, 20, 1);
  progress.finish();
  EXPECT_EQ(err.text(),
            first + second +
                "aswarm-mpi: progress: 21/100 (21.0%) ok 20 failed 1  1.0 req/s  ETA 01:19\n");
  EXPECT_EQ(err.text().find('\r'), std::string::npos);
}

TEST(Progress, AutoOnATerminalDrawsTheLiveLine) {
  const int master = ::posix_openpt(O_RDWR | O_NOCTTY);
  if (master < 0 || ::grantpt(master) != 0 || ::unlockpt(master) != 0) {
    if (master >= 0) ::close(master);
    GTEST_SKIP() << "no pseudo-terminal available";
  }
  const int slave = ::open(::ptsname(master), O_RDWR | O_NOCTTY);
  ASSERT_GE(slave, 0);
  std::FILE* tty = ::fdopen(slave, "w");
  ASSERT_NE(tty, nullptr);
  FakeClock clock;
  {
    Progress progress(4, ProgressMode::automatic, tty, clock.clock());
    clock.now += seconds(1);
    progress.update(1, 1, 0);
  }
  std::fclose(tty);
  pollfd pfd{master, POLLIN, 0};
  ASSERT_EQ(::poll(&pfd, 1, 2000), 1);
  char buffer[256] = {};
  const auto n = ::read(master, buffer, sizeof buffer - 1);
  ::close(master);
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(buffer, static_cast<std::size_t>(n)),
            "\r1/4 (25.0%) ok 1 failed 0  1.0 req/s  ETA 00:03");
}

}  // namespace
}  // namespace swarm::cli

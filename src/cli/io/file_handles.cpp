#include "io/file_handles.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>

#include "io/input_error.hpp"

namespace swarm::cli::detail {

std::string errno_message(std::string_view what, std::string_view path) {
  return fmt::format("{} '{}': {}", what, path, std::strerror(errno));
}

File::~File() {
  close();
}

File::File(File&& other) noexcept : file_(other.file_), owned_(other.owned_) {
  other.file_ = nullptr;
}

File& File::operator=(File&& other) noexcept {
  if (this != &other) {
    close();
    file_ = other.file_;
    owned_ = other.owned_;
    other.file_ = nullptr;
  }
  return *this;
}

File File::open(const std::string& path, const char* mode) {
  // "e" = O_CLOEXEC: MPI launchers and curl may fork helpers that must not inherit our fds.
  const std::string with_cloexec = std::string(mode) + "e";
  std::FILE* file = std::fopen(path.c_str(), with_cloexec.c_str());
  if (file == nullptr) throw std::runtime_error(errno_message("cannot open", path));
  return File(file, true);
}

bool File::close() noexcept {
  if (file_ == nullptr) return true;
  std::FILE* file = file_;
  file_ = nullptr;
  return owned_ ? std::fclose(file) == 0 : std::fflush(file) == 0;
}

bool is_regular(std::FILE* file) noexcept {
  struct stat st {};
  return file != nullptr && ::fstat(::fileno(file), &st) == 0 && S_ISREG(st.st_mode);
}

File make_spool_file() {
  const char* env = std::getenv("TMPDIR");
  std::string pattern = (env != nullptr && *env != '\0') ? env : "/tmp";
  pattern += "/aswarm-spool-XXXXXX";
  std::vector<char> name(pattern.begin(), pattern.end());
  name.push_back('\0');
  const int fd = ::mkostemp(name.data(), O_CLOEXEC);
  if (fd < 0) throw std::runtime_error(errno_message("cannot create spool file in", pattern));
  ::unlink(name.data());
  std::FILE* file = ::fdopen(fd, "w+");
  if (file == nullptr) {
    const auto message = errno_message("cannot open spool file", name.data());
    ::close(fd);
    throw std::runtime_error(message);
  }
  return File(file, true);
}

LineReader::~LineReader() = default;

bool LineReader::next(std::string_view& line, const std::string& name) {
  // getc_unlocked, not getline(): getline has no bound. The stream stays the one position
  // callers ftello()/fseeko() on.
  buffer_.clear();
  errno = 0;
  bool newline = false;
  int c = 0;
  ::flockfile(file_);
  while ((c = ::getc_unlocked(file_)) != EOF) {
    if (c == '\n') {
      newline = true;
      break;
    }
    if (buffer_.size() == max_bytes_) {
      ::funlockfile(file_);
      throw InputError(name, lines_ + 1,
                       fmt::format("line longer than {} bytes (--max-line-bytes)", max_bytes_));
    }
    buffer_.push_back(static_cast<char>(c));
  }
  ::funlockfile(file_);
  if (c == EOF && std::ferror(file_) != 0) {
    throw std::runtime_error(errno_message("cannot read", name));
  }
  if (!newline && buffer_.empty()) return false;
  ++lines_;
  line_offset_ = end_offset_;
  end_offset_ += buffer_.size() + (newline ? 1 : 0);
  had_newline_ = newline;
  line = buffer_;
  return true;
}

namespace {

int default_mode(const std::string& target) {
  struct stat st {};
  // Replacing a file keeps its permissions; a new file gets the usual rw-r--r--.
  if (::stat(target.c_str(), &st) == 0) return static_cast<int>(st.st_mode & 07777);
  return 0644;
}

std::string parent_dir(const std::string& target) {
  auto parent = std::filesystem::path(target).parent_path();
  return parent.empty() ? std::string(".") : parent.string();
}

}  // namespace

AtomicFile::AtomicFile(std::string target, int mode) : target_(std::move(target)) {
  const auto filename = std::filesystem::path(target_).filename().string();
  std::string pattern = parent_dir(target_) + "/." + filename + ".tmp-XXXXXX";
  std::vector<char> name(pattern.begin(), pattern.end());
  name.push_back('\0');
  const int fd = ::mkostemp(name.data(), O_CLOEXEC);
  if (fd < 0) throw std::runtime_error(errno_message("cannot create temporary file", pattern));
  temp_path_ = name.data();
  ::fchmod(fd, static_cast<mode_t>(mode >= 0 ? mode : default_mode(target_)));
  std::FILE* file = ::fdopen(fd, "w");
  if (file == nullptr) {
    const auto message = errno_message("cannot open", temp_path_);
    ::close(fd);
    ::unlink(temp_path_.c_str());
    throw std::runtime_error(message);
  }
  file_ = File(file, true);
}

AtomicFile::~AtomicFile() {
  if (!committed_) {
    file_.close();
    ::unlink(temp_path_.c_str());
  }
}

void AtomicFile::write(std::string_view bytes) {
  if (std::fwrite(bytes.data(), 1, bytes.size(), file_.get()) != bytes.size()) {
    throw std::runtime_error(errno_message("cannot write", temp_path_));
  }
}

void AtomicFile::commit(const std::function<void()>& before_rename) {
  // fsync before rename: otherwise a crash can leave the new name pointing at empty blocks.
  if (std::fflush(file_.get()) != 0 || ::fsync(::fileno(file_.get())) != 0) {
    throw std::runtime_error(errno_message("cannot write", temp_path_));
  }
  if (!file_.close()) throw std::runtime_error(errno_message("cannot close", temp_path_));
  if (before_rename) before_rename();
  if (std::rename(temp_path_.c_str(), target_.c_str()) != 0) {
    throw std::runtime_error(errno_message("cannot rename temporary file to", target_));
  }
  committed_ = true;
  // The rename itself is only durable once the directory entry is on disk.
  const int dir = ::open(parent_dir(target_).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
}

}  // namespace swarm::cli::detail

#pragma once
/// @file event_handles.hpp
/// Owning wrappers for the libevent handles the mock uses (event_base, evhttp, event) and for
/// plain socket descriptors: one owner per handle, copy deleted, move transfers ownership.

#include <event2/event.h>
#include <event2/http.h>
#include <unistd.h>

#include <stdexcept>
#include <utility>

namespace swarm::mock {

/// Owns one libevent object and releases it with `Free`.
template <typename T, void (*Free)(T*)>
class UniqueEventHandle {
 public:
  UniqueEventHandle() = default;
  explicit UniqueEventHandle(T* handle) noexcept : handle_(handle) {}
  ~UniqueEventHandle() { reset(); }

  UniqueEventHandle(const UniqueEventHandle&) = delete;
  UniqueEventHandle& operator=(const UniqueEventHandle&) = delete;
  UniqueEventHandle(UniqueEventHandle&& other) noexcept
      : handle_(std::exchange(other.handle_, nullptr)) {}
  UniqueEventHandle& operator=(UniqueEventHandle&& other) noexcept {
    if (this != &other) {
      reset();
      handle_ = std::exchange(other.handle_, nullptr);
    }
    return *this;
  }

  [[nodiscard]] T* get() const noexcept { return handle_; }
  explicit operator bool() const noexcept { return handle_ != nullptr; }

  void reset(T* handle = nullptr) noexcept {
    if (handle_ != nullptr) Free(handle_);
    handle_ = handle;
  }

 private:
  T* handle_ = nullptr;
};

using EventBase = UniqueEventHandle<event_base, event_base_free>;
using Evhttp = UniqueEventHandle<evhttp, evhttp_free>;
/// event_free() also removes the event from its base when it is still pending.
using Event = UniqueEventHandle<event, event_free>;

/// Wraps a just-created handle, throwing when libevent returned null (out of memory or
/// descriptors); `what` names the call for the message.
template <typename Handle, typename T>
Handle checked(T* handle, const char* what) {
  if (handle == nullptr) throw std::runtime_error(std::string(what) + " failed");
  return Handle(handle);
}

/// Owns a socket until it is handed to libevent with release().
class FileDescriptor {
 public:
  FileDescriptor() = default;
  explicit FileDescriptor(int fd) noexcept : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  FileDescriptor(FileDescriptor&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  FileDescriptor& operator=(FileDescriptor&& other) noexcept {
    if (this != &other) {
      if (fd_ >= 0) ::close(fd_);
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }

  [[nodiscard]] int get() const noexcept { return fd_; }
  int release() noexcept { return std::exchange(fd_, -1); }

 private:
  int fd_ = -1;
};

}  // namespace swarm::mock

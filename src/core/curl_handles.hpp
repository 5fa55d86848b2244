#pragma once
// RAII owners for libcurl handles (one class per handle type; copy deleted, move transfers).

#include <curl/curl.h>

#include <new>
#include <utility>

namespace swarm::detail {

/// Calls curl_global_init once per process, before the first handle is created. libcurl's
/// global state is never cleaned up: other libraries in the process may use it too.
void ensure_curl_global_init();

class EasyHandle {
 public:
  EasyHandle() : h_(curl_easy_init()) {
    if (h_ == nullptr) throw std::bad_alloc();
  }
  ~EasyHandle() {
    if (h_ != nullptr) curl_easy_cleanup(h_);
  }
  EasyHandle(EasyHandle&& o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
  EasyHandle& operator=(EasyHandle&& o) noexcept {
    std::swap(h_, o.h_);
    return *this;
  }
  EasyHandle(const EasyHandle&) = delete;
  EasyHandle& operator=(const EasyHandle&) = delete;

  [[nodiscard]] CURL* get() const noexcept { return h_; }

 private:
  CURL* h_;
};

class MultiHandle {
 public:
  MultiHandle() : h_(curl_multi_init()) {
    if (h_ == nullptr) throw std::bad_alloc();
  }
  ~MultiHandle() {
    if (h_ != nullptr) curl_multi_cleanup(h_);
  }
  MultiHandle(const MultiHandle&) = delete;
  MultiHandle& operator=(const MultiHandle&) = delete;
  MultiHandle(MultiHandle&&) = delete;
  MultiHandle& operator=(MultiHandle&&) = delete;

  [[nodiscard]] CURLM* get() const noexcept { return h_; }

 private:
  CURLM* h_;
};

class HeaderList {
 public:
  HeaderList() = default;
  ~HeaderList() { curl_slist_free_all(list_); }
  HeaderList(const HeaderList&) = delete;
  HeaderList& operator=(const HeaderList&) = delete;
  HeaderList(HeaderList&&) = delete;
  HeaderList& operator=(HeaderList&&) = delete;

  void append(const char* header) {
    curl_slist* next = curl_slist_append(list_, header);
    if (next == nullptr) throw std::bad_alloc();
    list_ = next;
  }
  [[nodiscard]] curl_slist* get() const noexcept { return list_; }

 private:
  curl_slist* list_ = nullptr;
};

}  // namespace swarm::detail

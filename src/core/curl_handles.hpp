#pragma once
// RAII owners for libcurl handles (one class per handle type; copy deleted, move transfers),
// and the checkers their return codes go through.

#include <curl/curl.h>

#include <new>
#include <stdexcept>
#include <string>
#include <utility>

namespace swarm::detail {

/// Throws when a curl_multi_* call failed. Agent failures arrive per transfer (CURLMsg), so a
/// failing multi call means the engine misused its handles: a bug, not an agent failure.
inline void check_multi(CURLMcode code, const char* call) {
  if (code == CURLM_OK) return;
  if (code == CURLM_OUT_OF_MEMORY) throw std::bad_alloc();
  throw std::logic_error(std::string(call) + " failed: " + curl_multi_strerror(code));
}

/// Throws when curl_easy_setopt refused `option`: an option this libcurl lacks
/// (CURLE_NOT_BUILT_IN, CURLE_UNKNOWN_OPTION) must not be silently skipped.
inline void check_easy(CURLcode code, CURLoption option) {
  if (code == CURLE_OK) return;
  if (code == CURLE_OUT_OF_MEMORY) throw std::bad_alloc();
  const curl_easyoption* known = curl_easy_option_by_id(option);
  const std::string name =
      known != nullptr ? std::string("CURLOPT_") + known->name : std::to_string(option);
  throw std::runtime_error("curl_easy_setopt(" + name + ") failed: " + curl_easy_strerror(code));
}

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

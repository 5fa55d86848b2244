// White-box tests of the engine's seams that no public call can reach cheaply: the CURLMcode and
// curl_easy_setopt checkers, and the CURLcode -> FailureKind table.

#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

#include "engine.hpp"

namespace swarm::detail {
namespace {

TEST(CheckMulti, OkPassesAndFailuresThrowNamingTheCall) {
  EXPECT_NO_THROW(check_multi(CURLM_OK, "curl_multi_perform"));
  try {
    check_multi(CURLM_BAD_HANDLE, "curl_multi_perform");
    FAIL() << "no throw";
  } catch (const std::logic_error& e) {
    EXPECT_EQ(std::string(e.what()),
              std::string("curl_multi_perform failed: ") + curl_multi_strerror(CURLM_BAD_HANDLE));
  }
  EXPECT_THROW(check_multi(CURLM_OUT_OF_MEMORY, "curl_multi_poll"), std::bad_alloc);
}

TEST(CheckMulti, ARealMisuseThrows) {
  // What a double add would do inside the engine: libcurl refuses, the checker throws.
  ensure_curl_global_init();
  MultiHandle multi;
  EasyHandle easy;
  check_multi(curl_multi_add_handle(multi.get(), easy.get()), "curl_multi_add_handle");
  EXPECT_THROW(check_multi(curl_multi_add_handle(multi.get(), easy.get()), "curl_multi_add_handle"),
               std::logic_error);
  check_multi(curl_multi_remove_handle(multi.get(), easy.get()), "curl_multi_remove_handle");
}

TEST(CheckEasy, FailuresThrowNamingTheOption) {
  EXPECT_NO_THROW(check_easy(CURLE_OK, CURLOPT_URL));
  try {
    check_easy(CURLE_NOT_BUILT_IN, CURLOPT_CAINFO);
    FAIL() << "no throw";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("curl_easy_setopt(CURLOPT_CAINFO) failed: "),
              std::string::npos)
        << e.what();
  }
}

TEST(Classify, CurlCodesToFailureKinds) {
  EXPECT_EQ(classify(CURLE_OK, false), FailureKind::none);
  EXPECT_EQ(classify(CURLE_COULDNT_CONNECT, false), FailureKind::connect);
  EXPECT_EQ(classify(CURLE_COULDNT_RESOLVE_HOST, false), FailureKind::connect);
  EXPECT_EQ(classify(CURLE_OPERATION_TIMEDOUT, false), FailureKind::timeout);
  for (const CURLcode c :
       {CURLE_RECV_ERROR, CURLE_SEND_ERROR, CURLE_GOT_NOTHING, CURLE_PARTIAL_FILE}) {
    EXPECT_EQ(classify(c, false), FailureKind::reset) << c;
  }
  EXPECT_EQ(classify(CURLE_SSL_CONNECT_ERROR, false), FailureKind::tls);
  EXPECT_EQ(classify(CURLE_PEER_FAILED_VERIFICATION, false), FailureKind::tls);
  EXPECT_EQ(classify(CURLE_WEIRD_SERVER_REPLY, false), FailureKind::transport);
  // The body cap aborts through the write callback; that is oversize, not a write error.
  EXPECT_EQ(classify(CURLE_WRITE_ERROR, true), FailureKind::oversize);
  EXPECT_EQ(classify(CURLE_WRITE_ERROR, false), FailureKind::transport);
}

}  // namespace
}  // namespace swarm::detail

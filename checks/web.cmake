# HTTP-01, TLS-ALPN-01, the address policy and the TCP dialer (included by CMakeLists.txt).
# Tests are declared in web_tests.cmake, after the library exists.
list(APPEND CHECKS_HDRS
  tcp_dialer.h
  internal/web_common.h
  internal/http_url.h
  internal/http_body.h
  internal/tls_cert.h)
list(APPEND CHECKS_SRCS
  address_policy.cc
  tcp_dialer.cc
  http01.cc
  tls_alpn01.cc
  internal/web_common.cc
  internal/http_url.cc
  internal/http_body.cc
  internal/tls_cert.cc)
list(APPEND CHECKS_TESTS
  address_policy_test
  dialer_test
  http_body_test
  http_url_test
  tls_cert_test
  http01_test
  tls_alpn01_test
  http_tls_interop_test)

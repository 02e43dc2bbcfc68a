# Tests of the web checks (included at the end of checks/CMakeLists.txt, after the library).
if(NOT BUILD_TESTING)
  return()
endif()

# Test doubles: real HTTP/TLS servers that misbehave on purpose, certificates, the lab harness.
mpic_library(NAME checks_web_testing
  HDRS testing/web_test_server.h testing/tls_test_cert.h testing/web_lab.h
  SRCS testing/web_test_server.cc testing/tls_test_cert.cc testing/web_lab.cc
  DEPS mpic::checks mpic::dnslab OpenSSL::SSL OpenSSL::Crypto Threads::Threads)

# Pure parts.
mpic_test(NAME address_policy_test SRCS address_policy_test.cc DEPS mpic::checks LABELS unit)
mpic_test(NAME http_body_test SRCS http_body_test.cc DEPS mpic::checks LABELS unit)
mpic_test(NAME http_url_test SRCS http_url_test.cc DEPS mpic::checks LABELS unit)
mpic_test(NAME tls_cert_test SRCS tls_cert_test.cc DEPS mpic::checks_web_testing LABELS unit)

# Real sockets on loopback.
mpic_test(NAME dialer_test SRCS dialer_test.cc DEPS mpic::checks LABELS integration
  TIMEOUT 120)

# The DNS lab (NSD on 127.A.B.0/24), real servers, pebble-challtestsrv.
foreach(t http01_test tls_alpn01_test http_tls_interop_test)
  if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/${t}.cc)
    mpic_test(NAME ${t} SRCS ${t}.cc DEPS mpic::checks_web_testing LABELS integration
      TIMEOUT 300)
  endif()
endforeach()

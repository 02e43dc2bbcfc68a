# DNS-01 and CAA (included by checks/CMakeLists.txt). Tests: dns_tests.cmake; fuzz targets for
# the pure parts below live in tests/fuzz.
list(APPEND CHECKS_HDRS
  internal/caa_eval.h
  internal/dns_text.h
  internal/dns_txt.h)
list(APPEND CHECKS_SRCS
  dns01.cc
  caa.cc
  internal/caa_eval.cc
  internal/dns_text.cc
  internal/dns_txt.cc)
# dns-persist-01 and dns-account-01 (issue 16).
list(APPEND CHECKS_HDRS dns_persist01.h dns_account01.h internal/persist_record.h)
list(APPEND CHECKS_SRCS dns_persist01.cc dns_account01.cc internal/persist_record.cc)

# DNS-01 and CAA tests (included at the end of checks/CMakeLists.txt).

# Pure parts: the CAA evaluator table and the DNS-01 TXT comparison.
mpic_test(NAME dns_checks_test SRCS caa_eval_test.cc dns01_txt_test.cc DEPS mpic::checks
  LABELS unit)

# Against the real DNS lab (NSD on loopback, DNSSEC-signed zones), pebble-challtestsrv for
# interop, and the `mpic check` binary (run from MPIC_BIN_DIR). One lab for the whole binary.
mpic_test(NAME dns_checks_lab_test
  SRCS dns01_lab_test.cc caa_lab_test.cc dns01_pebble_test.cc dns01_cli_test.cc
  DEPS mpic::checks mpic::dnslab
  LABELS integration TIMEOUT 300)
if(TARGET dns_checks_lab_test)
  add_dependencies(dns_checks_lab_test mpic)
endif()

# dns-persist-01 and dns-account-01 (issue 16): the pure record parser/evaluator and label,
# then both checks against the lab.
mpic_test(NAME dns_methods_test SRCS persist_record_test.cc DEPS mpic::checks LABELS unit)
mpic_test(NAME dns_methods_lab_test
  SRCS dns_persist01_lab_test.cc dns_account01_lab_test.cc
  DEPS mpic::checks mpic::dnslab
  LABELS integration TIMEOUT 300)

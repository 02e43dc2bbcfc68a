# Every dependency comes from Debian 12's packages (see scripts/setup.sh).
find_package(Threads REQUIRED)
find_package(Boost 1.74 REQUIRED)
find_package(OpenSSL 3.0 REQUIRED)
find_package(PkgConfig REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(tl-expected REQUIRED)
find_package(GTest REQUIRED)

pkg_check_modules(CARES REQUIRED IMPORTED_TARGET libcares)

# libunbound: Debian's (signatures through nettle), or the same Debian source built against
# OpenSSL by scripts/build-unbound.sh into /opt/mpic/unbound-<version> (linked with an rpath).
# AUTO takes the OpenSSL build when it exists for the installed libunbound8 version.
set(MPIC_UNBOUND_OPENSSL AUTO CACHE STRING "libunbound built against OpenSSL: AUTO, ON or OFF")
set(MPIC_UNBOUND_PREFIX "" CACHE PATH "prefix of scripts/build-unbound.sh (default by version)")
set(_mpic_unbound_prefix "${MPIC_UNBOUND_PREFIX}")
if(NOT _mpic_unbound_prefix)
  execute_process(COMMAND dpkg-query -W -f=\${Version} libunbound8
    OUTPUT_VARIABLE _mpic_unbound_version ERROR_QUIET)
  set(_mpic_unbound_prefix "/opt/mpic/unbound-${_mpic_unbound_version}")
endif()
if(NOT MPIC_UNBOUND_OPENSSL STREQUAL "OFF" AND EXISTS "${_mpic_unbound_prefix}/.complete")
  message(STATUS "libunbound: ${_mpic_unbound_prefix} (OpenSSL)")
  add_library(unbound::unbound SHARED IMPORTED)
  set_target_properties(unbound::unbound PROPERTIES
    IMPORTED_LOCATION "${_mpic_unbound_prefix}/lib/libunbound.so"
    INTERFACE_INCLUDE_DIRECTORIES "${_mpic_unbound_prefix}/include")
elseif(MPIC_UNBOUND_OPENSSL STREQUAL "ON")
  message(FATAL_ERROR "MPIC_UNBOUND_OPENSSL=ON but ${_mpic_unbound_prefix} is not built: "
    "run scripts/build-unbound.sh")
else()
  # pkg-config for libunbound wants libevent-dev too; find the library directly.
  find_path(UNBOUND_INCLUDE_DIR unbound.h REQUIRED)
  find_library(UNBOUND_LIBRARY unbound REQUIRED)
  message(STATUS "libunbound: ${UNBOUND_LIBRARY} (Debian's)")
  add_library(unbound::unbound UNKNOWN IMPORTED)
  set_target_properties(unbound::unbound PROPERTIES IMPORTED_LOCATION ${UNBOUND_LIBRARY}
    INTERFACE_INCLUDE_DIRECTORIES ${UNBOUND_INCLUDE_DIR})
endif()

if(MPIC_BENCH)
  find_package(benchmark REQUIRED)
endif()

find_package(Protobuf REQUIRED)
find_package(gRPC CONFIG REQUIRED)
find_package(prometheus-cpp CONFIG REQUIRED)

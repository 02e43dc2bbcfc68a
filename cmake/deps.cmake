# Every dependency comes from Debian 12's packages (see scripts/setup.sh).
find_package(Threads REQUIRED)
find_package(Boost 1.74 REQUIRED)
find_package(OpenSSL 3.0 REQUIRED)
find_package(PkgConfig REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(tl-expected REQUIRED)
find_package(GTest REQUIRED)

pkg_check_modules(CARES REQUIRED IMPORTED_TARGET libcares)

# pkg-config for libunbound drags in libevent; find the library directly (LAB-NOTES #1).
find_path(UNBOUND_INCLUDE_DIR unbound.h REQUIRED)
find_library(UNBOUND_LIBRARY unbound REQUIRED)
add_library(unbound::unbound UNKNOWN IMPORTED)
set_target_properties(unbound::unbound PROPERTIES IMPORTED_LOCATION ${UNBOUND_LIBRARY}
  INTERFACE_INCLUDE_DIRECTORIES ${UNBOUND_INCLUDE_DIR})

if(MPIC_BENCH)
  find_package(benchmark REQUIRED)
endif()

find_package(Protobuf REQUIRED)
find_package(gRPC CONFIG REQUIRED)
find_package(prometheus-cpp CONFIG REQUIRED)

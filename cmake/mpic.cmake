# Small helpers so each folder declares one library and its tests in a few lines.
#
#   mpic_library(NAME resolver HDRS resolver.h SRCS unbound_resolver.cc DEPS mpic::common)
#   mpic_test(NAME resolver_test SRCS resolver_test.cc DEPS mpic::resolver LABELS unit)

set(MPIC_WARNINGS -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast
    -Wcast-align -Wunused -Woverloaded-virtual -Wformat=2
    -Wimplicit-fallthrough)
# -Werror is for the project's own builds (scripts/build.sh, CI): MPIC_WERROR is OFF by default
# so users and packagers with other flags or newer compilers are not stopped by a new warning.
if(MPIC_WERROR)
  list(APPEND MPIC_WARNINGS -Werror)
endif()
# GCC 12 at -O3 reports a -Wrestrict overlap of ~2^63 bytes inside libstdc++'s std::string for
# plain `"text" + std::string` (GCC bug 105651, a false positive). The tree is checked with
# -Wrestrict at -O2 (RelWithDebInfo, the sanitizer build); only Release on GCC 12 drops it.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_GREATER_EQUAL 12
   AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  list(APPEND MPIC_WARNINGS $<$<CONFIG:Release>:-Wno-restrict>)
endif()

if(MPIC_SANITIZE)
  # -g1 (line tables only, after the build type's -g): sanitizer reports keep file:line for every
  # frame, and the build -- CI's longest stage -- compiles ~25 % faster (openmpic/server.cc:
  # 202 s with -g, 150 s with -g1, on 2 cores here).
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined -g1)
  add_link_options(-fsanitize=address,undefined)
  # OpenSSL at exit while gRPC's detached threads are still exiting (see the file): linked
  # into every executable and test of this build.
  add_library(mpic_sanitizer_openssl OBJECT ${CMAKE_CURRENT_LIST_DIR}/sanitizer_openssl.cc)
  target_compile_options(mpic_sanitizer_openssl PRIVATE ${MPIC_WARNINGS})
  target_link_libraries(mpic_sanitizer_openssl PUBLIC OpenSSL::Crypto)
  set(MPIC_SANITIZER_LIBS mpic_sanitizer_openssl)
endif()

function(mpic_apply_options target)
  target_compile_options(${target} PRIVATE ${MPIC_WARNINGS})
  # Boost 1.74 Asio with g++ 12 needs <utility> first; see common/asio.h. Include roots at repo.
  target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR})
endfunction()

function(mpic_library)
  cmake_parse_arguments(L "" "NAME" "HDRS;SRCS;DEPS;PRIVATE_DEPS" ${ARGN})
  set(target mpic_${L_NAME})
  if(L_SRCS)
    add_library(${target} STATIC ${L_SRCS} ${L_HDRS})
    mpic_apply_options(${target})
    target_link_libraries(${target} PUBLIC ${L_DEPS} PRIVATE ${L_PRIVATE_DEPS})
  else()
    add_library(${target} INTERFACE ${L_HDRS})
    target_include_directories(${target} INTERFACE ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR})
    target_link_libraries(${target} INTERFACE ${L_DEPS})
  endif()
  add_library(mpic::${L_NAME} ALIAS ${target})
endfunction()

# Installed to bin/ unless NO_INSTALL (benchmarks and other build-tree-only programs).
function(mpic_executable)
  cmake_parse_arguments(E "NO_INSTALL" "NAME;OUTPUT_NAME" "SRCS;DEPS" ${ARGN})
  add_executable(${E_NAME} ${E_SRCS})
  mpic_apply_options(${E_NAME})
  target_link_libraries(${E_NAME} PRIVATE ${E_DEPS} ${MPIC_SANITIZER_LIBS})
  if(E_OUTPUT_NAME)
    set_target_properties(${E_NAME} PROPERTIES OUTPUT_NAME ${E_OUTPUT_NAME})
  endif()
  set_target_properties(${E_NAME} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/bin)
  if(NOT E_NO_INSTALL)
    install(TARGETS ${E_NAME} RUNTIME DESTINATION bin)
  endif()
endfunction()

# Files read at run time (lab/data_dir.h): installed to share/mpic/<DESTINATION>, and linked
# into build/share/mpic/<DESTINATION> at configure time so the build tree has the installed
# layout (build/bin/mpic finds build/share/mpic as an installed bin/mpic finds share/mpic).
#
#   mpic_data(DESTINATION netsim FILES netsim.py simnet.py DIRECTORIES scenarios)
set(MPIC_BUILD_DATA_DIR ${PROJECT_BINARY_DIR}/share/mpic)
function(mpic_data)
  cmake_parse_arguments(D "" "DESTINATION" "FILES;DIRECTORIES" ${ARGN})
  set(dest ${MPIC_BUILD_DATA_DIR}/${D_DESTINATION})
  file(MAKE_DIRECTORY ${dest})
  foreach(f ${D_FILES} ${D_DIRECTORIES})
    set(src ${CMAKE_CURRENT_SOURCE_DIR}/${f})
    if(NOT EXISTS ${src})
      message(FATAL_ERROR "mpic_data: ${src} does not exist")
    endif()
    get_filename_component(name ${f} NAME)
    file(CREATE_LINK ${src} ${dest}/${name} SYMBOLIC)
  endforeach()
  if(D_FILES)
    install(FILES ${D_FILES} DESTINATION share/mpic/${D_DESTINATION})
  endif()
  foreach(d ${D_DIRECTORIES})
    install(DIRECTORY ${d} DESTINATION share/mpic/${D_DESTINATION})
  endforeach()
endfunction()

# LABELS: unit | integration | netsim. Tests get the binary dir in MPIC_BIN_DIR and the data
# dir in MPIC_DATA_DIR (they are not in build/bin, so ../share/mpic is not theirs).
function(mpic_test)
  cmake_parse_arguments(T "" "NAME;TIMEOUT" "SRCS;DEPS;LABELS" ${ARGN})
  if(NOT BUILD_TESTING)
    return()
  endif()
  add_executable(${T_NAME} ${T_SRCS})
  mpic_apply_options(${T_NAME})
  target_link_libraries(${T_NAME} PRIVATE ${T_DEPS} GTest::gtest GTest::gmock GTest::gtest_main
                        ${MPIC_SANITIZER_LIBS})
  if(NOT T_LABELS)
    set(T_LABELS unit)
  endif()
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  add_test(NAME ${T_NAME} COMMAND ${T_NAME})
  set_tests_properties(${T_NAME} PROPERTIES LABELS "${T_LABELS}" TIMEOUT ${T_TIMEOUT}
    ENVIRONMENT "MPIC_BIN_DIR=${PROJECT_BINARY_DIR}/bin;MPIC_DATA_DIR=${MPIC_BUILD_DATA_DIR}")
endfunction()

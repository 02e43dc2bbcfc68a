# Writes common/version.h from common/version.h.in; run at build time (cmake -P) by the
# mpic_version target of common/CMakeLists.txt. configure_file rewrites the header only when
# its text changes, so an unchanged revision rebuilds nothing.
#   cmake -DSOURCE_DIR=... -DINPUT=... -DOUTPUT=... -DMPIC_VERSION=0.1.0 -P cmake/version.cmake
set(MPIC_GIT_REVISION unknown)
find_package(Git QUIET)
if(GIT_FOUND)
  execute_process(COMMAND ${GIT_EXECUTABLE} -C ${SOURCE_DIR} rev-parse --short=12 HEAD
    OUTPUT_VARIABLE revision OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE rc ERROR_QUIET)
  if(rc EQUAL 0 AND revision)
    set(MPIC_GIT_REVISION ${revision})
    execute_process(COMMAND ${GIT_EXECUTABLE} -C ${SOURCE_DIR} diff --quiet HEAD --
      RESULT_VARIABLE dirty ERROR_QUIET)
    if(NOT dirty EQUAL 0)
      string(APPEND MPIC_GIT_REVISION "-dirty")
    endif()
  endif()
endif()
configure_file(${INPUT} ${OUTPUT} @ONLY)

// Linked into every executable of the sanitizer build (MPIC_SANITIZE=ON), never into a normal one.
//
// OpenSSL keeps one error queue (ERR_STATE, crypto/err/err.c) per thread and frees it from a
// thread-exit destructor. A thread still exiting when the process exits -- gRPC's detached
// thread-pool workers, which have run TLS code, after grpc_shutdown -- has already been
// unregistered by the sanitizer runtime but has not freed its queue yet, so LeakSanitizer reports
// a direct leak of 904 bytes from CRYPTO_zalloc (the stack ends there: libcrypto has no frame
// pointers). The same race makes OpenSSL's own exit handler free such a thread's handler list
// twice. Neither is a defect of mpic; a 20-line program whose threads exit while main returns
// reproduces both. So, in this build only: OpenSSL allocates through malloc as before, and
// LeakSanitizer ignores exactly the allocations made in crypto/err/err.c (every other OpenSSL
// allocation stays checked); and OpenSSL registers no exit handler.
#include <openssl/crypto.h>
#include <sanitizer/lsan_interface.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

bool FromErrorQueue(const char* file) {
  return file != nullptr && std::strstr(file, "crypto/err/err.c") != nullptr;
}

// Allocations made while LeakSanitizer is disabled on this thread are ignored by it.
void* Allocate(size_t n, const char* file, int /*line*/) {
  if (!FromErrorQueue(file)) return std::malloc(n);
  __lsan_disable();
  void* p = std::malloc(n);
  __lsan_enable();
  return p;
}

void* Reallocate(void* old, size_t n, const char* file, int /*line*/) {
  if (!FromErrorQueue(file)) return std::realloc(old, n);
  __lsan_disable();
  void* p = std::realloc(old, n);
  __lsan_enable();
  return p;
}

void Release(void* p, const char* /*file*/, int /*line*/) { std::free(p); }

// Before any C++ static initializer of the program: OpenSSL accepts its allocator only before
// its first allocation. Without OPENSSL_cleanup at exit, for the same reason: run while such a
// thread is still exiting, it frees that thread's handler list a second time (a double free
// in OpenSSL's own exit path); what OpenSSL holds at exit stays reachable from its globals.
__attribute__((constructor(101))) void RouteOpenSslAllocations() {
  if (CRYPTO_set_mem_functions(Allocate, Reallocate, Release) != 1 ||
      OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, nullptr) != 1) {
    std::fputs("sanitizer_openssl: OpenSSL was initialised before this constructor ran\n", stderr);
    std::abort();
  }
}

}  // namespace

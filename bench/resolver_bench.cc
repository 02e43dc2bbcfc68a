// Lookups and validations per second, and CPU per lookup/validation, on the validated path
// through the DNS lab (root, lab., secure.lab., all ECDSA P-256 signed), with libunbound.
//
//   build/bench/resolver_bench --benchmark_min_time=2
//   LD_LIBRARY_PATH=/opt/mpic/unbound-<version>/lib build/bench/resolver_bench  # OpenSSL build
//
// Families (the last argument of each is the context kind: 0 = on our executor through the
// event API, 1 = a libunbound worker thread per context):
// - Validation/<scoped>/<kind>: what one perspective resolves for one validation, all lookups
//   at once: HTTP-01 (A + AAAA of www.secure.lab) or with the CAA climb (+ CAA at
//   www.secure.lab, secure.lab). scoped=1: one ValidationResolver (one context, the chain
//   verified once); scoped=0: a fresh context per lookup.
// - FreshContext_*: one lookup in a fresh context; WarmContext: a cached context (reference
//   only: mpic never shares a context between validations); ContextCreateOnly.
// - P256Verify_{Nettle,OpenSSL}: one ECDSA P-256/SHA-256 signature check in each library,
//   the operation DNSSEC validation spends most of its CPU in.
//
// CPU is process CPU (our thread + any libunbound worker thread), not the NSD servers'. The
// libunbound in use (Debian's nettle build or scripts/build-unbound.sh's OpenSSL build) is
// printed in the context header.
#include <benchmark/benchmark.h>
#include <link.h>
#include <nettle/ecc-curve.h>
#include <nettle/ecdsa.h>
#include <nettle/sha2.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "common/asio.h"
#include "common/dns_wire.h"
#include "lab/dnslab.h"
#include "resolver/unbound_resolver.h"
#include "resolver/validation_resolver.h"

namespace {

using namespace std::chrono_literals;
using mpic::resolver::Clock;
using mpic::resolver::LookupResult;
namespace dns = mpic::dns;

mpic::lab::DnsLab* g_lab = nullptr;

struct Fixture {
  mpic::asio::io_context io;
  std::unique_ptr<mpic::resolver::UnboundResolver> resolver;

  explicit Fixture(bool worker_thread) {
    mpic::resolver::UnboundConfig config;
    config.root_hints_file = g_lab->root_hints_file();
    config.trust_anchor_file = g_lab->trust_anchor_file();
    config.allow_loopback_servers = true;
    config.use_ipv6 = false;
    config.worker_thread = worker_thread;
    resolver = std::move(*mpic::resolver::UnboundResolver::Create(io.get_executor(), config));
  }

  bool Lookup(mpic::resolver::Session& session, const char* name, uint16_t type) {
    std::optional<LookupResult> out;
    session.Lookup(name, type, Clock::now() + 5s, [&](LookupResult r) { out = std::move(r); });
    io.restart();
    while (!out) io.run_one_for(100ms);
    return out->has_value();
  }

  // Starts every lookup at once, each in a session from `next_session`; waits for all.
  template <typename NextSession>
  int64_t LookupAll(const std::vector<std::pair<const char*, uint16_t>>& lookups,
                    NextSession next_session) {
    std::vector<std::unique_ptr<mpic::resolver::Session>> sessions;
    int pending = static_cast<int>(lookups.size());
    int64_t failures = 0;
    for (const auto& [name, type] : lookups) {
      sessions.push_back(next_session());
      sessions.back()->Lookup(name, type, Clock::now() + 5s, [&](LookupResult r) {
        --pending;
        if (!r) ++failures;
      });
    }
    io.restart();
    while (pending > 0) io.run_one_for(100ms);
    return failures;
  }
};

const std::vector<std::pair<const char*, uint16_t>> kHttp01 = {
    {"www.secure.lab", dns::kA}, {"www.secure.lab", dns::kAaaa}};
const std::vector<std::pair<const char*, uint16_t>> kHttp01Caa = {
    {"www.secure.lab", dns::kA},
    {"www.secure.lab", dns::kAaaa},
    {"www.secure.lab", dns::kCaa},
    {"secure.lab", dns::kCaa}};

// range(0): 0 = HTTP-01 lookups, 1 = with CAA; range(1): scoped; range(2): worker thread.
void BM_Validation(benchmark::State& state) {
  const auto& lookups = state.range(0) ? kHttp01Caa : kHttp01;
  const bool scoped = state.range(1) != 0;
  Fixture f(state.range(2) != 0);
  int64_t failures = 0;
  for (auto _ : state) {
    if (scoped) {
      mpic::resolver::ValidationResolver scope(f.io.get_executor(), *f.resolver);
      failures += f.LookupAll(lookups, [&] { return scope.NewSession(); });
    } else {
      failures += f.LookupAll(lookups, [&] { return f.resolver->NewSession(); });
    }
  }
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(std::string(state.range(0) ? "A+AAAA+CAAx2" : "A+AAAA") +
                 (scoped ? " one context" : " context per lookup") +
                 (state.range(2) ? ", worker thread" : ", event"));
  state.counters["failures"] = static_cast<double>(failures);
}

void Run(benchmark::State& state, const char* name, uint16_t type, bool fresh) {
  Fixture f(state.range(0) != 0);
  auto warm = f.resolver->NewSession();
  int64_t failures = 0;
  for (auto _ : state) {
    if (fresh) {
      auto session = f.resolver->NewSession();
      failures += f.Lookup(*session, name, type) ? 0 : 1;
    } else {
      failures += f.Lookup(*warm, name, type) ? 0 : 1;
    }
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["failures"] = static_cast<double>(failures);
}

void BM_FreshContext_SecureA(benchmark::State& s) { Run(s, "www.secure.lab", 1, true); }
void BM_FreshContext_CnameChain3(benchmark::State& s) { Run(s, "chain1.secure.lab", 1, true); }
void BM_FreshContext_InsecureA(benchmark::State& s) { Run(s, "www.insecure.lab", 1, true); }
void BM_FreshContext_Nxdomain(benchmark::State& s) { Run(s, "nx.secure.lab", 1, true); }
void BM_WarmContext_SecureA(benchmark::State& s) { Run(s, "www.secure.lab", 1, false); }

// Creating (and destroying) a configured context, without a lookup: the fixed cost of
// pristine state (a worker thread starts only with the first lookup).
void BM_ContextCreateOnly(benchmark::State& state) {
  Fixture f(state.range(0) != 0);
  for (auto _ : state) {
    auto session = f.resolver->NewSession();
    benchmark::DoNotOptimize(session.get());
  }
  state.SetItemsProcessed(state.iterations());
}

// --- ECDSA P-256 verification, one signature over a DNSKEY-sized message ---

struct P256Sample {
  std::vector<uint8_t> message = std::vector<uint8_t>(300, 0x5a);
  std::vector<uint8_t> point;        // 0x04 || X || Y
  std::vector<uint8_t> der_signature;
  std::vector<uint8_t> r, s;         // 32 bytes each (the DNSSEC wire form, RFC 6605)

  P256Sample() {
    EVP_PKEY* key = EVP_EC_gen("P-256");
    size_t point_len = 0;
    EVP_PKEY_get_octet_string_param(key, "encoded-pub-key", nullptr, 0, &point_len);
    point.resize(point_len);
    EVP_PKEY_get_octet_string_param(key, "encoded-pub-key", point.data(), point.size(),
                                    &point_len);
    EVP_MD_CTX* md = EVP_MD_CTX_new();
    EVP_DigestSignInit(md, nullptr, EVP_sha256(), nullptr, key);
    size_t sig_len = 0;
    EVP_DigestSign(md, nullptr, &sig_len, message.data(), message.size());
    der_signature.resize(sig_len);
    EVP_DigestSign(md, der_signature.data(), &sig_len, message.data(), message.size());
    der_signature.resize(sig_len);
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(key);
    const uint8_t* p = der_signature.data();
    ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der_signature.size()));
    r.resize(32);
    s.resize(32);
    BN_bn2binpad(ECDSA_SIG_get0_r(sig), r.data(), 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(sig), s.data(), 32);
    ECDSA_SIG_free(sig);
  }
};

// A P-256 public key from the DNSKEY's raw X || Y, the way unbound 1.17 does it on OpenSSL 3
// (sldns_ecdsa2pkey_raw: OSSL_PARAM_BLD, EVP_PKEY_fromdata).
EVP_PKEY* KeyFromPoint(const std::vector<uint8_t>& point) {
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  OSSL_PARAM_BLD_push_utf8_string(bld, "group", "prime256v1", 0);
  OSSL_PARAM_BLD_push_octet_string(bld, "pub", point.data(), point.size());
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
  OSSL_PARAM_BLD_free(bld);
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr);
  EVP_PKEY* key = nullptr;
  EVP_PKEY_fromdata_init(ctx);
  EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params);
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  return key;
}

// What unbound's OpenSSL path does per signature (verify_canonrrset): build the key, then
// EVP_DigestVerifyInit + EVP_DigestVerify. range(0) = 1 reuses one key (the bare verify).
void BM_P256Verify_OpenSSL(benchmark::State& state) {
  P256Sample sample;
  int64_t bad = 0;
  EVP_PKEY* reused = state.range(0) ? KeyFromPoint(sample.point) : nullptr;
  for (auto _ : state) {
    EVP_PKEY* key = reused ? reused : KeyFromPoint(sample.point);
    EVP_MD_CTX* md = EVP_MD_CTX_new();
    EVP_DigestVerifyInit(md, nullptr, EVP_sha256(), nullptr, key);
    bad += EVP_DigestVerify(md, sample.der_signature.data(), sample.der_signature.size(),
                            sample.message.data(), sample.message.size()) == 1
               ? 0
               : 1;
    EVP_MD_CTX_free(md);
    if (!reused) EVP_PKEY_free(key);
  }
  if (reused) EVP_PKEY_free(reused);
  state.counters["failures"] = static_cast<double>(bad);
}

// What unbound's nettle path does per signature: load the point, hash, verify.
void BM_P256Verify_Nettle(benchmark::State& state) {
  P256Sample sample;
  int64_t bad = 0;
  mpz_t x, y, r, s;
  mpz_inits(x, y, r, s, nullptr);
  mpz_import(r, 32, 1, 1, 1, 0, sample.r.data());
  mpz_import(s, 32, 1, 1, 1, 0, sample.s.data());
  for (auto _ : state) {
    ecc_point pub;
    ecc_point_init(&pub, nettle_get_secp_256r1());
    mpz_import(x, 32, 1, 1, 1, 0, sample.point.data() + 1);
    mpz_import(y, 32, 1, 1, 1, 0, sample.point.data() + 33);
    ecc_point_set(&pub, x, y);
    dsa_signature sig;
    dsa_signature_init(&sig);
    mpz_set(sig.r, r);
    mpz_set(sig.s, s);
    sha256_ctx sha;
    uint8_t digest[SHA256_DIGEST_SIZE];
    sha256_init(&sha);
    sha256_update(&sha, sample.message.size(), sample.message.data());
    sha256_digest(&sha, sizeof(digest), digest);
    bad += ecdsa_verify(&pub, sizeof(digest), digest, &sig) ? 0 : 1;
    dsa_signature_clear(&sig);
    ecc_point_clear(&pub);
  }
  mpz_clears(x, y, r, s, nullptr);
  state.counters["failures"] = static_cast<double>(bad);
}

// Both context kinds, CPU of the whole process (libunbound's worker threads included).
void Kinds(benchmark::internal::Benchmark* b) {
  b->ArgName("thread")->Arg(0)->Arg(1)->MeasureProcessCPUTime()->UseRealTime();
}

BENCHMARK(BM_Validation)
    ->ArgNames({"caa", "scoped", "thread"})
    ->ArgsProduct({{0, 1}, {0, 1}, {0, 1}})
    ->MeasureProcessCPUTime()
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ContextCreateOnly)->Apply(Kinds)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_FreshContext_SecureA)->Apply(Kinds)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_FreshContext_CnameChain3)->Apply(Kinds)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_FreshContext_InsecureA)->Apply(Kinds)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_FreshContext_Nxdomain)->Apply(Kinds)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_WarmContext_SecureA)->Apply(Kinds)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_P256Verify_OpenSSL)
    ->ArgName("key_reused")
    ->Arg(0)
    ->Arg(1)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_P256Verify_Nettle)->Unit(benchmark::kMicrosecond);

// The libunbound this process loaded (Debian's, or the OpenSSL build via rpath or
// LD_LIBRARY_PATH).
std::string LoadedUnbound() {
  std::string found = "?";
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void* data) {
        std::string name = info->dlpi_name ? info->dlpi_name : "";
        if (name.find("libunbound") != std::string::npos) *static_cast<std::string*>(data) = name;
        return 0;
      },
      &found);
  return found;
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  auto lab = mpic::lab::DnsLab::Start();
  if (!lab) {
    std::fprintf(stderr, "resolver_bench: DNS lab did not start: %s\n", lab.error().c_str());
    return 1;
  }
  g_lab = lab->get();
  benchmark::AddCustomContext("libunbound", LoadedUnbound());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

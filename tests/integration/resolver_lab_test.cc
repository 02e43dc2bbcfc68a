// The resolver against the real DNS lab: libunbound recursing from the lab's own root through
// real NSD servers, and the c-ares stub through a real validating unbound daemon.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <optional>

#include "common/asio.h"
#include "lab/dnslab.h"
#include "resolver/cares_resolver.h"
#include "resolver/unbound_resolver.h"
#include "tests/integration/recursive_server.h"

namespace mpic::resolver {
namespace {

using namespace std::chrono_literals;
using lab::DnsLab;

class ResolverLabTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto lab = DnsLab::Start();
    ASSERT_TRUE(lab) << lab.error();
    lab_ = std::move(*lab).release();
  }
  static void TearDownTestSuite() {
    delete lab_;
    lab_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(lab_, nullptr);
    UnboundConfig config;
    config.root_hints_file = lab_->root_hints_file();
    config.trust_anchor_file = lab_->trust_anchor_file();
    config.allow_loopback_servers = true;
    config.use_ipv6 = false;
    auto r = UnboundResolver::Create(io_.get_executor(), config);
    ASSERT_TRUE(r) << r.error().detail;
    unbound_ = std::move(*r);
  }

  // One lookup in a fresh session, driven to completion (bounded).
  LookupResult Lookup(Resolver& resolver, std::string_view name, uint16_t type,
                      std::chrono::milliseconds timeout = 5s) {
    auto session = resolver.NewSession();
    return LookupIn(*session, name, type, timeout);
  }
  LookupResult LookupIn(Session& session, std::string_view name, uint16_t type,
                        std::chrono::milliseconds timeout = 5s) {
    std::optional<LookupResult> out;
    session.Lookup(name, type, Clock::now() + timeout, [&](LookupResult r) { out = std::move(r); });
    io_.restart();
    auto hard_stop = Clock::now() + timeout + 2s;
    while (!out && Clock::now() < hard_stop) io_.run_one_for(100ms);
    if (!out) {
      ADD_FAILURE() << "no callback for " << name << " by the deadline";
      return tl::unexpected(LookupError{Error{ProblemType::kServerInternal, "no callback"}, {}});
    }
    return std::move(*out);
  }
  LookupResult Lookup(std::string_view name, uint16_t type,
                      std::chrono::milliseconds timeout = 5s) {
    return Lookup(*unbound_, name, type, timeout);
  }

  static std::vector<std::string> Rdata(const Answer& a) {
    std::vector<std::string> out;
    for (const auto& rr : a.records) out.push_back(rr.rdata_text);
    std::sort(out.begin(), out.end());
    return out;
  }

  static DnsLab* lab_;
  asio::io_context io_;
  std::unique_ptr<UnboundResolver> unbound_;
};

DnsLab* ResolverLabTest::lab_ = nullptr;

TEST_F(ResolverLabTest, SecureAnswer) {
  auto r = Lookup("www.secure.lab", dns::kA);
  ASSERT_TRUE(r) << r.error().error.detail;
  EXPECT_EQ(r->dnssec, DnssecStatus::kSecure);
  EXPECT_EQ(r->rcode, dns::kNoError);
  EXPECT_EQ(r->name, "www.secure.lab.");
  ASSERT_EQ(r->records.size(), 1u);
  EXPECT_EQ(r->records[0].type, dns::kA);
  EXPECT_TRUE(r->cname_chain.empty());
}

TEST_F(ResolverLabTest, MultiStringTxtIsOneRecord) {
  auto r = Lookup("txt.secure.lab", dns::kTxt);
  ASSERT_TRUE(r) << r.error().error.detail;
  EXPECT_EQ(r->dnssec, DnssecStatus::kSecure);
  ASSERT_EQ(r->records.size(), 1u);
  EXPECT_EQ(r->records[0].rdata_text, "\"part1\" \"part2\"");
}

TEST_F(ResolverLabTest, InsecureDelegationIsInsecureData) {
  auto r = Lookup("www.insecure.lab", dns::kA);
  ASSERT_TRUE(r) << r.error().error.detail;
  EXPECT_EQ(r->dnssec, DnssecStatus::kInsecure);
  EXPECT_EQ(r->records.size(), 1u);
}

TEST_F(ResolverLabTest, BrokenSignatureIsBogusError) {
  auto r = Lookup("www.bogus.lab", dns::kA);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().error.type, ProblemType::kDns);
  ASSERT_TRUE(r.error().answer);
  EXPECT_EQ(r.error().answer->dnssec, DnssecStatus::kBogus);
  EXPECT_FALSE(r.error().answer->why_bogus.empty());
}

TEST_F(ResolverLabTest, ExpiredSignatureIsBogusError) {
  auto r = Lookup("www.expired.lab", dns::kA);
  ASSERT_FALSE(r);
  ASSERT_TRUE(r.error().answer);
  EXPECT_EQ(r.error().answer->dnssec, DnssecStatus::kBogus);
  EXPECT_NE(r.error().error.detail.find("bogus"), std::string::npos);
}

TEST_F(ResolverLabTest, DeadServerEndsByDeadline) {
  auto start = Clock::now();
  auto r = Lookup("www.dead.lab", dns::kA, 1500ms);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().error.type, ProblemType::kDns);
  // The callback came (Lookup fails the test otherwise); no records ever.
  EXPECT_TRUE(!r.error().answer || r.error().answer->records.empty());
  (void)start;
}

TEST_F(ResolverLabTest, CnameChains) {
  auto r = Lookup("cname-secure.secure.lab", dns::kA);
  ASSERT_TRUE(r) << r.error().error.detail;
  EXPECT_EQ(r->dnssec, DnssecStatus::kSecure);
  EXPECT_EQ(r->cname_chain, std::vector<std::string>{"cname-secure.secure.lab."});
  EXPECT_EQ(r->canonical_name, "www.secure.lab.");
  EXPECT_EQ(r->records.size(), 1u);

  auto chain = Lookup("chain1.secure.lab", dns::kA);
  ASSERT_TRUE(chain) << chain.error().error.detail;
  EXPECT_EQ(chain->cname_chain,
            (std::vector<std::string>{"chain1.secure.lab.", "chain2.secure.lab.",
                                      "chain3.secure.lab."}));
  EXPECT_EQ(chain->canonical_name, "www.secure.lab.");
  EXPECT_EQ(chain->records.size(), 1u);

  // Secure alias into an unsigned zone: the answer as a whole is only insecure.
  auto insecure = Lookup("cname-insecure.secure.lab", dns::kA);
  ASSERT_TRUE(insecure) << insecure.error().error.detail;
  EXPECT_EQ(insecure->dnssec, DnssecStatus::kInsecure);
  EXPECT_EQ(insecure->canonical_name, "www.insecure.lab.");
  EXPECT_EQ(insecure->records.size(), 1u);

  auto bogus = Lookup("cname-bogus.secure.lab", dns::kA);
  ASSERT_FALSE(bogus);
  ASSERT_TRUE(bogus.error().answer);
  EXPECT_EQ(bogus.error().answer->dnssec, DnssecStatus::kBogus);
}

TEST_F(ResolverLabTest, CnameLoopIsAnError) {
  auto r = Lookup("loop1.secure.lab", dns::kA);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().error.type, ProblemType::kDns);
}

TEST_F(ResolverLabTest, NxdomainAndNodataAreSecureData) {
  auto nx = Lookup("nonexistent.secure.lab", dns::kA);
  ASSERT_TRUE(nx) << nx.error().error.detail;
  EXPECT_EQ(nx->rcode, dns::kNxDomain);
  EXPECT_EQ(nx->dnssec, DnssecStatus::kSecure);
  EXPECT_TRUE(nx->records.empty());

  auto nodata = Lookup("www.secure.lab", dns::kMx);
  ASSERT_TRUE(nodata) << nodata.error().error.detail;
  EXPECT_EQ(nodata->rcode, dns::kNoError);
  EXPECT_EQ(nodata->dnssec, DnssecStatus::kSecure);
  EXPECT_TRUE(nodata->records.empty());
}

// Non-caching: with a one-hour TTL a cache would keep serving the old address; a fresh
// session per validation must see the change at once.
TEST_F(ResolverLabTest, EachSessionSeesChangedRecordImmediately) {
  ASSERT_TRUE(lab_->Set("secure.lab.", "fresh.secure.lab.", "A", {"127.0.0.10"}, 3600));
  auto before = Lookup("fresh.secure.lab", dns::kA);
  ASSERT_TRUE(before) << before.error().error.detail;
  EXPECT_EQ(Rdata(*before), std::vector<std::string>{"127.0.0.10"});

  ASSERT_TRUE(lab_->Set("secure.lab.", "fresh.secure.lab.", "A", {"127.0.0.11"}, 3600));
  auto after = Lookup("fresh.secure.lab", dns::kA);
  ASSERT_TRUE(after) << after.error().error.detail;
  EXPECT_EQ(Rdata(*after), std::vector<std::string>{"127.0.0.11"});
  EXPECT_EQ(after->dnssec, DnssecStatus::kSecure);
}

// Re-keying a zone between two validations: the next validation must fetch the new DNSKEYs
// and the new DS, and still conclude "secure" (a shared cache would hold the old keys and
// fail as bogus, docs/architecture.md, Pitfalls).
TEST_F(ResolverLabTest, RekeyBetweenSessionsStaysSecure) {
  auto keys_before = Lookup("secure.lab", dns::kDnskey);
  ASSERT_TRUE(keys_before) << keys_before.error().error.detail;
  auto a_before = Lookup("www.secure.lab", dns::kA);
  ASSERT_TRUE(a_before);
  EXPECT_EQ(a_before->dnssec, DnssecStatus::kSecure);

  ASSERT_TRUE(lab_->Rekey("secure.lab."));

  auto keys_after = Lookup("secure.lab", dns::kDnskey);
  ASSERT_TRUE(keys_after) << keys_after.error().error.detail;
  EXPECT_EQ(keys_after->dnssec, DnssecStatus::kSecure);
  EXPECT_NE(Rdata(*keys_before), Rdata(*keys_after));
  auto a_after = Lookup("www.secure.lab", dns::kA);
  ASSERT_TRUE(a_after) << a_after.error().error.detail;
  EXPECT_EQ(a_after->dnssec, DnssecStatus::kSecure);
}

TEST_F(ResolverLabTest, SessionsShareNothing) {
  // Two sessions alive at once, each with its own answer after a change in between.
  ASSERT_TRUE(lab_->Set("secure.lab.", "shared.secure.lab.", "TXT", {"\"one\""}, 3600));
  auto first = unbound_->NewSession();
  auto a = LookupIn(*first, "shared.secure.lab", dns::kTxt);
  ASSERT_TRUE(a);
  ASSERT_TRUE(lab_->Set("secure.lab.", "shared.secure.lab.", "TXT", {"\"two\""}, 3600));
  auto second = unbound_->NewSession();
  auto b = LookupIn(*second, "shared.secure.lab", dns::kTxt);
  ASSERT_TRUE(b);
  EXPECT_EQ(Rdata(*a), std::vector<std::string>{"\"one\""});
  EXPECT_EQ(Rdata(*b), std::vector<std::string>{"\"two\""});
}

TEST_F(ResolverLabTest, CancelAndDestroyWithPendingLookups) {
  auto session = unbound_->NewSession();
  int calls = 0;
  bool cancelled = false;
  session->Lookup("www.dead.lab", dns::kA, Clock::now() + 10s, [&](LookupResult r) {
    ++calls;
    cancelled = !r;
  });
  session->Lookup("www.secure.lab", dns::kA, Clock::now() + 10s, [&](LookupResult) { ++calls; });
  session.reset();  // cancels both
  io_.restart();
  io_.run_for(1s);
  EXPECT_EQ(calls, 2);
  EXPECT_TRUE(cancelled);
}

TEST_F(ResolverLabTest, StubAgainstNonRecursiveServerWithoutAd) {
  // NSD is authoritative only: it never sets AD. With require_ad the answer is refused.
  std::string tld = lab_->server("secure");
  ASSERT_FALSE(tld.empty());
  auto plain = CaresResolver::Create(io_.get_executor(), {.server = tld});
  ASSERT_TRUE(plain);
  auto r = Lookup(**plain, "www.secure.lab", dns::kA);
  ASSERT_TRUE(r) << r.error().error.detail;
  EXPECT_EQ(r->dnssec, DnssecStatus::kInsecure);
  EXPECT_EQ(r->server, tld + ":53");
  EXPECT_EQ(r->records.size(), 1u);

  auto strict = CaresResolver::Create(io_.get_executor(), {.server = tld, .require_ad = true});
  ASSERT_TRUE(strict);
  auto refused = Lookup(**strict, "www.secure.lab", dns::kA);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().error.detail.find("AD bit"), std::string::npos);
}

TEST_F(ResolverLabTest, StubThroughValidatingRecursive) {
  auto recursive = testing::RecursiveServer::Start(*lab_, lab_->free_address(lab_->free_address_count() - 1), 5353);
  ASSERT_TRUE(recursive) << recursive.error();
  auto strict = CaresResolver::Create(io_.get_executor(),
                                      {.server = (*recursive)->address(), .require_ad = true});
  ASSERT_TRUE(strict);

  auto secure = Lookup(**strict, "www.secure.lab", dns::kA);
  ASSERT_TRUE(secure) << secure.error().error.detail;
  EXPECT_EQ(secure->dnssec, DnssecStatus::kSecure);
  EXPECT_EQ(secure->records.size(), 1u);

  auto chain = Lookup(**strict, "chain1.secure.lab", dns::kA);
  ASSERT_TRUE(chain) << chain.error().error.detail;
  EXPECT_EQ(chain->cname_chain.size(), 3u);

  auto insecure = Lookup(**strict, "www.insecure.lab", dns::kA);
  ASSERT_FALSE(insecure);  // provably insecure, but not authenticated: refused in strict mode
  EXPECT_NE(insecure.error().error.detail.find("AD bit"), std::string::npos);

  auto bogus = Lookup(**strict, "www.bogus.lab", dns::kA);
  ASSERT_FALSE(bogus);  // the validating resolver answers SERVFAIL
  ASSERT_TRUE(bogus.error().answer);
  EXPECT_EQ(bogus.error().answer->rcode, dns::kServFail);

  auto lenient = CaresResolver::Create(io_.get_executor(), {.server = (*recursive)->address()});
  ASSERT_TRUE(lenient);
  auto insecure_ok = Lookup(**lenient, "www.insecure.lab", dns::kA);
  ASSERT_TRUE(insecure_ok) << insecure_ok.error().error.detail;
  EXPECT_EQ(insecure_ok->dnssec, DnssecStatus::kInsecure);
}

// Open sockets of this process (entries of /proc/self/fd that are sockets).
int OpenSockets() {
  int n = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
    std::error_code link_ec;
    auto target = std::filesystem::read_symlink(entry.path(), link_ec);
    if (!link_ec && target.string().starts_with("socket:")) ++n;
  }
  return n;
}

TEST_F(ResolverLabTest, StubReusesChannelsButNeverTheirSockets) {
  auto stub = CaresResolver::Create(io_.get_executor(), {.server = lab_->server("secure")});
  ASSERT_TRUE(stub);
  const int baseline = OpenSockets();
  for (int i = 0; i < 3; ++i) {
    auto r = Lookup(**stub, "www.secure.lab", dns::kA);
    ASSERT_TRUE(r) << r.error().error.detail;
    EXPECT_EQ(r->records.size(), 1u);
    io_.restart();
    io_.poll();  // the session's last handlers let go of it
    // The channel went back to the pool without its socket: the next session's first query
    // opens a new one (new source port), as with a channel made for it.
    EXPECT_EQ(OpenSockets(), baseline) << "after session " << i;
  }
  EXPECT_EQ((*stub)->channels_reused(), 2u);

  // A session ended while its query is unanswered (c-ares still retrying) cancels it; the
  // channel is reusable only once c-ares has closed its socket, and the next session works.
  auto dead = CaresResolver::Create(io_.get_executor(), {.server = lab_->server("dead")});
  ASSERT_TRUE(dead);
  bool called = false, cancelled = false;  // outlive the session: its end posts the callback
  {
    auto session = (*dead)->NewSession();
    session->Lookup("www.dead.lab", dns::kA, Clock::now() + 5s, [&](LookupResult r) {
      called = true;
      cancelled = !r && !r.error().timed_out;
    });
    io_.restart();
    io_.run_for(50ms);
    EXPECT_FALSE(called);
    EXPECT_GT(OpenSockets(), baseline);  // the query's socket is open
  }
  io_.restart();
  io_.run_for(100ms);
  EXPECT_TRUE(called);
  EXPECT_TRUE(cancelled);
  EXPECT_EQ(OpenSockets(), baseline);
  auto again = Lookup(**dead, "www.dead.lab", dns::kA, 300ms);
  ASSERT_FALSE(again);
  EXPECT_TRUE(again.error().timed_out);
  EXPECT_EQ((*dead)->channels_reused(), 1u);
}

TEST_F(ResolverLabTest, StubTimeoutAgainstBlackhole) {
  auto stub = CaresResolver::Create(io_.get_executor(), {.server = lab_->server("dead")});
  ASSERT_TRUE(stub);
  auto r = Lookup(**stub, "www.dead.lab", dns::kA, 1s);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().timed_out);
}

}  // namespace
}  // namespace mpic::resolver

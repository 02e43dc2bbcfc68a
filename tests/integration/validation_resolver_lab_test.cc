// ValidationResolver over libunbound against the real DNS lab (NSD, signed zones): the lookups
// of one validation share one context (what one learned, the next reuses), two validations
// share nothing (a record changed or a zone re-keyed in between is seen by the second).
// Run for both context kinds: on the executor (event API) and with a worker thread.
#include <gtest/gtest.h>

#include <algorithm>
#include <optional>

#include "common/asio.h"
#include "resolver/unbound_resolver.h"
#include "resolver/validation_resolver.h"
#include "lab/dnslab.h"

namespace mpic::resolver {
namespace {

using namespace std::chrono_literals;
using lab::DnsLab;

class ValidationResolverLabTest : public ::testing::TestWithParam<bool> {
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
    config.worker_thread = GetParam();
    auto r = UnboundResolver::Create(io_.get_executor(), config);
    ASSERT_TRUE(r) << r.error().detail;
    base_ = std::move(*r);
  }

  // Runs the io_context until every slot has its result (bounded).
  void RunUntil(const std::vector<std::optional<LookupResult>*>& slots,
                std::chrono::milliseconds limit = 8s) {
    io_.restart();
    const auto stop = Clock::now() + limit;
    auto done = [&] {
      return std::all_of(slots.begin(), slots.end(), [](auto* s) { return s->has_value(); });
    };
    while (!done() && Clock::now() < stop) io_.run_one_for(100ms);
    ASSERT_TRUE(done()) << "lookups still pending after " << limit.count() << " ms";
  }

  LookupResult LookupIn(ValidationResolver& scope, std::string_view name, uint16_t type) {
    std::optional<LookupResult> out;
    auto view = scope.NewSession();
    view->Lookup(name, type, Clock::now() + 5s, [&](LookupResult r) { out = std::move(r); });
    RunUntil({&out});
    if (!out) return tl::unexpected(LookupError{Error{ProblemType::kServerInternal, "none"}, {}});
    return std::move(*out);
  }

  static std::vector<std::string> Rdata(const LookupResult& r) {
    std::vector<std::string> out;
    if (!r) return {"<error: " + r.error().error.detail + ">"};
    for (const auto& rr : r->records) out.push_back(rr.rdata_text);
    std::sort(out.begin(), out.end());
    return out;
  }

  static DnsLab* lab_;
  asio::io_context io_;
  std::unique_ptr<UnboundResolver> base_;
};

DnsLab* ValidationResolverLabTest::lab_ = nullptr;

// The lookups of one validation (A, AAAA, TXT, CAA at once, from separate views) run in one
// context and all validate.
TEST_P(ValidationResolverLabTest, LookupsOfOneValidationShareOneContext) {
  ValidationResolver scope(io_.get_executor(), *base_);
  std::optional<LookupResult> a, aaaa, txt, caa;
  auto va = scope.NewSession(), vaaaa = scope.NewSession(), vtxt = scope.NewSession(),
       vcaa = scope.NewSession();
  const Deadline deadline = Clock::now() + 5s;
  va->Lookup("www.secure.lab", dns::kA, deadline, [&](LookupResult r) { a = std::move(r); });
  vaaaa->Lookup("www.secure.lab", dns::kAaaa, deadline,
                [&](LookupResult r) { aaaa = std::move(r); });
  vtxt->Lookup("txt.secure.lab", dns::kTxt, deadline, [&](LookupResult r) { txt = std::move(r); });
  vcaa->Lookup("secure.lab", dns::kCaa, deadline, [&](LookupResult r) { caa = std::move(r); });
  RunUntil({&a, &aaaa, &txt, &caa});
  EXPECT_EQ(scope.base_sessions(), 1u);
  for (auto* r : {&a, &aaaa, &txt, &caa}) {
    ASSERT_TRUE(**r) << (*r)->error().error.detail;
    EXPECT_EQ((**r)->dnssec, DnssecStatus::kSecure);
  }
  EXPECT_EQ((*a)->records.size(), 1u);
  EXPECT_EQ(Rdata(*txt), std::vector<std::string>{"\"part1\" \"part2\""});
}

// Within one validation the shared state is used: a record changed on the server after the
// validation's first lookup is still seen with its old value by the same validation (its
// context holds it). The next validation sees the new value: nothing is carried over.
TEST_P(ValidationResolverLabTest, ChangedRecordSeenByTheNextValidationOnly) {
  ASSERT_TRUE(lab_->Set("secure.lab.", "scoped.secure.lab.", "TXT", {"\"one\""}, 3600));
  ValidationResolver first(io_.get_executor(), *base_);
  auto before = LookupIn(first, "scoped.secure.lab", dns::kTxt);
  EXPECT_EQ(Rdata(before), std::vector<std::string>{"\"one\""});
  ASSERT_TRUE(before);
  EXPECT_EQ(before->dnssec, DnssecStatus::kSecure);

  ASSERT_TRUE(lab_->Set("secure.lab.", "scoped.secure.lab.", "TXT", {"\"two\""}, 3600));
  auto same_validation = LookupIn(first, "scoped.secure.lab", dns::kTxt);
  EXPECT_EQ(Rdata(same_validation), std::vector<std::string>{"\"one\""});
  EXPECT_EQ(first.base_sessions(), 1u);

  ValidationResolver second(io_.get_executor(), *base_);
  auto next_validation = LookupIn(second, "scoped.secure.lab", dns::kTxt);
  EXPECT_EQ(Rdata(next_validation), std::vector<std::string>{"\"two\""});
  ASSERT_TRUE(next_validation);
  EXPECT_EQ(next_validation->dnssec, DnssecStatus::kSecure);
}

// Re-keying a zone between two validations: the second fetches the new DNSKEYs and DS and
// still concludes "secure"; keys held by the first validation's context never reach it.
TEST_P(ValidationResolverLabTest, RekeyBetweenValidationsStaysSecure) {
  ValidationResolver first(io_.get_executor(), *base_);
  auto keys_before = LookupIn(first, "secure.lab", dns::kDnskey);
  ASSERT_TRUE(keys_before) << keys_before.error().error.detail;
  auto a_before = LookupIn(first, "www.secure.lab", dns::kA);
  ASSERT_TRUE(a_before) << a_before.error().error.detail;
  EXPECT_EQ(a_before->dnssec, DnssecStatus::kSecure);

  ASSERT_TRUE(lab_->Rekey("secure.lab."));
  // The first validation's context still has the old keys (its view of the zone is fixed).
  auto keys_cached = LookupIn(first, "secure.lab", dns::kDnskey);
  EXPECT_EQ(Rdata(keys_cached), Rdata(keys_before));

  ValidationResolver second(io_.get_executor(), *base_);
  auto keys_after = LookupIn(second, "secure.lab", dns::kDnskey);
  ASSERT_TRUE(keys_after) << keys_after.error().error.detail;
  EXPECT_EQ(keys_after->dnssec, DnssecStatus::kSecure);
  EXPECT_NE(Rdata(keys_before), Rdata(keys_after));
  auto a_after = LookupIn(second, "www.secure.lab", dns::kA);
  ASSERT_TRUE(a_after) << a_after.error().error.detail;
  EXPECT_EQ(a_after->dnssec, DnssecStatus::kSecure);
}

// Bogus stays bogus when the chain is shared: a bogus zone looked up after a secure one in
// the same validation fails, and does not poison the secure answers around it.
TEST_P(ValidationResolverLabTest, BogusInASharedContextIsStillAnError) {
  ValidationResolver scope(io_.get_executor(), *base_);
  auto good = LookupIn(scope, "www.secure.lab", dns::kA);
  ASSERT_TRUE(good) << good.error().error.detail;
  auto bogus = LookupIn(scope, "www.bogus.lab", dns::kA);
  ASSERT_FALSE(bogus);
  ASSERT_TRUE(bogus.error().answer);
  EXPECT_EQ(bogus.error().answer->dnssec, DnssecStatus::kBogus);
  auto again = LookupIn(scope, "www.secure.lab", dns::kAaaa);
  ASSERT_TRUE(again) << again.error().error.detail;
  EXPECT_EQ(again->dnssec, DnssecStatus::kSecure);
  EXPECT_EQ(scope.base_sessions(), 1u);
}

// A validation decided early: CancelAll ends a lookup stuck on a dead server at once, and
// the scope refuses new lookups; a view cancelled alone leaves the others running.
TEST_P(ValidationResolverLabTest, CancelOneViewThenTheWholeValidation) {
  ValidationResolver scope(io_.get_executor(), *base_);
  std::optional<LookupResult> dead, cancelled_view, good;
  auto v_dead = scope.NewSession(), v_cancel = scope.NewSession(), v_good = scope.NewSession();
  const Deadline deadline = Clock::now() + 30s;
  v_dead->Lookup("www.dead.lab", dns::kA, deadline, [&](LookupResult r) { dead = std::move(r); });
  v_cancel->Lookup("www.dead.lab", dns::kAaaa, deadline,
                   [&](LookupResult r) { cancelled_view = std::move(r); });
  v_good->Lookup("www.secure.lab", dns::kA, deadline, [&](LookupResult r) { good = std::move(r); });
  v_cancel->Cancel();
  RunUntil({&cancelled_view, &good});
  ASSERT_FALSE(*cancelled_view);
  EXPECT_NE(cancelled_view->error().error.detail.find("cancelled"), std::string::npos);
  ASSERT_TRUE(*good) << good->error().error.detail;
  EXPECT_FALSE(dead.has_value());  // still waiting on the dead server

  scope.CancelAll();
  RunUntil({&dead}, 2s);
  ASSERT_FALSE(*dead);
  EXPECT_NE(dead->error().error.detail.find("cancelled"), std::string::npos);
  auto after = LookupIn(scope, "www.secure.lab", dns::kA);
  ASSERT_FALSE(after);
  EXPECT_NE(after.error().error.detail.find("cancelled"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(ContextKinds, ValidationResolverLabTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& param_info) {
                           return std::string(param_info.param ? "WorkerThread" : "Event");
                         });

}  // namespace
}  // namespace mpic::resolver

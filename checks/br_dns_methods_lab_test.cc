// The BR DNS methods beyond ACME against the real DNS lab (signed, unsigned and bogus zones,
// CNAME chains): DNS change (§3.2.2.4.7), IP address (§3.2.2.4.8), the contact TXT and CAA
// methods (§3.2.2.4.13, .14, .16, .17). One lab for the binary (website_change_lab_test.cc
// shares it).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "checks/check.h"
#include "checks/testing/check_lab.h"

namespace mpic::checks {
namespace {

using namespace std::chrono_literals;
using testing::LabEnv;
using testing::ProblemName;
using testing::RunOnLab;

[[maybe_unused]] ::testing::Environment* const kLab = LabEnv::Register();

constexpr const char* kValue = "Rv7Qx2mK9pLc4TzW8yHn";  // 20 octets: a Random Value

void Set(std::string_view zone, std::string_view name, std::string_view type,
         std::vector<std::string> rdata) {
  auto st = LabEnv::lab()->Set(zone, name, type, std::move(rdata));
  ASSERT_TRUE(st.has_value()) << st.error();
}

std::string Quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

CheckRequest Request(Method method, std::string identifier, std::string value) {
  CheckRequest r;
  r.method = method;
  r.identifier = std::move(identifier);
  r.challenge_value = std::move(value);
  r.deadline = Clock::now() + 5s;
  return r;
}

CheckRequest Change(std::string identifier, std::string type = "TXT",
                    std::string prefix = "_pki-validation", std::string value = kValue) {
  CheckRequest r = Request(Method::kDnsChange, std::move(identifier), std::move(value));
  r.dns_record_type = std::move(type);
  r.dns_name_prefix = std::move(prefix);
  return r;
}

CheckResult Check(CheckRequest r) {
  CheckResult result = RunOnLab(std::move(r));
  // Evidence always serializes (untrusted octets are escaped).
  EXPECT_FALSE(ToJson(result).dump().empty());
  return result;
}

// --- DNS change (BR §3.2.2.4.7) ---------------------------------------------------------------

TEST(DnsChangeLab, TxtAtThePrefixedNameSubstringAndExact) {
  Set("secure.lab.", "_pki-validation.c1.secure.lab.", "TXT",
      {Quoted(std::string("v=") + kValue + " extra"), Quoted("unrelated")});
  CheckResult r = Check(Change("c1.secure.lab"));
  EXPECT_TRUE(r.valid) << ToJson(r).dump();
  EXPECT_EQ(r.method, Method::kDnsChange);
  ASSERT_EQ(r.evidence.lookups.size(), 1u);
  EXPECT_EQ(r.evidence.lookups[0].name, "_pki-validation.c1.secure.lab.");
  EXPECT_EQ(r.evidence.lookups[0].dnssec, "secure");
  EXPECT_EQ(r.evidence.matched_value, std::string("v=") + kValue + " extra");
  EXPECT_EQ(ToJson(r)["method"], "dns-change");
  // Exact match: the record holds more than the value.
  CheckRequest exact = Change("c1.secure.lab");
  exact.require_exact_match = true;
  r = Check(exact);
  EXPECT_FALSE(r.valid);
  EXPECT_EQ(ProblemName(r), "unauthorized") << ToJson(r).dump();
  EXPECT_NE(r.problem->detail.find("2 TXT values"), std::string::npos) << r.problem->detail;
}

TEST(DnsChangeLab, TxtAtTheAdnItselfAndCaseRules) {
  Set("secure.lab.", "c2.secure.lab.", "TXT", {Quoted(kValue)});
  CheckRequest r = Change("c2.secure.lab", "TXT", "");
  r.require_exact_match = true;
  EXPECT_TRUE(Check(r).valid);
  // TXT is case-exact by default; the caller may relax it.
  std::string upper = kValue;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  r.challenge_value = upper;
  CheckResult res = Check(r);
  EXPECT_FALSE(res.valid);
  EXPECT_EQ(ProblemName(res), "unauthorized");
  r.require_exact_case = false;
  EXPECT_TRUE(Check(r).valid);
  // Not at another prefix.
  EXPECT_EQ(ProblemName(Check(Change("c2.secure.lab", "TXT", "_other"))), "unauthorized");
}

TEST(DnsChangeLab, CnameTargetCarriesTheValueCaseInsensitively) {
  std::string lower = kValue;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  Set("secure.lab.", "_pki-validation.c3.secure.lab.", "CNAME",
      {lower + ".dcv.insecure.lab."});
  CheckResult r = Check(Change("c3.secure.lab", "CNAME"));
  EXPECT_TRUE(r.valid) << ToJson(r).dump();
  EXPECT_EQ(r.evidence.matched_value, lower + ".dcv.insecure.lab");
  // Exact: the whole target must be the value.
  CheckRequest exact = Change("c3.secure.lab", "CNAME");
  exact.require_exact_match = true;
  EXPECT_EQ(ProblemName(Check(exact)), "unauthorized");
  exact.challenge_value = lower + ".dcv.insecure.lab.";
  EXPECT_TRUE(Check(exact).valid);
}

TEST(DnsChangeLab, CaaValueAndTxtThroughACnameChain) {
  Set("secure.lab.", "_pki-validation.c4.secure.lab.", "CAA",
      {std::string("0 issue \"ca.example; token=") + kValue + "\""});
  CheckResult r = Check(Change("c4.secure.lab", "CAA"));
  EXPECT_TRUE(r.valid) << ToJson(r).dump();
  EXPECT_EQ(r.evidence.caa_records.size(), 1u);
  // TXT behind a CNAME into the unsigned zone: followed, chain and status in the evidence.
  Set("insecure.lab.", "c5-target.insecure.lab.", "TXT", {Quoted(kValue)});
  Set("secure.lab.", "_pki-validation.c5.secure.lab.", "CNAME", {"c5-target.insecure.lab."});
  r = Check(Change("c5.secure.lab"));
  EXPECT_TRUE(r.valid) << ToJson(r).dump();
  EXPECT_EQ(r.evidence.lookups.at(0).dnssec, "insecure");
  EXPECT_FALSE(r.evidence.lookups.at(0).cname_chain.empty());
}

TEST(DnsChangeLab, BogusIsNeverData) {
  Set("bogus.lab.", "_pki-validation.c6.bogus.lab.", "TXT", {Quoted(kValue)});
  CheckResult r = Check(Change("c6.bogus.lab"));
  EXPECT_FALSE(r.valid);
  EXPECT_EQ(ProblemName(r), "dns") << ToJson(r).dump();
  EXPECT_TRUE(r.evidence.txt_values.empty());
  // And through a CNAME from the signed zone into the bogus one.
  Set("bogus.lab.", "c7-target.bogus.lab.", "TXT", {Quoted(kValue)});
  Set("secure.lab.", "_pki-validation.c7.secure.lab.", "CNAME", {"c7-target.bogus.lab."});
  r = Check(Change("c7.secure.lab"));
  EXPECT_EQ(ProblemName(r), "dns") << ToJson(r).dump();
  EXPECT_EQ(r.evidence.lookups.at(0).dnssec, "bogus");
}

TEST(DnsChangeLab, NothingThereAndBadRequests) {
  EXPECT_EQ(ProblemName(Check(Change("c8.secure.lab"))), "unauthorized");
  EXPECT_EQ(ProblemName(Check(Change("c8.secure.lab", "MX"))), "malformed");
  EXPECT_EQ(ProblemName(Check(Change("c8.secure.lab", "TXT", "no-underscore"))), "malformed");
  EXPECT_EQ(ProblemName(Check(Change("c8.secure.lab", "TXT", "_a._b"))), "malformed");
  EXPECT_EQ(ProblemName(Check(Change("c8.secure.lab", "TXT", "_x", "short"))), "malformed");
  EXPECT_EQ(ProblemName(Check(Change("c8.secure.lab", "TXT", "_x", ""))), "malformed");
  EXPECT_EQ(ProblemName(Check(Change("c8.secure.lab", "TXT", "_x",
                                   std::string(kValue) + std::string(1, '\0')))),
            "malformed");
}

TEST(DnsChangeLab, HostileTxtSets) {
  // Many records, non-ASCII octets and embedded NULs: read, escaped, compared as octets.
  std::vector<std::string> many;
  for (int i = 0; i < 60; ++i) many.push_back(Quoted("filler-" + std::to_string(i)));
  many.push_back("\"\\000\\255\\195\\169" + std::string(kValue) + "\\000\"");
  Set("secure.lab.", "_pki-validation.c9.secure.lab.", "TXT", many);
  CheckResult r = Check(Change("c9.secure.lab"));
  EXPECT_TRUE(r.valid) << ToJson(r).dump();
  EXPECT_EQ(r.evidence.txt_values.size(), 61u);
  EXPECT_NE(r.evidence.matched_value.find("\\000"), std::string::npos) << r.evidence.matched_value;
  CheckRequest exact = Change("c9.secure.lab");
  exact.require_exact_match = true;
  EXPECT_EQ(ProblemName(Check(exact)), "unauthorized");
}

// --- IP address (BR §3.2.2.4.8) -----------------------------------------------------------

TEST(IpAddressLab, AddressAmongTheRecords) {
  Set("secure.lab.", "i1.secure.lab.", "A", {"192.0.2.7", "192.0.2.8"});
  Set("secure.lab.", "i1.secure.lab.", "AAAA", {"2001:db8::7"});
  CheckResult r = Check(Request(Method::kIpAddress, "i1.secure.lab", "192.0.2.8"));
  EXPECT_TRUE(r.valid) << ToJson(r).dump();
  EXPECT_EQ(r.evidence.matched_value, "192.0.2.8");
  EXPECT_EQ(r.evidence.addresses_resolved.size(), 2u);
  EXPECT_TRUE(Check(Request(Method::kIpAddress, "i1.secure.lab", "2001:DB8:0::7")).valid);
  r = Check(Request(Method::kIpAddress, "i1.secure.lab", "192.0.2.9"));
  EXPECT_EQ(ProblemName(r), "unauthorized") << ToJson(r).dump();
  CheckRequest wrong_type = Request(Method::kIpAddress, "i1.secure.lab", "192.0.2.8");
  wrong_type.dns_record_type = "AAAA";
  EXPECT_EQ(ProblemName(Check(wrong_type)), "malformed");
  EXPECT_EQ(ProblemName(Check(Request(Method::kIpAddress, "i1.secure.lab", "not-an-ip"))),
            "malformed");
  EXPECT_EQ(ProblemName(Check(Request(Method::kIpAddress, "i2.secure.lab", "192.0.2.8"))),
            "unauthorized");
  // Through the lab's fixed CNAME into the bogus zone: an error, never an address.
  EXPECT_EQ(ProblemName(Check(Request(Method::kIpAddress, "cname-bogus.secure.lab",
                                    "127.0.0.1"))),
            "dns");
}

// --- Contact TXT and CAA (BR §3.2.2.4.13, .14, .16, .17) ---------------------------------

TEST(ContactLab, EmailAndPhoneTxt) {
  Set("secure.lab.", "_validation-contactemail.t1.secure.lab.", "TXT",
      {Quoted("Owner@T1.example"), Quoted("bad value@x")});
  Set("secure.lab.", "_validation-contactphone.t1.secure.lab.", "TXT", {Quoted("+1 555 0100;ext=7"),
                                                                     Quoted("+1-555-0199")});
  CheckResult r = Check(Request(Method::kContactEmailTxt, "t1.secure.lab", "owner@t1.example"));
  EXPECT_TRUE(r.valid) << ToJson(r).dump();
  EXPECT_EQ(r.evidence.matched_value, "Owner@T1.example");
  CheckRequest exact_case =
      Request(Method::kContactEmailTxt, "*.t1.secure.lab", "owner@t1.example");
  exact_case.require_exact_case = true;
  EXPECT_EQ(ProblemName(Check(exact_case)), "unauthorized");
  // "+1 555 0100;ext=7" has a parameter: not a bare global number, so unusable.
  r = Check(Request(Method::kContactPhoneTxt, "t1.secure.lab", "+15550100"));
  EXPECT_EQ(ProblemName(r), "unauthorized") << ToJson(r).dump();
  EXPECT_NE(r.problem->detail.find("not a valid phone number"), std::string::npos)
      << r.problem->detail;
  EXPECT_TRUE(Check(Request(Method::kContactPhoneTxt, "t1.secure.lab", "+1.555.0199")).valid);
  EXPECT_EQ(ProblemName(Check(Request(Method::kContactPhoneTxt, "t1.secure.lab", "5550199"))),
            "malformed");
  EXPECT_EQ(ProblemName(Check(Request(Method::kContactEmailTxt, "t2.secure.lab", "a@b.example"))),
            "unauthorized");
}

TEST(ContactLab, CaaPropertiesWithTreeClimbing) {
  Set("secure.lab.", "k1.secure.lab.", "CAA",
      {"0 issue \"ca.example\"", "0 contactemail \"dns-admin@k1.example\"",
       "0 contactphone \"+44 (20) 7946 0000\"", "0 contactphone \"+44-20-7946-0001\"",
       "0 contactphone \"+44 20 7946 0002 (office)\""});
  // Below k1: no CAA there, the climb finds k1's RRset.
  CheckResult r = Check(Request(Method::kContactEmailCaa, "www.k1.secure.lab",
                              "dns-admin@k1.example"));
  EXPECT_TRUE(r.valid) << ToJson(r).dump();
  EXPECT_EQ(r.evidence.caa_name, "k1.secure.lab.");
  EXPECT_GE(r.evidence.lookups.size(), 2u);
  EXPECT_TRUE(Check(Request(Method::kContactPhoneCaa, "k1.secure.lab", "+442079460001")).valid);
  // The BR's spelling with blanks and parentheses is usable. (NSD refuses upper-case tags.)
  EXPECT_TRUE(Check(Request(Method::kContactPhoneCaa, "k1.secure.lab", "+442079460000")).valid);
  // A value with extra words is not a global number: unusable, never a match.
  CheckResult office = Check(Request(Method::kContactPhoneCaa, "k1.secure.lab", "+442079460002"));
  EXPECT_EQ(ProblemName(office), "unauthorized") << ToJson(office).dump();
  // The apex CAA of secure.lab has no contact property.
  r = Check(Request(Method::kContactEmailCaa, "k2.secure.lab", "dns-admin@k1.example"));
  EXPECT_EQ(ProblemName(r), "unauthorized") << ToJson(r).dump();
  EXPECT_EQ(r.evidence.caa_name, "secure.lab.");
  // A bogus zone: the climb fails, nothing is permitted.
  EXPECT_EQ(ProblemName(Check(Request(Method::kContactEmailCaa, "x.bogus.lab", "a@b.example"))),
            "dns");
}

// --- Reverse address lookup (BR §3.2.2.5.3) -------------------------------------------------
// The lab's root does not delegate in-addr.arpa or ip6.arpa, so the reverse names live in the
// signed root zone itself. (The addresses avoid the RFC 6303 ranges libunbound answers
// locally, such as 192.0.2.0/24 and 2001:db8::/32.)

TEST(ReverseLookupLab, PtrNamesTheDomain) {
  Set(".", "7.3.0.192.in-addr.arpa.", "PTR", {"Host.R1.secure.lab.", "other.example."});
  CheckResult r = Check(Request(Method::kReverseAddressLookup, "192.0.3.7", "host.r1.secure.lab"));
  EXPECT_TRUE(r.valid) << ToJson(r).dump();
  ASSERT_EQ(r.evidence.lookups.size(), 1u);
  EXPECT_EQ(r.evidence.lookups[0].name, "7.3.0.192.in-addr.arpa.");
  EXPECT_EQ(r.evidence.lookups[0].dnssec, "secure");
  EXPECT_EQ(r.evidence.matched_value, "host.r1.secure.lab");
  EXPECT_EQ(ToJson(r)["method"], "reverse-address-lookup");
  // The trailing dot does not matter; another name, or a substring of one, is not a match.
  EXPECT_TRUE(Check(Request(Method::kReverseAddressLookup, "192.0.3.7", "other.example.")).valid);
  r = Check(Request(Method::kReverseAddressLookup, "192.0.3.7", "r1.secure.lab"));
  EXPECT_EQ(ProblemName(r), "unauthorized") << ToJson(r).dump();
  EXPECT_NE(r.problem->detail.find("2 PTR record(s)"), std::string::npos) << r.problem->detail;
}

TEST(ReverseLookupLab, ClasslessDelegationCnameIsFollowedAndBogusIsNeverData) {
  // RFC 2317: the reverse name is an alias into a zone the address holder runs.
  Set("secure.lab.", "9.rev.secure.lab.", "PTR", {"host.r3.secure.lab."});
  Set(".", "9.3.0.192.in-addr.arpa.", "CNAME", {"9.rev.secure.lab."});
  CheckResult r = Check(Request(Method::kReverseAddressLookup, "192.0.3.9", "host.r3.secure.lab"));
  EXPECT_TRUE(r.valid) << ToJson(r).dump();
  EXPECT_FALSE(r.evidence.lookups.at(0).cname_chain.empty());
  EXPECT_EQ(r.evidence.lookups.at(0).dnssec, "secure");
  // The same into the bogus zone: an error, never a name.
  Set("bogus.lab.", "10.rev.bogus.lab.", "PTR", {"host.r3.secure.lab."});
  Set(".", "10.3.0.192.in-addr.arpa.", "CNAME", {"10.rev.bogus.lab."});
  r = Check(Request(Method::kReverseAddressLookup, "192.0.3.10", "host.r3.secure.lab"));
  EXPECT_EQ(ProblemName(r), "dns") << ToJson(r).dump();
  EXPECT_EQ(r.evidence.lookups.at(0).dnssec, "bogus");
}

TEST(ReverseLookupLab, Ipv6NibblesNoRecordAndBadRequests) {
  Set(".", "7.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.9.b.d.0.1.0.0.2.ip6.arpa.", "PTR",
      {"v6.r2.secure.lab."});
  EXPECT_TRUE(Check(Request(Method::kReverseAddressLookup, "2001:db9::7", "v6.r2.secure.lab"))
                  .valid);
  CheckResult r = Check(Request(Method::kReverseAddressLookup, "192.0.3.8", "host.r1.secure.lab"));
  EXPECT_EQ(ProblemName(r), "unauthorized") << ToJson(r).dump();
  EXPECT_EQ(r.evidence.lookups.at(0).rcode, "NXDOMAIN");
  EXPECT_EQ(ProblemName(Check(Request(Method::kReverseAddressLookup, "r1.secure.lab", "x.lab"))),
            "malformed");
  EXPECT_EQ(ProblemName(Check(Request(Method::kReverseAddressLookup, "192.0.3.7", ""))),
            "malformed");
  EXPECT_EQ(ProblemName(Check(Request(Method::kReverseAddressLookup, "192.0.3.7", "a b.lab"))),
            "malformed");
}

}  // namespace
}  // namespace mpic::checks

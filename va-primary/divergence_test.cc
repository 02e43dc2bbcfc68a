#include "va-primary/divergence.h"

#include <gtest/gtest.h>

namespace mpic::va_primary {
namespace {

v1::PerspectiveResult Dns01(const std::string& name, std::vector<std::string> txt,
                            std::vector<std::string> addresses = {}) {
  v1::PerspectiveResult r;
  r.mutable_perspective()->set_name(name);
  r.set_status(v1::ANSWERED);
  v1::Evidence* e = r.mutable_dcv()->mutable_evidence();
  for (const auto& t : txt) e->add_txt_values(t);
  for (const auto& a : addresses) e->add_addresses_resolved(a);
  return r;
}

std::vector<v1::Divergence> Compute(const std::vector<const v1::PerspectiveResult*>& ps) {
  return ComputeDivergences(ps);
}

TEST(DivergenceTest, AgreementHasNone) {
  auto a = Dns01("a", {"x", "y"});
  auto b = Dns01("b", {"y", "x", "x"});  // same set, other order, duplicate
  EXPECT_TRUE(Compute({&a, &b}).empty());
  EXPECT_TRUE(Compute({&a}).empty());
  EXPECT_TRUE(Compute({}).empty());
}

TEST(DivergenceTest, ListsEachValueAndWhoSawIt) {
  auto p = Dns01("primary", {"good"});
  auto a = Dns01("fra", {"good"});
  auto b = Dns01("syd", {"forged"});
  auto c = Dns01("sao", {"good"});
  auto ds = Compute({&p, &a, &b, &c});
  ASSERT_EQ(ds.size(), 1u);
  EXPECT_EQ(ds[0].field(), "dcv.txt_values");
  ASSERT_EQ(ds[0].values_size(), 2);
  EXPECT_EQ(ds[0].values(0).value(), "good");
  EXPECT_EQ(std::vector<std::string>(ds[0].values(0).perspectives().begin(),
                                     ds[0].values(0).perspectives().end()),
            (std::vector<std::string>{"primary", "fra", "sao"}));
  EXPECT_EQ(ds[0].values(1).value(), "forged");
  ASSERT_EQ(ds[0].values(1).perspectives_size(), 1);
  EXPECT_EQ(ds[0].values(1).perspectives(0), "syd");
}

TEST(DivergenceTest, SetsAreComparedExactlyAndJoinedSorted) {
  auto a = Dns01("a", {}, {"192.0.2.2", "192.0.2.1"});
  auto b = Dns01("b", {}, {"192.0.2.1"});
  auto ds = Compute({&a, &b});
  ASSERT_EQ(ds.size(), 1u);
  EXPECT_EQ(ds[0].field(), "dcv.addresses_resolved");
  EXPECT_EQ(ds[0].values(0).value(), "192.0.2.1, 192.0.2.2");
  EXPECT_EQ(ds[0].values(1).value(), "192.0.2.1");
  // An empty set is a value too (one perspective saw nothing).
  auto c = Dns01("c", {"v"});
  auto d = Dns01("d", {});
  ds = Compute({&c, &d});
  ASSERT_EQ(ds.size(), 1u);
  EXPECT_EQ(ds[0].values(1).value(), "");
}

TEST(DivergenceTest, ScalarAndCaaFieldsInFixedOrder) {
  auto a = Dns01("a", {});
  auto b = Dns01("b", {});
  a.mutable_dcv()->mutable_evidence()->set_http_body("ka");
  b.mutable_dcv()->mutable_evidence()->set_http_body("other");
  a.mutable_dcv()->mutable_evidence()->set_acme_identifier_hex("aa");
  b.mutable_dcv()->mutable_evidence()->set_acme_identifier_hex("bb");
  a.mutable_caa()->mutable_evidence()->set_caa_name("example.com");
  b.mutable_caa()->mutable_evidence()->set_caa_name("www.example.com");
  a.mutable_caa()->mutable_evidence()->add_caa_records("0 issue \"ca.example\"");
  b.mutable_caa()->mutable_evidence()->add_caa_records("0 issue \"evil.example\"");
  auto ds = Compute({&a, &b});
  std::vector<std::string> fields;
  for (const auto& d : ds) fields.push_back(d.field());
  EXPECT_EQ(fields, (std::vector<std::string>{"dcv.http_body", "dcv.acme_identifier_hex",
                                              "caa.caa_name", "caa.caa_records"}));
}

// Issue 15, defect 8: a TLS-ALPN-01 responder that mints a certificate per handshake gives
// every perspective another fingerprint; only what the method checks is compared.
TEST(DivergenceTest, TlsAlpnComparesWhatTheMethodChecks) {
  auto a = Dns01("a", {});
  auto b = Dns01("b", {});
  for (auto* r : {&a, &b}) {
    r->mutable_dcv()->mutable_evidence()->add_cert_sans("www.example.com");
    r->mutable_dcv()->mutable_evidence()->set_acme_identifier_hex("0420abcd");
  }
  a.mutable_dcv()->mutable_evidence()->set_cert_sha256("11");
  b.mutable_dcv()->mutable_evidence()->set_cert_sha256("22");
  EXPECT_TRUE(Compute({&a, &b}).empty());
  b.mutable_dcv()->mutable_evidence()->set_cert_sans(0, "evil.example");
  auto ds = Compute({&a, &b});
  ASSERT_EQ(ds.size(), 1u);
  EXPECT_EQ(ds[0].field(), "dcv.cert_sans");
}

// Issue 15, defect 8: the same records, but one perspective could not authenticate them.
TEST(DivergenceTest, DnssecStatusIsCompared) {
  auto a = Dns01("a", {"v"});
  auto b = Dns01("b", {"v"});
  auto lookup = [](v1::PerspectiveResult* r, const std::string& status) {
    v1::DnsLookup* l = r->mutable_dcv()->mutable_evidence()->add_lookups();
    l->set_name("_acme-challenge.example.com.");
    l->set_type("TXT");
    l->set_dnssec(status);
    l->set_elapsed_ms(r->perspective().name() == "a" ? 1 : 9);  // timing is not compared
  };
  lookup(&a, "secure");
  lookup(&b, "secure");
  EXPECT_TRUE(Compute({&a, &b}).empty());
  b.mutable_dcv()->mutable_evidence()->mutable_lookups(0)->set_dnssec("bogus");
  auto ds = Compute({&a, &b});
  ASSERT_EQ(ds.size(), 1u);
  EXPECT_EQ(ds[0].field(), "dcv.dnssec");
  EXPECT_EQ(ds[0].values(0).value(), "_acme-challenge.example.com. TXT: secure");
  EXPECT_EQ(ds[0].values(1).value(), "_acme-challenge.example.com. TXT: bogus");
}

TEST(DivergenceTest, MatchedValueOfTheBrMethods) {
  auto a = Dns01("a", {"x"});
  auto b = Dns01("b", {"x"});
  a.mutable_dcv()->mutable_evidence()->set_matched_value("host.example.com");
  b.mutable_dcv()->mutable_evidence()->set_matched_value("evil.example.com");
  auto ds = Compute({&a, &b});
  ASSERT_EQ(ds.size(), 1u);
  EXPECT_EQ(ds[0].field(), "dcv.matched_value");
  EXPECT_EQ(ds[0].values_size(), 2);
}

TEST(DivergenceTest, OnlyPerspectivesWithTheOutcomeTakePart) {
  auto a = Dns01("a", {"x"});
  v1::PerspectiveResult no_dcv;
  no_dcv.mutable_perspective()->set_name("b");
  EXPECT_TRUE(Compute({&a, &no_dcv, nullptr}).empty());
}

TEST(DivergenceTest, JoinValueSet) {
  EXPECT_EQ(JoinValueSet({"b", "a", "b"}), "a, b");
  EXPECT_EQ(JoinValueSet({}), "");
}

}  // namespace
}  // namespace mpic::va_primary

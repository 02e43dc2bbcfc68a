// Logic of the resolver layer without any DNS server: answer classification, server address
// parsing, and name validation before any query leaves.
#include <gtest/gtest.h>

#include "resolver/cares_resolver.h"
#include "resolver/internal/answer.h"
#include "resolver/unbound_resolver.h"

namespace mpic::resolver {
namespace {

Answer Make(uint16_t rcode, DnssecStatus status) {
  Answer a;
  a.name = "www.example.";
  a.type = dns::kA;
  a.rcode = rcode;
  a.dnssec = status;
  return a;
}

TEST(Classify, BogusIsNeverData) {
  auto a = Make(dns::kNoError, DnssecStatus::kBogus);
  a.why_bogus = "signature expired";
  a.records.push_back(dns::Record{"www.example.", dns::kA, 1, 60, {1, 2, 3, 4}, "1.2.3.4"});
  auto r = internal::Classify(a);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().error.type, ProblemType::kDns);
  EXPECT_NE(r.error().error.detail.find("bogus"), std::string::npos);
  EXPECT_NE(r.error().error.detail.find("signature expired"), std::string::npos);
  ASSERT_TRUE(r.error().answer);
  EXPECT_EQ(r.error().answer->why_bogus, "signature expired");
}

TEST(Classify, ServfailAndRefusedAreErrors) {
  for (uint16_t rcode : {dns::kServFail, dns::kRefused, dns::kFormErr, dns::kNotImp}) {
    auto r = internal::Classify(Make(rcode, DnssecStatus::kInsecure));
    ASSERT_FALSE(r) << rcode;
    EXPECT_NE(r.error().error.detail.find(dns::RcodeName(rcode)), std::string::npos);
  }
}

TEST(Classify, NxdomainAndNoerrorAreData) {
  EXPECT_TRUE(internal::Classify(Make(dns::kNxDomain, DnssecStatus::kSecure)));
  EXPECT_TRUE(internal::Classify(Make(dns::kNoError, DnssecStatus::kInsecure)));
}

TEST(StubServer, CanonicalForms) {
  EXPECT_EQ(CaresResolver::CanonicalServer("127.0.0.1").value(), "127.0.0.1:53");
  EXPECT_EQ(CaresResolver::CanonicalServer("127.0.0.1:5353").value(), "127.0.0.1:5353");
  EXPECT_EQ(CaresResolver::CanonicalServer("::1").value(), "[::1]:53");
  EXPECT_EQ(CaresResolver::CanonicalServer("[::1]:5353").value(), "[::1]:5353");
  for (auto bad : {"", "localhost", "127.0.0.1:0", "127.0.0.1:70000", "[::1", "1.2.3.4:x",
                   "[::1]x"}) {
    EXPECT_FALSE(CaresResolver::CanonicalServer(bad)) << bad;
  }
}

TEST(Unbound, RejectsMissingFiles) {
  asio::io_context io;
  UnboundConfig config;
  config.root_hints_file = "/nonexistent/root.hints";
  auto r = UnboundResolver::Create(io.get_executor(), config);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().detail.find("/nonexistent/root.hints"), std::string::npos);
}

TEST(Unbound, RejectsGarbageTrustAnchor) {
  char path[] = "/tmp/mpic-ta-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  std::string garbage = ". IN DS this is not a ds record\n";
  ASSERT_EQ(write(fd, garbage.data(), garbage.size()), static_cast<ssize_t>(garbage.size()));
  close(fd);
  asio::io_context io;
  UnboundConfig config;
  config.trust_anchor_file = path;
  auto r = UnboundResolver::Create(io.get_executor(), config);
  unlink(path);
  ASSERT_FALSE(r);
}

// A malformed name fails through the callback before any query: with the real root configured
// and no network this would otherwise hang until the deadline.
TEST(Unbound, BadNamesFailBeforeAnyQuery) {
  asio::io_context io;
  auto resolver = UnboundResolver::Create(io.get_executor(), UnboundConfig{});
  ASSERT_TRUE(resolver) << resolver.error().detail;
  auto session = (*resolver)->NewSession();
  int calls = 0;
  for (std::string name : {std::string("a..b"), std::string(300, 'a'), std::string("bad name.")}) {
    session->Lookup(name, dns::kA, Clock::now() + std::chrono::seconds(5),
                    [&](LookupResult r) {
                      ++calls;
                      ASSERT_FALSE(r);
                      EXPECT_EQ(r.error().error.type, ProblemType::kMalformed);
                    });
  }
  io.run_for(std::chrono::seconds(2));
  EXPECT_EQ(calls, 3);
}

TEST(Stub, BadNameAndCancel) {
  asio::io_context io;
  auto resolver = CaresResolver::Create(io.get_executor(), StubConfig{.server = "127.0.0.1:9"});
  ASSERT_TRUE(resolver);
  auto session = (*resolver)->NewSession();
  int calls = 0;
  session->Lookup("-", dns::kA, Clock::now() + std::chrono::seconds(5), [&](LookupResult r) {
    ++calls;
    EXPECT_FALSE(r);
  });
  io.run_for(std::chrono::milliseconds(200));
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace mpic::resolver

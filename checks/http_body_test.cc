#include "checks/internal/http_body.h"

#include <gtest/gtest.h>

#include "checks/internal/web_common.h"

namespace mpic::checks::internal {
namespace {

constexpr std::string_view kKa = "tok.thumb";

struct BodyCase {
  std::string body;
  bool match;
  std::string detail;  // substring of the error detail when !match
};

class CompareHttpBodyTest : public ::testing::TestWithParam<BodyCase> {};

TEST_P(CompareHttpBodyTest, Compares) {
  const auto& c = GetParam();
  auto status = CompareHttpBody(c.body, kKa);
  EXPECT_EQ(status.has_value(), c.match) << PrintableText(c.body);
  if (!c.match && !status) {
    EXPECT_EQ(status.error().type, ProblemType::kUnauthorized);
    EXPECT_NE(status.error().detail.find(c.detail), std::string::npos) << status.error().detail;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, CompareHttpBodyTest,
    ::testing::Values(BodyCase{"tok.thumb", true, ""}, BodyCase{"tok.thumb\n", true, ""},
                      BodyCase{"tok.thumb\r\n", true, ""},
                      BodyCase{"tok.thumb \t\r\n\v\f", true, ""},
                      BodyCase{"tok.thumb" + std::string(119, ' '), true, ""},  // exactly 128 bytes
                      BodyCase{"tok.thumb" + std::string(120, ' '), false, "longer than 128"},
                      BodyCase{" tok.thumb", false, "did not match"},  // leading whitespace counts
                      BodyCase{"\ntok.thumb", false, "did not match"},
                      BodyCase{"tok.thumbX", false, "did not match"},
                      BodyCase{"tok.thum", false, "did not match"},
                      BodyCase{"TOK.THUMB", false, "did not match"},  // exact, case-sensitive
                      BodyCase{"tok.thumb\xc2\xa0", false,
                               "\\xc2\\xa0"},  // NBSP is not ASCII whitespace
                      BodyCase{std::string("tok.thumb\0", 10), false, "\\x00"},
                      BodyCase{"", false, "got \"\""}, BodyCase{"\r\n", false, "did not match"},
                      BodyCase{std::string(129, 'a'), false, "longer than 128"}));

TEST(TrimHttpBodyTest, TrimsOnlyTrailingAsciiWhitespace) {
  EXPECT_EQ(TrimHttpBody("  a b \r\n"), "  a b");
  EXPECT_EQ(TrimHttpBody(" \t\r\n"), "");
  EXPECT_EQ(TrimHttpBody(""), "");
  EXPECT_EQ(TrimHttpBody("x"), "x");
}

TEST(PrintableTextTest, EscapesAndBounds) {
  EXPECT_EQ(PrintableText("ok"), "ok");
  EXPECT_EQ(PrintableText("a\nb\\"), "a\\x0ab\\\\");
  EXPECT_EQ(PrintableText("\xff\x80"), "\\xff\\x80");
  EXPECT_EQ(PrintableText("abcdef", 3), "abc...");
}

TEST(AttemptDeadlineTest, SplitsTimeLeft) {
  auto now = Clock::now();
  auto deadline = now + std::chrono::seconds(4);
  EXPECT_EQ(AttemptDeadline(now, deadline, 0, 2), now + std::chrono::seconds(2));
  EXPECT_EQ(AttemptDeadline(now, deadline, 1, 2), deadline);
  EXPECT_EQ(AttemptDeadline(now, deadline, 0, 1), deadline);
  EXPECT_EQ(AttemptDeadline(deadline + std::chrono::seconds(1), deadline, 0, 2), deadline);
}

struct IdentCase {
  std::string identifier;
  std::string host;  // "" = malformed
  bool ip;
};

class ParseWebIdentifierTest : public ::testing::TestWithParam<IdentCase> {};

TEST_P(ParseWebIdentifierTest, Parses) {
  const auto& c = GetParam();
  auto ident = ParseWebIdentifier(c.identifier);
  if (c.host.empty()) {
    ASSERT_FALSE(ident.has_value()) << c.identifier;
    EXPECT_EQ(ident.error().type, ProblemType::kMalformed);
    return;
  }
  ASSERT_TRUE(ident.has_value()) << c.identifier << ": " << ident.error().detail;
  EXPECT_EQ(ident->host, c.host);
  EXPECT_EQ(ident->ip.has_value(), c.ip);
}

INSTANTIATE_TEST_SUITE_P(
    Table, ParseWebIdentifierTest,
    ::testing::Values(
        IdentCase{"www.example.com", "www.example.com", false},
        IdentCase{"WWW.Example.COM.", "www.example.com", false},
        IdentCase{"192.0.2.1", "192.0.2.1", true}, IdentCase{"2001:db8::1", "2001:db8::1", true},
        IdentCase{"2001:DB8::1", "", false},  // not RFC 5952 canonical
        IdentCase{"2001:db8:0:0:0:0:0:1", "", false}, IdentCase{"192.0.2.01", "", false},
        IdentCase{"192.0.2", "", false}, IdentCase{"fe80::1%eth0", "", false},
        IdentCase{"[2001:db8::1]", "", false}, IdentCase{"*.example.com", "", false},
        IdentCase{"", "", false}, IdentCase{"exa mple.com", "", false}, IdentCase{"com", "", false},
        IdentCase{"_acme.example.com", "", false}, IdentCase{"a..example.com", "", false}));

}  // namespace
}  // namespace mpic::checks::internal

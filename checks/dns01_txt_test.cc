// The pure DNS-01 TXT comparison (RFC 8555 §8.4) and the evidence escaping.
#include <gtest/gtest.h>

#include <cctype>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "checks/internal/dns_txt.h"
#include "checks/key_authorization.h"

namespace mpic::checks::internal {
namespace {

// TXT rdata from character-strings (RFC 1035 §3.3.14).
std::vector<uint8_t> Txt(const std::vector<std::string>& strings) {
  std::vector<uint8_t> out;
  for (const auto& s : strings) {
    out.push_back(static_cast<uint8_t>(s.size()));
    out.insert(out.end(), s.begin(), s.end());
  }
  return out;
}

constexpr const char* kKeyAuth =
    "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0.9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI";

TEST(Dns01Txt, MatchesExpectedDigest) {
  std::string expected = Dns01TxtValue(kKeyAuth);
  std::vector<std::vector<uint8_t>> rdatas = {Txt({expected})};
  auto cmp = CompareDns01Txt(rdatas, expected);
  EXPECT_TRUE(cmp.matched);
  ASSERT_EQ(cmp.values.size(), 1u);
  EXPECT_EQ(cmp.values[0], expected);
}

TEST(Dns01Txt, ConcatenatesStringsOfOneRecord) {
  std::string expected = Dns01TxtValue(kKeyAuth);
  std::vector<std::vector<uint8_t>> rdatas = {
      Txt({expected.substr(0, 10), expected.substr(10, 5), expected.substr(15)})};
  auto cmp = CompareDns01Txt(rdatas, expected);
  EXPECT_TRUE(cmp.matched);
  EXPECT_EQ(cmp.values, std::vector<std::string>{expected});
}

TEST(Dns01Txt, DoesNotJoinSeparateRecords) {
  std::string expected = Dns01TxtValue(kKeyAuth);
  std::vector<std::vector<uint8_t>> rdatas = {Txt({expected.substr(0, 20)}),
                                              Txt({expected.substr(20)})};
  auto cmp = CompareDns01Txt(rdatas, expected);
  EXPECT_FALSE(cmp.matched);
  EXPECT_EQ(cmp.values.size(), 2u);
}

TEST(Dns01Txt, AnyRecordMayMatchAndAllAreReported) {
  std::string expected = Dns01TxtValue(kKeyAuth);
  std::vector<std::vector<uint8_t>> rdatas = {Txt({"stale"}), Txt({expected}), Txt({"other"})};
  auto cmp = CompareDns01Txt(rdatas, expected);
  EXPECT_TRUE(cmp.matched);
  EXPECT_EQ(cmp.values, (std::vector<std::string>{"stale", expected, "other"}));
}

TEST(Dns01Txt, ExactComparison) {
  std::string expected = Dns01TxtValue(kKeyAuth);
  std::string upper = expected;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (const std::string& wrong : {expected + " ", " " + expected, expected + "\n", upper,
                                   expected.substr(1), expected + "=", std::string()}) {
    std::vector<std::vector<uint8_t>> rdatas = {Txt({wrong})};
    EXPECT_FALSE(CompareDns01Txt(rdatas, expected).matched) << wrong;
  }
}

TEST(Dns01Txt, MalformedRdataNeverMatches) {
  std::string expected = Dns01TxtValue(kKeyAuth);
  std::vector<uint8_t> bad = Txt({expected});
  bad[0] = static_cast<uint8_t>(bad[0] + 1);  // length runs past the end
  std::vector<std::vector<uint8_t>> rdatas = {bad};
  auto cmp = CompareDns01Txt(rdatas, expected);
  EXPECT_FALSE(cmp.matched);
  EXPECT_EQ(cmp.malformed, 1u);
  EXPECT_TRUE(cmp.values.empty());
}

TEST(Dns01Txt, OversizedValueIsJustCompared) {
  std::string expected = Dns01TxtValue(kKeyAuth);
  std::vector<std::string> strings(250, std::string(255, 'x'));  // ~64 KB, one record
  std::vector<std::vector<uint8_t>> rdatas = {Txt(strings), Txt({expected})};
  auto cmp = CompareDns01Txt(rdatas, expected);
  EXPECT_TRUE(cmp.matched);
  ASSERT_EQ(cmp.values.size(), 2u);
  EXPECT_EQ(cmp.values[0].size(), 250u * 255u);
}

TEST(Dns01Txt, EmptyRecordIsAnEmptyValue) {
  std::vector<std::vector<uint8_t>> rdatas = {{}};
  auto cmp = CompareDns01Txt(rdatas, "x");
  EXPECT_FALSE(cmp.matched);
  EXPECT_EQ(cmp.values, std::vector<std::string>{""});
}

TEST(Dns01Txt, BinaryValuesAreEscapedForEvidence) {
  std::vector<std::vector<uint8_t>> rdatas = {Txt({std::string("a\"b\\c\x01\xff", 7)})};
  auto cmp = CompareDns01Txt(rdatas, "x");
  ASSERT_EQ(cmp.values.size(), 1u);
  EXPECT_EQ(cmp.values[0], "a\\\"b\\\\c\\001\\255");
  EXPECT_NO_THROW((void)nlohmann::json(cmp.values).dump());
}

TEST(DnsText, EscapeOctetsCuts) {
  EXPECT_EQ(EscapeOctets("abcdef", 3), "abc...");
  EXPECT_EQ(EscapeOctets("abc", 3), "abc");
  EXPECT_EQ(EscapeOctets(std::string("\0", 1)), "\\000");
}

}  // namespace
}  // namespace mpic::checks::internal

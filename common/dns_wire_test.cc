#include "common/dns_wire.h"

#include <gtest/gtest.h>

namespace mpic::dns {
namespace {

// Appends a name in wire form.
void Name(std::vector<uint8_t>* p, std::string_view name) {
  size_t start = 0;
  while (start < name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string_view::npos) dot = name.size();
    p->push_back(static_cast<uint8_t>(dot - start));
    p->insert(p->end(), name.begin() + static_cast<long>(start),
              name.begin() + static_cast<long>(dot));
    start = dot + 1;
  }
  p->push_back(0);
}

void U16(std::vector<uint8_t>* p, uint16_t v) {
  p->push_back(static_cast<uint8_t>(v >> 8));
  p->push_back(static_cast<uint8_t>(v));
}

void Rr(std::vector<uint8_t>* p, std::vector<uint8_t> owner, uint16_t type,
        std::vector<uint8_t> rdata) {
  p->insert(p->end(), owner.begin(), owner.end());
  U16(p, type);
  U16(p, 1);
  U16(p, 0);
  U16(p, 300);
  U16(p, static_cast<uint16_t>(rdata.size()));
  p->insert(p->end(), rdata.begin(), rdata.end());
}

std::vector<uint8_t> Header(uint16_t flags, uint16_t an) {
  std::vector<uint8_t> p;
  U16(&p, 0x1234);
  U16(&p, flags);
  U16(&p, 1);
  U16(&p, an);
  U16(&p, 0);
  U16(&p, 0);
  return p;
}

TEST(DnsWire, ParsesAnswersWithCompression) {
  auto p = Header(0x81A0, 3);  // QR RD RA AD
  Name(&p, "www.example.com");
  U16(&p, kA);
  U16(&p, 1);
  const std::vector<uint8_t> ptr_q = {0xC0, 12};
  // www CNAME web.example.com (compressed suffix)
  std::vector<uint8_t> cname = {3, 'w', 'e', 'b', 0xC0, 16};
  Rr(&p, ptr_q, kCname, cname);
  size_t web_offset = p.size() - cname.size();
  std::vector<uint8_t> web = {0xC0, static_cast<uint8_t>(web_offset)};
  Rr(&p, web, kA, {192, 0, 2, 7});
  Rr(&p, web, kTxt, {5, 'h', 'e', 'l', 'l', 'o', 3, 'a', '"', 'b'});

  auto msg = ParseMessage(p);
  ASSERT_TRUE(msg) << msg.error().detail;
  EXPECT_TRUE(msg->ad);
  EXPECT_EQ(msg->rcode, kNoError);
  EXPECT_EQ(msg->qname, "www.example.com.");
  ASSERT_EQ(msg->answers.size(), 3u);
  EXPECT_EQ(ToPresentation(msg->answers[0]), "www.example.com. 300 IN CNAME web.example.com.");
  EXPECT_EQ(ToPresentation(msg->answers[1]), "web.example.com. 300 IN A 192.0.2.7");
  EXPECT_EQ(msg->answers[2].rdata_text, "\"hello\" \"a\\\"b\"");
  // Names inside rdata are stored uncompressed.
  EXPECT_EQ(msg->answers[0].rdata.size(), 17u);

  std::vector<std::string> chain;
  auto canonical = FollowCnames(msg->answers, "www.example.com.", &chain);
  ASSERT_TRUE(canonical);
  EXPECT_EQ(*canonical, "web.example.com.");
  EXPECT_EQ(chain, std::vector<std::string>{"www.example.com."});
}

TEST(DnsWire, RejectsHostilePackets) {
  // Truncated header.
  EXPECT_FALSE(ParseMessage(std::vector<uint8_t>{1, 2, 3}));
  // Compression pointer to itself.
  auto p = Header(0x8000, 0);
  p.push_back(0xC0);
  p.push_back(12);
  U16(&p, kA);
  U16(&p, 1);
  EXPECT_FALSE(ParseMessage(p));
  // rdlength beyond the packet.
  p = Header(0x8000, 1);
  Name(&p, "a.b");
  U16(&p, kA);
  U16(&p, 1);
  Name(&p, "a.b");
  U16(&p, kA);
  U16(&p, 1);
  U16(&p, 0);
  U16(&p, 0);
  U16(&p, 200);
  p.push_back(1);
  EXPECT_FALSE(ParseMessage(p));
  // A record with 5 octets.
  p = Header(0x8000, 1);
  Name(&p, "a.b");
  U16(&p, kA);
  U16(&p, 1);
  Rr(&p, {1, 'a', 1, 'b', 0}, kA, {1, 2, 3, 4, 5});
  EXPECT_FALSE(ParseMessage(p));
}

TEST(DnsWire, CnameLoopAndLength) {
  std::vector<Record> rrs = {
      {"a.", kCname, 1, 60, {}, "b."},
      {"b.", kCname, 1, 60, {}, "a."},
  };
  std::vector<std::string> chain;
  auto r = FollowCnames(rrs, "a.", &chain);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().detail.find("loop"), std::string::npos);
}

TEST(DnsWire, CaaAndUnknownPresentation) {
  Record caa{"example.", kCaa, 1, 60, {}, ""};
  auto p = Header(0x8000, 1);
  Name(&p, "example");
  U16(&p, kCaa);
  U16(&p, 1);
  std::vector<uint8_t> rdata = {128, 5, 'i', 's', 's', 'u', 'e'};
  for (char c : std::string("ca.example; accounturi=x")) rdata.push_back(static_cast<uint8_t>(c));
  Rr(&p, {7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0}, kCaa, rdata);
  auto msg = ParseMessage(p);
  ASSERT_TRUE(msg);
  EXPECT_EQ(msg->answers[0].rdata_text, "128 issue \"ca.example; accounturi=x\"");

  p = Header(0x8000, 1);
  Name(&p, "example");
  U16(&p, 65);
  U16(&p, 1);
  Rr(&p, {7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0}, 65, {0xAB, 0xCD});
  msg = ParseMessage(p);
  ASSERT_TRUE(msg);
  EXPECT_EQ(ToPresentation(msg->answers[0]), "example. 300 IN TYPE65 \\# 2 abcd");
}

TEST(DnsWire, RrsigPresentation) {
  auto p = Header(0x8000, 1);
  Name(&p, "example");
  U16(&p, kRrsig);
  U16(&p, 1);
  std::vector<uint8_t> rdata = {0, 1, 13, 1, 0, 0, 0, 60,  // A, alg 13, 1 label, ttl 60
                                0x65, 0x00, 0x00, 0x00,   // expiration 2023-09-12 06:06:56
                                0x64, 0x00, 0x00, 0x00,   // inception
                                0x12, 0x34};              // key tag 4660
  rdata.insert(rdata.end(), {7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0});
  rdata.insert(rdata.end(), {1, 2, 3});
  Rr(&p, {7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0}, kRrsig, rdata);
  auto msg = ParseMessage(p);
  ASSERT_TRUE(msg) << msg.error().detail;
  EXPECT_EQ(msg->answers[0].rdata_text,
            "A 13 1 60 20230912060656 20230302014640 4660 example. AQID");
}

TEST(DnsWire, TypesAndRcodes) {
  EXPECT_EQ(ParseRrType("aaaa"), kAaaa);
  EXPECT_EQ(ParseRrType("CAA"), kCaa);
  EXPECT_EQ(ParseRrType("TYPE65"), 65);
  EXPECT_FALSE(ParseRrType("TYPE70000"));
  EXPECT_FALSE(ParseRrType("BOGUS"));
  EXPECT_EQ(RrTypeName(65), "TYPE65");
  EXPECT_EQ(RcodeName(3), "NXDOMAIN");
  EXPECT_EQ(RcodeName(2), "SERVFAIL");
}

TEST(DnsWire, BuildQueryRoundTrips) {
  auto q = BuildQuery(7, "www.example.com", kTxt, true);
  ASSERT_TRUE(q);
  auto msg = ParseMessage(*q);
  ASSERT_TRUE(msg);
  EXPECT_EQ(msg->id, 7);
  EXPECT_TRUE(msg->rd);
  EXPECT_TRUE(msg->ad);
  EXPECT_EQ(msg->qname, "www.example.com.");
  EXPECT_EQ(msg->qtype, kTxt);
  EXPECT_FALSE(BuildQuery(1, std::string(300, 'a'), kA, false));
}

}  // namespace
}  // namespace mpic::dns

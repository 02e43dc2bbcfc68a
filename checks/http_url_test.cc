#include "checks/internal/http_url.h"

#include <gtest/gtest.h>

namespace mpic::checks::internal {
namespace {

HttpUrl Base(std::string host = "www.example.com", std::string scheme = "http") {
  HttpUrl url;
  url.scheme = std::move(scheme);
  url.host = std::move(host);
  url.port = url.scheme == "https" ? 443 : 80;
  url.target = "/.well-known/acme-challenge/tok";
  return url;
}

TEST(ChallengeUrlTest, NameAndIps) {
  HttpPorts ports{80, 443};
  auto name = ChallengeUrl({"www.example.com", std::nullopt}, "tok", ports);
  EXPECT_EQ(name.ToString(), "http://www.example.com/.well-known/acme-challenge/tok");
  EXPECT_EQ(name.HostHeader(), "www.example.com");
  EXPECT_EQ(name.port, 80);
  auto v6 = ChallengeUrl({"2001:db8::1", asio::ip::make_address("2001:db8::1")}, "tok", ports);
  EXPECT_EQ(v6.ToString(), "http://[2001:db8::1]/.well-known/acme-challenge/tok");
  EXPECT_EQ(v6.HostHeader(), "[2001:db8::1]");
  auto lab = ChallengeUrl({"a.lab", std::nullopt}, "tok", HttpPorts{8080, 8443});
  EXPECT_EQ(lab.port, 8080);
  EXPECT_EQ(lab.Key(), "http://a.lab:8080/.well-known/acme-challenge/tok");
}

struct RedirectCase {
  std::string location;
  std::string want;  // ToString() of the result, or "!" + a substring of the error detail
  uint16_t want_port = 0;
};

class ResolveRedirectTest : public ::testing::TestWithParam<RedirectCase> {};

TEST_P(ResolveRedirectTest, Resolves) {
  const auto& c = GetParam();
  auto next = ResolveRedirect(Base(), c.location, HttpPorts{80, 443});
  if (c.want.starts_with("!")) {
    ASSERT_FALSE(next.has_value()) << c.location << " -> " << next->ToString();
    EXPECT_EQ(next.error().type, ProblemType::kConnection);
    EXPECT_NE(next.error().detail.find(c.want.substr(1)), std::string::npos) << next.error().detail;
  } else {
    ASSERT_TRUE(next.has_value()) << c.location << ": " << next.error().detail;
    EXPECT_EQ(next->ToString(), c.want);
    if (c.want_port) {
      EXPECT_EQ(next->port, c.want_port);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, ResolveRedirectTest,
    ::testing::Values(
        // Absolute URLs.
        RedirectCase{"http://other.example.com/x", "http://other.example.com/x", 80},
        RedirectCase{"https://other.example.com/x", "https://other.example.com/x", 443},
        RedirectCase{"HTTPS://Other.Example.COM/x", "https://other.example.com/x", 443},
        RedirectCase{"http://other.example.com", "http://other.example.com/", 80},
        RedirectCase{"http://other.example.com?q=1", "http://other.example.com/?q=1", 80},
        RedirectCase{"http://other.example.com/x#frag", "http://other.example.com/x", 80},
        RedirectCase{"http://other.example.com:443/x", "http://other.example.com:443/x", 443},
        RedirectCase{"https://other.example.com:80/x", "https://other.example.com:80/x", 80},
        RedirectCase{"http://other.example.com:/x", "http://other.example.com/x", 80},
        RedirectCase{"http://192.0.2.1/x", "http://192.0.2.1/x", 80},
        RedirectCase{"http://[2001:db8::1]/x", "http://[2001:db8::1]/x", 80},
        RedirectCase{"http://[2001:DB8:0::1]:443/x", "http://[2001:db8::1]:443/x", 443},
        // Relative references (RFC 3986 §5.2).
        RedirectCase{"/other", "http://www.example.com/other", 80},
        RedirectCase{"//cdn.example.net/y", "http://cdn.example.net/y", 80},
        RedirectCase{"sibling", "http://www.example.com/.well-known/acme-challenge/sibling"},
        RedirectCase{"../up", "http://www.example.com/.well-known/up"},
        RedirectCase{"?v=2", "http://www.example.com/.well-known/acme-challenge/tok?v=2"},
        RedirectCase{"/a/./b/../c", "http://www.example.com/a/c"},
        RedirectCase{"/../../etc", "http://www.example.com/etc"},
        RedirectCase{"/a b", "http://www.example.com/a%20b"},
        RedirectCase{"/caf\xc3\xa9", "http://www.example.com/caf%C3%A9"},
        // Rules.
        RedirectCase{"ftp://other.example.com/x", "!scheme \"ftp\""},
        RedirectCase{"file:///etc/passwd", "!scheme \"file\""},
        RedirectCase{"javascript:alert(1)", "!scheme \"javascript\""},
        RedirectCase{"gopher://x.example.com/", "!scheme"},
        RedirectCase{"http:/no-authority", "!no host"},
        RedirectCase{"http://other.example.com:8080/x", "!port 8080"},
        RedirectCase{"http://other.example.com:22/x", "!port 22"},
        RedirectCase{"http://other.example.com:0/x", "!bad port"},
        RedirectCase{"http://other.example.com:99999/x", "!bad port"},
        RedirectCase{"http://other.example.com:8o/x", "!bad port"},
        RedirectCase{"http://user:pass@other.example.com/", "!credentials"},
        RedirectCase{"http://@other.example.com/", "!credentials"},
        RedirectCase{"http:///x", "!host"}, RedirectCase{"http://localhost/", "!host"},
        RedirectCase{"http://127.1/", "!host"}, RedirectCase{"http://0x7f000001/", "!host"},
        RedirectCase{"http://2130706433/", "!host"},
        RedirectCase{"http://under_score.example.com/", "!host"},
        RedirectCase{"http://[fe80::1%25eth0]/", "!IPv6"}, RedirectCase{"http://[::1/", "!host"},
        RedirectCase{"http://[::1]x/", "!host"}, RedirectCase{"", "!empty"},
        RedirectCase{"#only-fragment", "!empty"}, RedirectCase{"/a\r\nX-Evil: 1", "!control"},
        RedirectCase{std::string("/a\0b", 4), "!control"}));

TEST(ResolveRedirectTest, LabPortsReplace80And443) {
  HttpPorts lab{8080, 8443};
  HttpUrl base = Base();
  base.port = 8080;
  auto https = ResolveRedirect(base, "https://x.example.com/", lab);
  ASSERT_TRUE(https.has_value());
  EXPECT_EQ(https->port, 8443);
  auto explicit_port = ResolveRedirect(base, "http://x.example.com:8443/", lab);
  ASSERT_TRUE(explicit_port.has_value());
  EXPECT_EQ(explicit_port->port, 8443);
  EXPECT_FALSE(ResolveRedirect(base, "http://x.example.com:80/", lab).has_value());
  EXPECT_FALSE(ResolveRedirect(base, "http://x.example.com:443/", lab).has_value());
}

TEST(ResolveRedirectTest, RelativeKeepsHttpsOrigin) {
  auto next = ResolveRedirect(Base("secure.example.com", "https"), "/p", HttpPorts{80, 443});
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->ToString(), "https://secure.example.com/p");
  EXPECT_EQ(next->port, 443);
  EXPECT_TRUE(next->https());
}

TEST(ResolveRedirectTest, KeyDistinguishesSchemeAndPort) {
  HttpPorts ports{80, 443};
  auto a = ResolveRedirect(Base(), "http://h.example.com/x", ports);
  auto b = ResolveRedirect(Base(), "https://h.example.com/x", ports);
  auto c = ResolveRedirect(Base(), "http://h.example.com:80/x", ports);
  ASSERT_TRUE(a && b && c);
  EXPECT_NE(a->Key(), b->Key());
  EXPECT_EQ(a->Key(), c->Key());  // explicit default port is the same resource
}

}  // namespace
}  // namespace mpic::checks::internal

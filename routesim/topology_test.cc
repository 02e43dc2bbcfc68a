#include "routesim/topology.h"

#include <bzlib.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include "routesim/graph.h"

namespace mpic::routesim {
namespace {

std::string Gzip(const std::string& text) {
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&zs, text.size()) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  zs.avail_in = static_cast<uInt>(text.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

std::string Bzip2(const std::string& text) {
  std::string out(text.size() * 2 + 600, '\0');
  unsigned len = static_cast<unsigned>(out.size());
  EXPECT_EQ(BZ2_bzBuffToBuffCompress(out.data(), &len, const_cast<char*>(text.data()),
                                     static_cast<unsigned>(text.size()), 9, 0, 0),
            BZ_OK);
  out.resize(len);
  return out;
}

constexpr const char* kSerial2 =
    "# source: hand-written\r\n"
    "# as1|as2|rel|source\n"
    "1|2|-1|bgp\n"
    "2|3|0|mlp\n"
    "\n"
    "1|2|-1|bgp\n";  // exact duplicate: ignored

TEST(TopologyTest, ParsesSerial1AndSerial2WithCommentsAndCrLf) {
  auto topo = ParseTopology(kSerial2, "t");
  ASSERT_TRUE(topo) << topo.error().detail;
  ASSERT_EQ(topo->links.size(), 2u);
  EXPECT_EQ(topo->links[0], (Link{1, 2, Rel::kProviderToCustomer}));
  EXPECT_EQ(topo->links[1], (Link{2, 3, Rel::kPeer}));
  auto serial1 = ParseTopology("4200000000|7|-1\r\n7|8|0", "s1");
  ASSERT_TRUE(serial1) << serial1.error().detail;
  EXPECT_EQ(serial1->links[0].a, 4200000000u);
}

TEST(TopologyTest, MalformedLinesNameFileAndLine) {
  struct Case {
    const char* text;
    const char* expect;
  } cases[] = {
      {"1|2|-1\n2|3|1\n", "t:2: unknown relationship code \"1\""},
      {"1|2|-1\n2|3\n", "t:2: expected"},  // truncated line
      {"# c\n1|x|0\n", "t:2: bad AS number \"x\""},
      {"0|1|0\n", "t:1: bad AS number \"0\""},
      {"1|4294967296|0\n", "t:1: bad AS number"},
      {"5|5|0\n", "t:1: AS5 linked to itself"},
      {"1|2|-1\n2|1|-1\n", "t:2: AS2 and AS1 are linked twice"},
      {"1|2|0\n1|2|-1\n", "t:2: AS1 and AS2 are linked twice"},
      {"1|2|0|a|b\n", "t:1: expected"},
      {"# only a comment\n", "t: no AS link"},
  };
  for (const Case& c : cases) {
    auto topo = ParseTopology(c.text, "t");
    ASSERT_FALSE(topo) << c.text;
    EXPECT_NE(topo.error().detail.find(c.expect), std::string::npos)
        << topo.error().detail << " / wanted " << c.expect;
    EXPECT_EQ(topo.error().type, ProblemType::kMalformed);
  }
}

TEST(TopologyTest, GzipAndBzip2AreDetectedByMagic) {
  const std::string text = "1|2|-1\n2|3|0\n3|4|-1\n";
  for (const std::string& packed : {Gzip(text), Bzip2(text), text}) {
    auto plain = Decompress(packed, "f");
    ASSERT_TRUE(plain) << plain.error().detail;
    EXPECT_EQ(*plain, text);
  }
  // Concatenated gzip members are one stream.
  auto twice = Decompress(Gzip(text) + Gzip(text), "f");
  ASSERT_TRUE(twice) << twice.error().detail;
  EXPECT_EQ(*twice, text + text);
}

TEST(TopologyTest, TruncatedCompressedFilesAreErrors) {
  const std::string text(5000, '#');
  std::string gz = Gzip(text);
  auto cut = Decompress(std::string_view(gz).substr(0, gz.size() / 2), "x.gz");
  ASSERT_FALSE(cut);
  EXPECT_NE(cut.error().detail.find("x.gz: truncated or corrupt gzip"), std::string::npos);
  std::string bz = Bzip2(text);
  auto bcut = Decompress(std::string_view(bz).substr(0, bz.size() - 5), "x.bz2");
  ASSERT_FALSE(bcut);
  EXPECT_NE(bcut.error().detail.find("x.bz2: truncated or corrupt bzip2"), std::string::npos);
}

TEST(TopologyTest, FormatRoundTrips) {
  auto topo = ParseTopology("1|2|-1\n2|3|0\n", "t");
  ASSERT_TRUE(topo);
  auto again = ParseTopology(FormatTopology(*topo, "generated"), "u");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->links, topo->links);
}

TEST(GraphTest, CsrSlicesAndOrder) {
  // 1 provider of 2 and 3; 2 peers 3; 3 provider of 4.
  auto topo = ParseTopology("1|2|-1\n1|3|-1\n2|3|0\n3|4|-1\n", "t");
  ASSERT_TRUE(topo);
  auto g = Graph::Build(*topo);
  ASSERT_TRUE(g) << g.error().detail;
  EXPECT_EQ(g->size(), 4);
  EXPECT_EQ(g->link_count(), 4u);
  NodeId n1 = *g->Find(1), n2 = *g->Find(2), n3 = *g->Find(3), n4 = *g->Find(4);
  EXPECT_FALSE(g->Find(5));
  EXPECT_EQ(g->customers(n1).size(), 2u);
  ASSERT_EQ(g->peers(n2).size(), 1u);
  EXPECT_EQ(g->peers(n2)[0], n3);
  ASSERT_EQ(g->providers(n4).size(), 1u);
  EXPECT_EQ(g->providers(n4)[0], n3);
  // Every node after its customers.
  std::vector<int> pos(4);
  for (size_t i = 0; i < g->up_order().size(); ++i)
    pos[static_cast<size_t>(g->up_order()[i])] = static_cast<int>(i);
  EXPECT_LT(pos[static_cast<size_t>(n4)], pos[static_cast<size_t>(n3)]);
  EXPECT_LT(pos[static_cast<size_t>(n3)], pos[static_cast<size_t>(n1)]);
}

TEST(GraphTest, ProviderCustomerCycleIsReported) {
  auto topo = ParseTopology("1|2|-1\n2|3|-1\n3|1|-1\n3|9|-1\n10|1|0\n", "t");
  ASSERT_TRUE(topo);
  auto g = Graph::Build(*topo);
  ASSERT_FALSE(g);
  EXPECT_NE(g.error().detail.find("provider-customer cycle: "), std::string::npos)
      << g.error().detail;
  for (const char* as : {"AS1", "AS2", "AS3"}) {
    EXPECT_NE(g.error().detail.find(as), std::string::npos) << g.error().detail;
  }
  EXPECT_EQ(g.error().detail.find("AS9"), std::string::npos) << g.error().detail;
}

TEST(GraphTest, PseudoAsHasOnlyItsOwnNeighbours) {
  auto topo = ParseTopology("1|2|-1\n1|3|-1\n", "t");
  ASSERT_TRUE(topo);
  std::vector<PseudoAs> pseudo{{"cloud-east", 2, {{3, Role::kProvider}, {1, Role::kPeer}}}};
  auto g = Graph::Build(*topo, pseudo);
  ASSERT_TRUE(g) << g.error().detail;
  NodeId p = *g->FindPseudo("cloud-east");
  EXPECT_TRUE(g->is_pseudo(p));
  EXPECT_EQ(g->asn(p), 2u);
  EXPECT_EQ(g->Label(p), "pseudo:cloud-east(AS2)");
  EXPECT_FALSE(g->is_pseudo(*g->Find(2)));  // AS2 by number is the real one
  ASSERT_EQ(g->providers(p).size(), 1u);
  EXPECT_EQ(g->asn(g->providers(p)[0]), 3u);
  ASSERT_EQ(g->peers(p).size(), 1u);

  std::vector<PseudoAs> unknown{{"x", 9, {{77, Role::kProvider}}}};
  auto bad = Graph::Build(*topo, unknown);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().detail.find("neighbour AS77 is not in the graph"), std::string::npos);
  // A pseudo-AS may close a cycle: still detected.
  std::vector<PseudoAs> cyc{{"c", 9, {{2, Role::kProvider}, {1, Role::kCustomer}}}};
  EXPECT_FALSE(Graph::Build(*topo, cyc));
}

}  // namespace
}  // namespace mpic::routesim

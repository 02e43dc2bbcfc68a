#include "routesim/perspectives.h"

#include <gtest/gtest.h>

namespace mpic::routesim {
namespace {

constexpr const char* kOwn = R"({
  "primary": "iad",
  "perspectives": [
    {"name": "iad", "rir": "arin", "lat": 39.04, "lon": -77.49, "asn": 1},
    {"name": "fra", "rir": "RIPE_NCC", "lat": 50.11, "lon": 8.68, "asn": 2,
     "neighbors": [{"asn": 1, "rel": "provider"}, {"asn": 3, "rel": "peer"}]}
  ]})";

TEST(PerspectivesTest, OwnFormatWithRealAndPseudoAses) {
  auto set = ParsePerspectives(kOwn, "p.json");
  ASSERT_TRUE(set) << set.error().detail;
  ASSERT_EQ(set->perspectives.size(), 2u);
  EXPECT_EQ(set->primary, 0);
  EXPECT_EQ(set->perspectives[1].identity.rir, quorum::Rir::kRipeNcc);
  auto pseudo = PseudoAsesOf(*set);
  ASSERT_EQ(pseudo.size(), 1u);
  EXPECT_EQ(pseudo[0].name, "fra");
  auto topo = ParseTopology("1|3|0\n", "t");
  auto graph = Graph::Build(*topo, pseudo);
  ASSERT_TRUE(graph) << graph.error().detail;
  auto nodes = ResolvePerspectives(*graph, *set);
  ASSERT_TRUE(nodes) << nodes.error().detail;
  EXPECT_EQ((*nodes)[0], *graph->Find(1));
  EXPECT_EQ((*nodes)[1], *graph->FindPseudo("fra"));
}

TEST(PerspectivesTest, UnknownAsnIsAnError) {
  auto set = ParsePerspectives(
      R"({"perspectives": [{"name": "x", "rir": "arin", "lat": 1, "lon": 2, "asn": 64512}]})", "p");
  ASSERT_TRUE(set);
  EXPECT_EQ(set->primary, -1);
  auto graph = Graph::Build(*ParseTopology("1|3|0\n", "t"));
  auto nodes = ResolvePerspectives(*graph, *set);
  ASSERT_FALSE(nodes);
  EXPECT_NE(nodes.error().detail.find("AS64512 is not in the graph"), std::string::npos);
}

TEST(PerspectivesTest, BadFilesSayWhatIsWrong) {
  struct Case {
    const char* json;
    const char* expect;
  } cases[] = {
      {"{", "p: not valid JSON"},
      {R"({"perspectives": []})", "p: no perspective"},
      {R"({"perspectives": [{"name": "x", "rir": "mars", "lat": 1, "lon": 2, "asn": 1}]})",
       "perspectives[0] (x)"},
      {R"({"perspectives": [{"name": "x", "rir": "arin", "lat": 91, "lon": 2, "asn": 1}]})",
       "perspective \"x\""},
      {R"({"perspectives": [{"name": "x", "rir": "arin", "lat": 1, "lon": 2}]})", "no \"asn\""},
      {R"({"perspectives": [{"name": "x", "rir": "arin", "lat": 1, "lon": 2, "asn": 1,
           "neighbors": [{"asn": 2, "rel": "sibling"}]}]})",
       "rel \"sibling\""},
      {R"({"primary": "y", "perspectives": [{"name": "x", "rir": "arin", "lat": 1, "lon": 2,
           "asn": 1}]})",
       "primary \"y\" is not one of"},
      {R"({"perspectives": [{"name": "x", "rir": "arin", "lat": 1, "lon": 2, "asn": 1},
           {"name": "x", "rir": "arin", "lat": 1, "lon": 2, "asn": 1}]})",
       "named twice"},
  };
  for (const Case& c : cases) {
    auto set = ParsePerspectives(c.json, "p");
    ASSERT_FALSE(set) << c.json;
    EXPECT_NE(set.error().detail.find(c.expect), std::string::npos)
        << set.error().detail << " / wanted " << c.expect;
  }
}

TEST(PerspectivesTest, PrimaryConfigPlusAsnMap) {
  // Protobuf JSON: lowerCamelCase or field names, enum names for the RIR.
  constexpr const char* kConfig = R"({
    "identity": {"name": "iad", "rir": "ARIN", "location": {"latitude": 39.04,
                                                          "longitude": -77.49}},
    "listen": "127.0.0.1:0",
    "remotes": [
      {"identity": {"name": "fra", "rir": "RIPE_NCC",
                    "location": {"latitude": 50.11, "longitude": 8.68}}, "address": "x:1"},
      {"identity": {"name": "sin", "rir": "APNIC",
                    "location": {"latitude": 1.35, "longitude": 103.8}}, "address": "x:2"}],
    "policy": {"effectiveDate": "2026-06-15"}})";
  auto set = ParsePrimaryConfig(
      kConfig, "primary.json",
      R"({"iad": 1, "fra": {"asn": 2, "neighbors": [{"asn": 1, "rel": "provider"}]}, "sin": 3})",
      "map.json");
  ASSERT_TRUE(set) << set.error().detail;
  EXPECT_EQ(set->primary, 0);
  ASSERT_EQ(set->perspectives.size(), 3u);
  EXPECT_EQ(set->perspectives[2].identity.rir, quorum::Rir::kApnic);
  EXPECT_EQ(set->perspectives[2].asn, 3u);
  EXPECT_EQ(set->perspectives[1].neighbors.size(), 1u);
  EXPECT_EQ(set->policy_text, "br:2026-06-15");

  auto missing = ParsePrimaryConfig(kConfig, "primary.json", R"({"iad": 1})", "map.json");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().detail.find("map.json: no ASN for perspective \"fra\""),
            std::string::npos);
  auto research = ParsePrimaryConfig(
      R"({"identity": {"name": "a", "rir": "ARIN", "location": {"latitude": 1, "longitude": 1}},
          "remotes": [], "policy": {"research_k": 3, "research_n": 4, "researchMinRirs": 2,
          "research_primary_optional": true, "research_not_br_compliant": true}})",
      "c", R"({"a": 5})", "m");
  ASSERT_TRUE(research) << research.error().detail;
  EXPECT_EQ(research->policy_text, "k-of-n:3/4,rirs=2,primary-optional");
}

TEST(PerspectivesTest, PolicyFlag) {
  auto br = ParsePolicy("br:2026-06-15");
  ASSERT_TRUE(br);
  EXPECT_EQ(br->min_remotes(), 4);
  auto kofn = ParsePolicy("k-of-n:3/5,rirs=2,primary-optional");
  ASSERT_TRUE(kofn);
  EXPECT_EQ(kofn->k(), 3);
  EXPECT_FALSE(kofn->primary_required());
  for (const char* bad : {"br:2026-13-01", "k-of-n:6/5", "k-of-n:3", "quorum", "k-of-n:1/2,x"}) {
    EXPECT_FALSE(ParsePolicy(bad)) << bad;
  }
}

}  // namespace
}  // namespace mpic::routesim

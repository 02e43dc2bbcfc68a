#include "tools/deploy_command.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace mpic::tools::deploy {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

json Identity(const std::string& name, const std::string& rir, double lat, double lon) {
  return {{"name", name}, {"rir", rir}, {"location", {{"latitude", lat}, {"longitude", lon}}}};
}

json Remote(const std::string& site, json identity) {
  return {{"site", site},
          {"identity", std::move(identity)},
          {"endpoint", "va-remote." + site + ".example.net:443"}};
}

// Five remotes over all five RIRs, every pair (primary included) far more than 500 km apart;
// the 2026-12-15 phase needs five remotes spanning two RIRs.
json GoodFleet() {
  return {{"image", "registry.example.net/mpic:1.2.3"},
          {"namespace", "mpic"},
          {"primary",
           {{"site", "us-east"},
            {"identity", Identity("us-east-1", "ARIN", 38.9, -77.0)},
            {"policy", {{"effective_date", "2026-12-15"}}},
            {"authorized_clients", {"ca-client"}},
            {"egress_cidrs", {"198.51.100.0/28"}}}},
          {"remotes",
           {Remote("eu-fra", Identity("eu-fra-1", "RIPE_NCC", 50.11, 8.68)),
            Remote("us-west", Identity("us-west-1", "ARIN", 45.52, -122.68)),
            Remote("ap-sin", Identity("ap-sin-1", "APNIC", 1.35, 103.82)),
            Remote("sa-gru", Identity("sa-gru-1", "LACNIC", -23.55, -46.63)),
            Remote("af-jnb", Identity("af-jnb-1", "AFRINIC", -26.2, 28.05))}}};
}

TEST(RenderFleet, GoodFleetGivesOneOverlayPerSite) {
  auto files = RenderFleet(GoodFleet().dump());
  ASSERT_TRUE(files) << files.error().detail;
  EXPECT_TRUE(files->contains("us-east/kustomization.yaml"));
  EXPECT_TRUE(files->contains("us-east/va-primary.json"));
  EXPECT_TRUE(files->contains("af-jnb/va-remote.json"));
  EXPECT_TRUE(files->contains("af-jnb/networkpolicy-patch.yaml"));
  EXPECT_EQ(files->size(), 2u + 5u * 3u);

  // The primary's config names every remote's endpoint and asks them all (no secret needed).
  json primary = json::parse(files->at("us-east/va-primary.json"));
  ASSERT_EQ(primary["remotes"].size(), 5u);
  EXPECT_EQ(primary["remotes"][0]["address"], "va-remote.eu-fra.example.net:443");
  EXPECT_EQ(primary["remotes_per_validation"], 5);
  EXPECT_EQ(primary["audit_log"], "/var/lib/mpic/audit/audit.jsonl");
  json remote = json::parse(files->at("sa-gru/va-remote.json"));
  EXPECT_EQ(remote["identity"]["rir"], "LACNIC");
  EXPECT_EQ(remote["tls"]["cert_file"], "/etc/mpic/tls/tls.crt");
  // Authorization by identity (issue 15, defect 5): the remote admits only the primary's client
  // certificate, the primary only the CA clients named in the fleet file.
  EXPECT_EQ(remote["authorized_primaries"], json::array({"us-east-1"}));
  EXPECT_EQ(primary["authorized_clients"], json::array({"ca-client"}));

  const std::string& k = files->at("eu-fra/kustomization.yaml");
  EXPECT_THAT(k, HasSubstr("../../base/va-remote"));
  EXPECT_THAT(k, HasSubstr("newTag: \"1.2.3\""));
  EXPECT_THAT(files->at("eu-fra/networkpolicy-patch.yaml"), HasSubstr("198.51.100.0/28"));
}

TEST(RenderFleet, RefusesRemotesCloserThan500Km) {
  json fleet = GoodFleet();
  // Mainz is about 35 km from Frankfurt.
  fleet["remotes"][1] = Remote("eu-mainz", Identity("eu-mainz-1", "RIPE_NCC", 49.99, 8.25));
  auto files = RenderFleet(fleet.dump());
  ASSERT_FALSE(files);
  EXPECT_THAT(files.error().detail, HasSubstr("500"));
}

TEST(RenderFleet, RefusesTooFewRemotesForThePhase) {
  json fleet = GoodFleet();
  fleet["remotes"].erase(4);
  auto files = RenderFleet(fleet.dump());
  ASSERT_FALSE(files);
  EXPECT_THAT(files.error().detail, HasSubstr("remote"));
}

TEST(RenderFleet, RefusesASingleRir) {
  json fleet = GoodFleet();
  for (auto& r : fleet["remotes"]) r["identity"]["rir"] = "ARIN";
  auto files = RenderFleet(fleet.dump());
  ASSERT_FALSE(files);
  EXPECT_THAT(files.error().detail, HasSubstr("RIR"));
}

TEST(RenderFleet, RefusesLatestUnknownKeysAndDuplicateSites) {
  json latest = GoodFleet();
  latest["image"] = "registry.example.net/mpic:latest";
  EXPECT_FALSE(RenderFleet(latest.dump()));
  json untagged = GoodFleet();
  untagged["image"] = "registry.example.net:5000/mpic";
  EXPECT_FALSE(RenderFleet(untagged.dump()));
  json unknown = GoodFleet();
  unknown["primary"]["remote_timout_ms"] = 100;
  auto u = RenderFleet(unknown.dump());
  ASSERT_FALSE(u);
  EXPECT_THAT(u.error().detail, HasSubstr("remote_timout_ms"));
  json duplicate = GoodFleet();
  duplicate["remotes"][1]["site"] = "eu-fra";
  EXPECT_FALSE(RenderFleet(duplicate.dump()));
  EXPECT_FALSE(RenderFleet("not json"));
  EXPECT_FALSE(RenderFleet("[]"));
}

TEST(RenderFleet, RefusesACohortThatWouldNeedAnInlineSecret) {
  json fleet = GoodFleet();
  fleet["primary"]["policy"] = {{"effective_date", "2026-03-15"}};  // three remotes needed
  fleet["primary"]["remotes_per_validation"] = 3;                   // of five: a selection
  auto files = RenderFleet(fleet.dump());
  ASSERT_FALSE(files);
  EXPECT_THAT(files.error().detail, HasSubstr("selection_secret"));
}

TEST(RenderFleet, RefusesMissingEgressCidrs) {
  json fleet = GoodFleet();
  fleet["primary"].erase("egress_cidrs");
  auto files = RenderFleet(fleet.dump());
  ASSERT_FALSE(files);
  EXPECT_THAT(files.error().detail, HasSubstr("egress_cidrs"));
}

}  // namespace
}  // namespace mpic::tools::deploy

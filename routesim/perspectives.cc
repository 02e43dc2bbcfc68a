#include "routesim/perspectives.h"

#include <charconv>
#include <nlohmann/json.hpp>

#include "quorum/geo.h"

namespace mpic::routesim {
namespace {

using nlohmann::json;

Result<json> ParseJson(std::string_view text, std::string_view name) {
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    return Fail(ProblemType::kMalformed, std::string(name) + ": not valid JSON");
  }
  if (!doc.is_object()) {
    return Fail(ProblemType::kMalformed, std::string(name) + ": expected a JSON object");
  }
  return doc;
}

// Protobuf's JSON mapping accepts both the field name and its lowerCamelCase form.
const json* Field(const json& obj, const char* snake, const char* camel) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(snake);
  if (it != obj.end()) return &*it;
  it = obj.find(camel);
  return it != obj.end() ? &*it : nullptr;
}

Result<Asn> AsnOf(const json& value, const std::string& where) {
  if (!value.is_number_unsigned() || value.get<uint64_t>() == 0 ||
      value.get<uint64_t>() > 0xFFFFFFFFull) {
    return Fail(ProblemType::kMalformed, where + ": \"asn\" must be a number 1..4294967295");
  }
  return static_cast<Asn>(value.get<uint64_t>());
}

Status ReadPlacementInGraph(const json& obj, const std::string& where, PerspectiveSpec* spec) {
  const json* asn = Field(obj, "asn", "asn");
  if (asn == nullptr) return Fail(ProblemType::kMalformed, where + ": no \"asn\"");
  auto value = AsnOf(*asn, where);
  if (!value) return Fail(value.error());
  spec->asn = *value;
  const json* neighbors = Field(obj, "neighbors", "neighbors");
  if (neighbors == nullptr) return {};
  if (!neighbors->is_array() || neighbors->empty()) {
    return Fail(ProblemType::kMalformed, where + ": \"neighbors\" must be a non-empty array");
  }
  for (const json& n : *neighbors) {
    const json* nasn = Field(n, "asn", "asn");
    const json* rel = Field(n, "rel", "rel");
    if (nasn == nullptr || rel == nullptr || !rel->is_string()) {
      return Fail(ProblemType::kMalformed,
                  where + ": each neighbour needs \"asn\" and \"rel\" (provider, peer, customer)");
    }
    auto a = AsnOf(*nasn, where + " neighbour");
    if (!a) return Fail(a.error());
    std::string r = rel->get<std::string>();
    Role role;
    if (r == "provider") {
      role = Role::kProvider;
    } else if (r == "peer") {
      role = Role::kPeer;
    } else if (r == "customer") {
      role = Role::kCustomer;
    } else {
      return Fail(ProblemType::kMalformed,
                  where + ": neighbour rel \"" + r + "\" (expected provider, peer or customer)");
    }
    spec->neighbors.push_back(PseudoAs::Neighbor{*a, role});
  }
  return {};
}

Result<quorum::Rir> RirOf(const json& value, const std::string& where) {
  if (!value.is_string())
    return Fail(ProblemType::kMalformed, where + ": \"rir\" must be a string");
  std::string text = value.get<std::string>();
  for (char& c : text) {
    if (c == '_') c = ' ';  // the proto enum spelling RIPE_NCC
  }
  auto rir = quorum::ParseRir(text);
  if (!rir) return Fail(ProblemType::kMalformed, where + ": " + rir.error().detail);
  return *rir;
}

Status CheckUnique(const PerspectiveSet& set, std::string_view name) {
  for (size_t i = 0; i < set.perspectives.size(); ++i) {
    const auto& p = set.perspectives[i].identity;
    if (p.name.empty()) {
      return Fail(ProblemType::kMalformed, std::string(name) + ": a perspective has no name");
    }
    if (auto ok = quorum::ValidateLocation(p.location); !ok) {
      return Fail(ProblemType::kMalformed,
                  std::string(name) + ": perspective \"" + p.name + "\": " + ok.error().detail);
    }
    for (size_t j = 0; j < i; ++j) {
      if (set.perspectives[j].identity.name == p.name) {
        return Fail(ProblemType::kMalformed,
                    std::string(name) + ": perspective \"" + p.name + "\" named twice");
      }
    }
  }
  if (set.perspectives.empty()) {
    return Fail(ProblemType::kMalformed, std::string(name) + ": no perspective");
  }
  if (set.perspectives.size() > 64) {
    return Fail(ProblemType::kMalformed, std::string(name) + ": more than 64 perspectives");
  }
  return {};
}

Result<quorum::Perspective> IdentityOf(const json& id, const std::string& where) {
  quorum::Perspective p;
  const json* name = Field(id, "name", "name");
  if (name == nullptr || !name->is_string()) {
    return Fail(ProblemType::kMalformed, where + ": identity needs a \"name\"");
  }
  p.name = name->get<std::string>();
  const json* rir = Field(id, "rir", "rir");
  if (rir == nullptr) return Fail(ProblemType::kMalformed, where + ": no \"rir\"");
  auto r = RirOf(*rir, where + " (" + p.name + ")");
  if (!r) return Fail(r.error());
  p.rir = *r;
  const json* loc = Field(id, "location", "location");
  const json* lat = loc != nullptr ? Field(*loc, "latitude", "latitude") : Field(id, "lat", "lat");
  const json* lon =
      loc != nullptr ? Field(*loc, "longitude", "longitude") : Field(id, "lon", "lon");
  if (lat == nullptr || lon == nullptr || !lat->is_number() || !lon->is_number()) {
    return Fail(ProblemType::kMalformed, where + " (" + p.name + "): needs numeric coordinates");
  }
  p.location = quorum::Location{lat->get<double>(), lon->get<double>()};
  return p;
}

}  // namespace

Result<PerspectiveSet> ParsePerspectives(std::string_view text, std::string_view name) {
  auto doc = ParseJson(text, name);
  if (!doc) return Fail(doc.error());
  const json* list = Field(*doc, "perspectives", "perspectives");
  if (list == nullptr || !list->is_array()) {
    return Fail(ProblemType::kMalformed, std::string(name) + ": needs a \"perspectives\" array");
  }
  PerspectiveSet set;
  for (size_t i = 0; i < list->size(); ++i) {
    std::string where = std::string(name) + ": perspectives[" + std::to_string(i) + "]";
    auto id = IdentityOf((*list)[i], where);
    if (!id) return Fail(id.error());
    PerspectiveSpec spec;
    spec.identity = *id;
    if (auto ok = ReadPlacementInGraph((*list)[i], where + " (" + id->name + ")", &spec); !ok) {
      return Fail(ok.error());
    }
    set.perspectives.push_back(std::move(spec));
  }
  if (auto ok = CheckUnique(set, name); !ok) return Fail(ok.error());
  if (const json* primary = Field(*doc, "primary", "primary"); primary != nullptr) {
    if (!primary->is_string()) {
      return Fail(ProblemType::kMalformed, std::string(name) + ": \"primary\" must be a name");
    }
    for (size_t i = 0; i < set.perspectives.size(); ++i) {
      if (set.perspectives[i].identity.name == primary->get<std::string>()) {
        set.primary = static_cast<int>(i);
      }
    }
    if (set.primary < 0) {
      return Fail(ProblemType::kMalformed, std::string(name) + ": primary \"" +
                                               primary->get<std::string>() +
                                               "\" is not one of the perspectives");
    }
  }
  return set;
}

Result<PerspectiveSet> ParsePrimaryConfig(std::string_view config_json,
                                          std::string_view config_name,
                                          std::string_view asn_map_json,
                                          std::string_view asn_map_name) {
  auto config = ParseJson(config_json, config_name);
  if (!config) return Fail(config.error());
  auto map = ParseJson(asn_map_json, asn_map_name);
  if (!map) return Fail(map.error());
  const std::string cname(config_name);
  std::vector<quorum::Perspective> ids;
  const json* identity = Field(*config, "identity", "identity");
  if (identity == nullptr) {
    return Fail(ProblemType::kMalformed,
                cname + ": no \"identity\" (is this a va-primary config?)");
  }
  auto primary = IdentityOf(*identity, cname + ": identity");
  if (!primary) return Fail(primary.error());
  ids.push_back(*primary);
  const json* remotes = Field(*config, "remotes", "remotes");
  if (remotes == nullptr || !remotes->is_array()) {
    return Fail(ProblemType::kMalformed, cname + ": needs a \"remotes\" array");
  }
  for (size_t i = 0; i < remotes->size(); ++i) {
    const json* rid = Field((*remotes)[i], "identity", "identity");
    std::string where = cname + ": remotes[" + std::to_string(i) + "]";
    if (rid == nullptr) return Fail(ProblemType::kMalformed, where + ": no \"identity\"");
    auto id = IdentityOf(*rid, where + ".identity");
    if (!id) return Fail(id.error());
    ids.push_back(*id);
  }
  PerspectiveSet set;
  set.primary = 0;
  for (const quorum::Perspective& id : ids) {
    PerspectiveSpec spec;
    spec.identity = id;
    auto it = map->find(id.name);
    std::string where = std::string(asn_map_name) + ": \"" + id.name + "\"";
    if (it == map->end()) {
      return Fail(ProblemType::kMalformed,
                  std::string(asn_map_name) + ": no ASN for perspective \"" + id.name + "\"");
    }
    if (it->is_object()) {
      if (auto ok = ReadPlacementInGraph(*it, where, &spec); !ok) return Fail(ok.error());
    } else {
      auto asn = AsnOf(*it, where);
      if (!asn) return Fail(asn.error());
      spec.asn = *asn;
    }
    set.perspectives.push_back(std::move(spec));
  }
  if (auto ok = CheckUnique(set, config_name); !ok) return Fail(ok.error());
  if (const json* policy = Field(*config, "policy", "policy"); policy != nullptr) {
    const json* k = Field(*policy, "research_k", "researchK");
    if (k != nullptr && k->is_number_unsigned() && k->get<uint64_t>() > 0) {
      const json* n = Field(*policy, "research_n", "researchN");
      const json* rirs = Field(*policy, "research_min_rirs", "researchMinRirs");
      const json* optional = Field(*policy, "research_primary_optional", "researchPrimaryOptional");
      set.policy_text =
          "k-of-n:" + std::to_string(k->get<uint64_t>()) + "/" +
          std::to_string(n != nullptr && n->is_number_unsigned() ? n->get<uint64_t>() : 0);
      if (rirs != nullptr && rirs->is_number_unsigned()) {
        set.policy_text += ",rirs=" + std::to_string(rirs->get<uint64_t>());
      }
      if (optional != nullptr && optional->is_boolean() && optional->get<bool>()) {
        set.policy_text += ",primary-optional";
      }
    } else if (const json* date = Field(*policy, "effective_date", "effectiveDate");
               date != nullptr && date->is_string()) {
      set.policy_text = "br:" + date->get<std::string>();
    }
  }
  return set;
}

std::vector<PseudoAs> PseudoAsesOf(const PerspectiveSet& set) {
  std::vector<PseudoAs> out;
  for (const PerspectiveSpec& p : set.perspectives) {
    if (p.neighbors.empty()) continue;
    out.push_back(PseudoAs{p.identity.name, p.asn, p.neighbors});
  }
  return out;
}

Result<std::vector<NodeId>> ResolvePerspectives(const Graph& graph, const PerspectiveSet& set) {
  std::vector<NodeId> nodes;
  for (const PerspectiveSpec& p : set.perspectives) {
    std::optional<NodeId> node =
        p.neighbors.empty() ? graph.Find(p.asn) : graph.FindPseudo(p.identity.name);
    if (!node) {
      return Fail(ProblemType::kMalformed, "perspective \"" + p.identity.name + "\": AS" +
                                               std::to_string(p.asn) + " is not in the graph");
    }
    nodes.push_back(*node);
  }
  return nodes;
}

Result<quorum::Policy> ParsePolicy(std::string_view text) {
  auto bad = [&text](const std::string& why) {
    return Fail(ProblemType::kMalformed,
                "bad policy \"" + std::string(text) + "\": " + why +
                    " (expected br:YYYY-MM-DD or k-of-n:K/N[,rirs=R][,primary-optional])");
  };
  if (text.starts_with("br:")) {
    auto date = quorum::ParseDate(text.substr(3));
    if (!date) return bad(date.error().detail);
    auto policy = quorum::Policy::BaselineRequirements(*date);
    if (!policy) return bad(policy.error().detail);
    return *policy;
  }
  if (!text.starts_with("k-of-n:")) return bad("unknown kind");
  std::string_view rest = text.substr(7);
  std::vector<std::string_view> parts;
  for (size_t start = 0;;) {
    size_t comma = rest.find(',', start);
    parts.push_back(rest.substr(start, comma == std::string_view::npos ? comma : comma - start));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  auto number = [](std::string_view s, int* out) {
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
    return !s.empty() && ec == std::errc() && ptr == s.data() + s.size();
  };
  size_t slash = parts[0].find('/');
  int k = 0;
  int n = 0;
  if (slash == std::string_view::npos || !number(parts[0].substr(0, slash), &k) ||
      !number(parts[0].substr(slash + 1), &n)) {
    return bad("K/N must be two numbers");
  }
  int rirs = 0;
  bool primary_required = true;
  for (size_t i = 1; i < parts.size(); ++i) {
    if (parts[i] == "primary-optional") {
      primary_required = false;
    } else if (parts[i].starts_with("rirs=") && number(parts[i].substr(5), &rirs)) {
    } else {
      return bad("unknown option \"" + std::string(parts[i]) + "\"");
    }
  }
  auto policy = quorum::Policy::KOfN(k, n, rirs, primary_required);
  if (!policy) return bad(policy.error().detail);
  return *policy;
}

}  // namespace mpic::routesim

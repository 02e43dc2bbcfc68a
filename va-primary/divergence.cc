#include "va-primary/divergence.h"

#include <algorithm>
#include <functional>
#include <optional>

namespace mpic::va_primary {
namespace {

// A value as compared (exact: the sorted, de-duplicated set or the scalar) and as displayed.
struct Value {
  std::vector<std::string> key;
  std::string display;
};

Value SetValue(const google::protobuf::RepeatedPtrField<std::string>& field) {
  std::vector<std::string> values(field.begin(), field.end());
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());
  Value v;
  v.display = JoinValueSet(values);
  v.key = std::move(values);
  return v;
}

Value ScalarValue(const std::string& value) { return Value{{value}, value}; }

// The DNSSEC status of every lookup, as a set of "NAME TYPE: STATUS" ("none" when the lookup
// got no validation status): one perspective seeing "bogus" or "insecure" where the others see
// "secure" is a split view even when the records agree.
Value DnssecValue(const v1::Evidence& evidence) {
  google::protobuf::RepeatedPtrField<std::string> statuses;
  for (const v1::DnsLookup& lookup : evidence.lookups()) {
    statuses.Add(lookup.name() + " " + lookup.type() + ": " +
                 (lookup.dnssec().empty() ? std::string("none") : lookup.dnssec()));
  }
  return SetValue(statuses);
}

using Extract = std::function<std::optional<Value>(const v1::PerspectiveResult&)>;

struct Field {
  const char* name;
  Extract extract;
};

const std::vector<Field>& Fields() {
  static const std::vector<Field> fields = {
      {"dcv.addresses_resolved",
       [](const v1::PerspectiveResult& p) -> std::optional<Value> {
         if (!p.has_dcv()) return std::nullopt;
         return SetValue(p.dcv().evidence().addresses_resolved());
       }},
      {"dcv.txt_values",
       [](const v1::PerspectiveResult& p) -> std::optional<Value> {
         if (!p.has_dcv()) return std::nullopt;
         return SetValue(p.dcv().evidence().txt_values());
       }},
      {"dcv.http_body",
       [](const v1::PerspectiveResult& p) -> std::optional<Value> {
         if (!p.has_dcv()) return std::nullopt;
         return ScalarValue(p.dcv().evidence().http_body());
       }},
      {"dcv.matched_value",  // the BR methods beyond ACME: what matched the challenge value
       [](const v1::PerspectiveResult& p) -> std::optional<Value> {
         if (!p.has_dcv()) return std::nullopt;
         return ScalarValue(p.dcv().evidence().matched_value());
       }},
      // TLS-ALPN-01 checks the certificate's acmeIdentifier extension and its one SAN, not
      // the whole certificate: a responder may mint a fresh certificate per handshake, so the
      // fingerprint (cert_sha256) differs between perspectives without anything being wrong.
      {"dcv.cert_sans",
       [](const v1::PerspectiveResult& p) -> std::optional<Value> {
         if (!p.has_dcv()) return std::nullopt;
         return SetValue(p.dcv().evidence().cert_sans());
       }},
      {"dcv.acme_identifier_hex",
       [](const v1::PerspectiveResult& p) -> std::optional<Value> {
         if (!p.has_dcv()) return std::nullopt;
         return ScalarValue(p.dcv().evidence().acme_identifier_hex());
       }},
      {"dcv.dnssec",
       [](const v1::PerspectiveResult& p) -> std::optional<Value> {
         if (!p.has_dcv()) return std::nullopt;
         return DnssecValue(p.dcv().evidence());
       }},
      {"caa.caa_name",
       [](const v1::PerspectiveResult& p) -> std::optional<Value> {
         if (!p.has_caa()) return std::nullopt;
         return ScalarValue(p.caa().evidence().caa_name());
       }},
      {"caa.caa_records",
       [](const v1::PerspectiveResult& p) -> std::optional<Value> {
         if (!p.has_caa()) return std::nullopt;
         return SetValue(p.caa().evidence().caa_records());
       }},
      {"caa.dnssec",
       [](const v1::PerspectiveResult& p) -> std::optional<Value> {
         if (!p.has_caa()) return std::nullopt;
         return DnssecValue(p.caa().evidence());
       }},
  };
  return fields;
}

}  // namespace

std::string JoinValueSet(std::vector<std::string> values) {
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());
  std::string out;
  for (const std::string& v : values) {
    if (!out.empty()) out += ", ";
    out += v;
  }
  return out;
}

std::vector<v1::Divergence> ComputeDivergences(
    std::span<const v1::PerspectiveResult* const> perspectives) {
  std::vector<v1::Divergence> out;
  for (const Field& field : Fields()) {
    struct Group {
      Value value;
      std::vector<std::string> names;
    };
    std::vector<Group> groups;  // a handful of perspectives: linear search is fine
    for (const v1::PerspectiveResult* p : perspectives) {
      if (p == nullptr) continue;
      std::optional<Value> value = field.extract(*p);
      if (!value) continue;
      auto it = std::find_if(groups.begin(), groups.end(),
                             [&](const Group& g) { return g.value.key == value->key; });
      if (it == groups.end()) {
        groups.push_back(Group{std::move(*value), {p->perspective().name()}});
      } else {
        it->names.push_back(p->perspective().name());
      }
    }
    if (groups.size() < 2) continue;
    v1::Divergence divergence;
    divergence.set_field(field.name);
    for (Group& g : groups) {
      v1::Divergence::Value* v = divergence.add_values();
      v->set_value(std::move(g.value.display));
      for (std::string& name : g.names) v->add_perspectives(std::move(name));
    }
    out.push_back(std::move(divergence));
  }
  return out;
}

}  // namespace mpic::va_primary

#include "perspective/config.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "checks/address_policy.h"
#include "resolver/cares_resolver.h"
#include "resolver/unbound_resolver.h"

namespace mpic::perspective {
namespace {

std::string Join(std::string_view a, std::string_view b) {
  if (a.empty()) return std::string(b);
  return std::string(a) + "." + std::string(b);
}

tl::unexpected<Error> Bad(std::string_view field, std::string detail) {
  return Fail(ProblemType::kMalformed, std::string(field) + ": " + detail);
}

// Where the first JSON syntax error in `json` is, as "LINE:COLUMN" (1-based, the column in
// bytes), or "" for well-formed JSON (then the error is about fields, which protobuf names).
// protobuf's JSON parser reports neither, so the text is read again with nlohmann's SAX parser,
// which stops at the error without throwing.
std::string JsonSyntaxErrorPosition(std::string_view json) {
  using Json = nlohmann::json;
  struct Finder : nlohmann::json_sax<Json> {
    bool null() override { return true; }
    bool boolean(bool) override { return true; }
    bool number_integer(Json::number_integer_t) override { return true; }
    bool number_unsigned(Json::number_unsigned_t) override { return true; }
    bool number_float(Json::number_float_t, const Json::string_t&) override { return true; }
    bool string(Json::string_t&) override { return true; }
    bool binary(Json::binary_t&) override { return true; }
    bool start_object(std::size_t) override { return true; }
    bool key(Json::string_t&) override { return true; }
    bool end_object() override { return true; }
    bool start_array(std::size_t) override { return true; }
    bool end_array() override { return true; }
    bool parse_error(std::size_t position, const std::string&,
                     const nlohmann::detail::exception&) override {
      failed = true;
      read = position;  // bytes read, the whole offending token included (the end counts 1)
      return false;
    }
    bool failed = false;
    std::size_t read = 0;
  } finder;
  Json::sax_parse(json.begin(), json.end(), &finder);
  if (!finder.failed) return "";
  // Point at the start of the offending token: back from its last byte over a string or a
  // word (number, literal); at the end of the text when that came too early.
  std::size_t at = json.size();
  if (finder.read > 0 && finder.read <= json.size()) {
    at = finder.read - 1;
    auto word = [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '+' || c == '-';
    };
    if (json[at] == '"') {
      for (std::size_t i = at; i-- > 0;) {
        if (json[i] != '"') continue;
        std::size_t backslashes = 0;  // each run is counted once: linear time
        while (backslashes < i && json[i - 1 - backslashes] == '\\') ++backslashes;
        if (backslashes % 2 == 0) {
          at = i;
          break;
        }
      }
    } else {
      while (at > 0 && word(json[at]) && word(json[at - 1])) --at;
    }
  }
  std::size_t line = 1;
  std::size_t line_start = 0;
  for (std::size_t i = 0; i < at; ++i) {
    if (json[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  return std::to_string(line) + ":" + std::to_string(at - line_start + 1);
}

template <typename Message>
Result<Message> ParseJson(std::string_view json, std::string_view origin) {
  Message message;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;  // a misspelt field must not silently mean "default"
  auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), &message, options);
  if (!status.ok()) {
    // "path:LINE:COLUMN: ..." for a syntax error, as compilers and editors print positions.
    std::string where(origin);
    if (std::string position = JsonSyntaxErrorPosition(json); !position.empty()) {
      where += ":" + position + ": JSON syntax error";
    }
    return Fail(ProblemType::kMalformed,
                where + ": " + std::string(status.message().data(), status.message().size()));
  }
  return message;
}

template <typename Message>
Result<Message> LoadJson(const std::string& path) {
  auto text = ReadSmallFile(path);
  if (!text) return Fail(text.error());
  return ParseJson<Message>(*text, path);
}

struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Deleter {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;
using X509Ptr = std::unique_ptr<X509, X509Deleter>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

BioPtr MemBio(const std::string& pem) {
  return BioPtr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

X509Ptr FirstCert(const std::string& pem) {
  auto bio = MemBio(pem);
  if (!bio) return nullptr;
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  return cert;
}

}  // namespace

Result<TlsPems> LoadTlsFiles(const v1::TlsFiles& tls, std::string_view field) {
  TlsPems pems;
  struct Item {
    const std::string& path;
    std::string_view name;
    std::string* out;
  };
  for (const Item& item :
       {Item{tls.ca_file(), "ca_file", &pems.ca}, Item{tls.cert_file(), "cert_file", &pems.cert},
        Item{tls.key_file(), "key_file", &pems.key}}) {
    if (item.path.empty()) return Bad(Join(field, item.name), "required (mutual TLS)");
    auto text = ReadSmallFile(item.path);
    if (!text) return Bad(Join(field, item.name), text.error().detail);
    *item.out = std::move(*text);
  }
  if (!FirstCert(pems.ca)) {
    return Bad(Join(field, "ca_file"), tls.ca_file() + ": no PEM certificate");
  }
  X509Ptr cert = FirstCert(pems.cert);
  if (!cert) return Bad(Join(field, "cert_file"), tls.cert_file() + ": no PEM certificate");
  auto bio = MemBio(pems.key);
  PkeyPtr key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  ERR_clear_error();
  if (!key) {
    return Bad(Join(field, "key_file"), tls.key_file() + ": no (unencrypted) PEM private key");
  }
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    ERR_clear_error();
    return Bad(Join(field, "key_file"),
               tls.key_file() + " does not match the certificate in " + tls.cert_file());
  }
  return pems;
}

bool IsLabMode(const v1::LabSettings& lab) { return lab.allow_cidrs_size() > 0; }

Result<std::string> ReadSmallFile(const std::string& path, size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Fail(ProblemType::kMalformed, path + ": cannot open for reading");
  std::string data;
  char buf[8192];
  while (in) {
    in.read(buf, sizeof buf);
    data.append(buf, static_cast<size_t>(in.gcount()));
    if (data.size() > max_bytes) {
      return Fail(ProblemType::kMalformed,
                  path + ": larger than " + std::to_string(max_bytes) + " bytes");
    }
  }
  if (in.bad()) return Fail(ProblemType::kMalformed, path + ": read error");
  return data;
}

Result<v1::RemoteConfig> ParseRemoteConfig(std::string_view json, std::string_view origin) {
  return ParseJson<v1::RemoteConfig>(json, origin);
}

Result<v1::PrimaryConfig> ParsePrimaryConfig(std::string_view json, std::string_view origin) {
  return ParseJson<v1::PrimaryConfig>(json, origin);
}

Result<v1::RemoteConfig> LoadRemoteConfig(const std::string& path) {
  return LoadJson<v1::RemoteConfig>(path);
}

Result<v1::PrimaryConfig> LoadPrimaryConfig(const std::string& path) {
  return LoadJson<v1::PrimaryConfig>(path);
}

Status ValidateIdentity(const v1::PerspectiveIdentity& identity, std::string_view field) {
  const std::string& name = identity.name();
  if (name.empty()) return Bad(Join(field, "name"), "required");
  if (name.size() > 64) return Bad(Join(field, "name"), "longer than 64 characters");
  for (char c : name) {
    if (c <= ' ' || c >= 0x7f) {
      return Bad(Join(field, "name"), "\"" + name + "\" has a space or non-ASCII character");
    }
  }
  if (identity.rir() == v1::RIR_UNSPECIFIED || !v1::Rir_IsValid(identity.rir())) {
    return Bad(Join(field, "rir"), "required (ARIN, RIPE_NCC, APNIC, LACNIC, AFRINIC)");
  }
  if (!identity.has_location()) {
    return Bad(Join(field, "location"), "required (latitude, longitude)");
  }
  double lat = identity.location().latitude();
  double lon = identity.location().longitude();
  if (!std::isfinite(lat) || lat < -90 || lat > 90) {
    return Bad(Join(field, "location.latitude"), std::to_string(lat) + " is not in -90..90");
  }
  if (!std::isfinite(lon) || lon < -180 || lon > 180) {
    return Bad(Join(field, "location.longitude"), std::to_string(lon) + " is not in -180..180");
  }
  return {};
}

Status ValidateListenAddress(std::string_view address, std::string_view field) {
  auto bad = [&](std::string why) {
    return Bad(field, "\"" + std::string(address) + "\" " + why +
                          " (want IP:PORT or [IPv6]:PORT, e.g. 127.0.0.1:0)");
  };
  if (address.empty()) return bad("is empty");
  std::string_view host;
  std::string_view port;
  if (address.front() == '[') {
    auto close = address.find("]:");
    if (close == std::string_view::npos) return bad("has no ]:PORT");
    host = address.substr(1, close - 1);
    port = address.substr(close + 2);
  } else {
    auto colon = address.rfind(':');
    if (colon == std::string_view::npos) return bad("has no port");
    host = address.substr(0, colon);
    port = address.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return bad("needs brackets around IPv6");
  }
  boost::system::error_code ec;
  auto ip = asio::ip::make_address(std::string(host), ec);
  if (ec) return bad("has no IP literal host");
  if (address.front() == '[' && !ip.is_v6()) return bad("has an IPv4 address in brackets");
  if (port.empty() || port.size() > 5) return bad("has a bad port");
  unsigned value = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return bad("has a bad port");
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value > 65535) return bad("has a port above 65535");
  return {};
}

Status ValidateTlsFiles(const v1::TlsFiles& tls, std::string_view field) {
  auto pems = LoadTlsFiles(tls, field);
  if (!pems) return Fail(pems.error());
  return {};
}

namespace {

// The only ranges a lab may open (issue 15, defect 6): loopback and the documentation ranges
// (RFC 5735/5737, RFC 3849, RFC 4291), and — with allow_private_ranges — the private ranges
// (RFC 1918, RFC 6598, RFC 4193) netsim's bridges use inside their own network namespaces.
// Anything else (0.0.0.0/0, link-local with the cloud metadata address, multicast, public
// space) can never be opened.
constexpr std::string_view kLabSafeRanges[] = {
    "127.0.0.0/8", "::1/128", "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32"};
constexpr std::string_view kLabPrivateRanges[] = {"10.0.0.0/8", "100.64.0.0/10", "172.16.0.0/12",
                                                  "192.168.0.0/16", "fc00::/7"};

bool Within(const checks::Cidr& inner, std::string_view outer_text) {
  auto outer = checks::Cidr::Parse(outer_text);
  return outer && inner.network.is_v4() == outer->network.is_v4() &&
         inner.prefix >= outer->prefix && outer->Contains(inner.network);
}

}  // namespace

Status ValidateLabSettings(const v1::LabSettings& lab, std::string_view field) {
  for (int i = 0; i < lab.allow_cidrs_size(); ++i) {
    const std::string where = Join(field, "allow_cidrs[" + std::to_string(i) + "]");
    auto c = checks::Cidr::Parse(lab.allow_cidrs(i));
    if (!c) return Bad(where, c.error().detail);
    bool safe = false;
    for (std::string_view range : kLabSafeRanges) safe = safe || Within(*c, range);
    bool private_range = false;
    for (std::string_view range : kLabPrivateRanges) {
      private_range = private_range || Within(*c, range);
    }
    if (safe || (private_range && lab.allow_private_ranges())) continue;
    if (private_range) {
      return Bad(where, "\"" + lab.allow_cidrs(i) +
                            "\" is a private range: allowed only with allow_private_ranges: true "
                            "(a lab network inside its own network namespace)");
    }
    return Bad(where, "\"" + lab.allow_cidrs(i) +
                          "\" is not a lab range: only loopback (127.0.0.0/8, ::1) and "
                          "documentation ranges (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, "
                          "2001:db8::/32) may be opened");
  }
  if (lab.allow_private_ranges() && !IsLabMode(lab)) {
    return Bad(Join(field, "allow_private_ranges"), "needs lab mode (allow_cidrs)");
  }
  for (auto [name, port] : {std::pair<std::string_view, uint32_t>{"http_port", lab.http_port()},
                            std::pair<std::string_view, uint32_t>{"tls_port", lab.tls_port()}}) {
    if (port == 0) continue;
    if (!IsLabMode(lab)) {
      return Bad(Join(field, name), "port overrides need lab mode (allow_cidrs)");
    }
    if (port > 65535) return Bad(Join(field, name), std::to_string(port) + " is above 65535");
  }
  return {};
}

std::vector<std::string> NonProductionReasons(const v1::LabSettings& lab) {
  std::vector<std::string> reasons;
  if (!IsLabMode(lab)) return reasons;
  std::string ranges;
  for (const std::string& cidr : lab.allow_cidrs()) {
    ranges += (ranges.empty() ? "" : ",") + cidr;
  }
  reasons.push_back("lab mode: special-purpose ranges allowed (" + ranges + ")");
  if (lab.allow_private_ranges()) reasons.push_back("lab mode: private ranges acknowledged");
  if (lab.http_port() != 0) {
    reasons.push_back("lab mode: http-01 on port " + std::to_string(lab.http_port()));
  }
  if (lab.tls_port() != 0) {
    reasons.push_back("lab mode: tls-alpn-01 on port " + std::to_string(lab.tls_port()));
  }
  return reasons;
}

std::vector<std::string> ResolverWarnings(const v1::ResolverSettings& resolver) {
  std::vector<std::string> warnings;
  if (resolver.backend_case() != v1::ResolverSettings::kUnbound) return warnings;
  const resolver::UnboundConfig defaults;
  const auto& u = resolver.unbound();
  if (!u.trust_anchor_file().empty() && u.trust_anchor_file() != defaults.trust_anchor_file) {
    warnings.push_back("resolver.unbound.trust_anchor_file is " + u.trust_anchor_file() +
                       ", not the system's DNSSEC root trust anchor " + defaults.trust_anchor_file +
                       ": every DNSSEC answer rests on it");
  }
  if (!u.root_hints_file().empty() && u.root_hints_file() != defaults.root_hints_file) {
    warnings.push_back("resolver.unbound.root_hints_file is " + u.root_hints_file() +
                       ", not the system's root hints " + defaults.root_hints_file);
  }
  return warnings;
}

Status ValidateAuthorizedPeers(const google::protobuf::RepeatedPtrField<std::string>& names,
                               const v1::LabSettings& lab, std::string_view field) {
  if (names.empty() && !IsLabMode(lab)) {
    return Bad(field,
               "required outside lab mode: the certificate names (subject CN or DNS "
               "subjectAltName) allowed to call; every fleet certificate is signed by the same "
               "CA, so without it any of them could");
  }
  for (int i = 0; i < names.size(); ++i) {
    const std::string& name = names.Get(i);
    const std::string where = std::string(field) + "[" + std::to_string(i) + "]";
    if (name.empty()) return Bad(where, "empty");
    if (name.size() > 253) return Bad(where, "longer than 253 characters");
    for (char c : name) {
      if (c <= ' ' || c >= 0x7f) return Bad(where, "\"" + name + "\" has a space or non-ASCII");
    }
  }
  return {};
}

Status ValidateResolverSettings(const v1::ResolverSettings& resolver, const v1::LabSettings& lab,
                                std::string_view field) {
  switch (resolver.backend_case()) {
    case v1::ResolverSettings::BACKEND_NOT_SET:
    case v1::ResolverSettings::kUnbound: {
      resolver::UnboundConfig defaults;
      const auto& u = resolver.unbound();
      std::string hints =
          u.root_hints_file().empty() ? defaults.root_hints_file : u.root_hints_file();
      std::string anchor =
          u.trust_anchor_file().empty() ? defaults.trust_anchor_file : u.trust_anchor_file();
      if (auto f = ReadSmallFile(hints); !f) {
        return Bad(Join(field, "unbound.root_hints_file"), f.error().detail);
      }
      if (auto f = ReadSmallFile(anchor); !f) {
        return Bad(Join(field, "unbound.trust_anchor_file"), f.error().detail);
      }
      return {};
    }
    case v1::ResolverSettings::kStub: {
      const auto& s = resolver.stub();
      if (s.server().empty()) return Bad(Join(field, "stub.server"), "required");
      if (auto c = resolver::CaresResolver::CanonicalServer(s.server()); !c) {
        return Bad(Join(field, "stub.server"), c.error().detail);
      }
      if (!s.require_ad() && !IsLabMode(lab)) {
        return Bad(Join(field, "stub.require_ad"),
                   "must be true outside lab mode (unauthenticated answers are not DNSSEC)");
      }
      return {};
    }
  }
  return Bad(field, "unknown backend");
}

Status ValidateRemoteConfig(const v1::RemoteConfig& config) {
  if (!config.has_identity()) return Bad("identity", "required");
  if (auto s = ValidateIdentity(config.identity(), "identity"); !s) return s;
  if (auto s = ValidateListenAddress(config.listen(), "listen"); !s) return s;
  if (!config.metrics_listen().empty()) {
    if (auto s = ValidateListenAddress(config.metrics_listen(), "metrics_listen"); !s) return s;
  }
  if (!config.health_listen().empty()) {
    if (auto s = ValidateListenAddress(config.health_listen(), "health_listen"); !s) return s;
  }
  if (auto s = ValidateTlsFiles(config.tls(), "tls"); !s) return s;
  if (auto s = ValidateLabSettings(config.lab(), "lab"); !s) return s;
  if (auto s = ValidateResolverSettings(config.resolver(), config.lab(), "resolver"); !s) {
    return s;
  }
  if (config.max_check_ms() > kMaxMaxCheckMs) {
    return Bad("max_check_ms", std::to_string(config.max_check_ms()) + " is above " +
                                   std::to_string(kMaxMaxCheckMs));
  }
  if (config.max_concurrent() > kMaxMaxConcurrent) {
    return Bad("max_concurrent", std::to_string(config.max_concurrent()) + " is above " +
                                     std::to_string(kMaxMaxConcurrent));
  }
  if (auto s = ValidateAuthorizedPeers(config.authorized_primaries(), config.lab(),
                                       "authorized_primaries");
      !s) {
    return s;
  }
  return {};
}

std::vector<std::string> ChangedFields(const google::protobuf::Message& running,
                                       const google::protobuf::Message& next) {
  std::vector<std::string> changed;
  const google::protobuf::Descriptor* type = running.GetDescriptor();
  if (next.GetDescriptor() != type) return {"(message type)"};
  for (int i = 0; i < type->field_count(); ++i) {
    const google::protobuf::FieldDescriptor* field = type->field(i);
    google::protobuf::util::MessageDifferencer differencer;
    std::vector<const google::protobuf::FieldDescriptor*> only{field};
    if (!differencer.CompareWithFields(running, next, only, only)) {
      changed.push_back(field->name());
    }
  }
  std::sort(changed.begin(), changed.end(), [type](const std::string& a, const std::string& b) {
    return type->FindFieldByName(a)->number() < type->FindFieldByName(b)->number();
  });
  return changed;
}

std::vector<std::string> RestartOnlyChanges(const google::protobuf::Message& running,
                                            const google::protobuf::Message& next,
                                            const std::vector<std::string>& live) {
  std::vector<std::string> restart;
  for (std::string& field : ChangedFields(running, next)) {
    if (std::find(live.begin(), live.end(), field) == live.end()) {
      restart.push_back(std::move(field));
    }
  }
  return restart;
}

const std::vector<std::string>& RemoteLiveFields() {
  static const std::vector<std::string> live = {"authorized_primaries", "max_check_ms",
                                                "max_concurrent"};
  return live;
}

Status CheckRemoteReload(const v1::RemoteConfig& running, const v1::RemoteConfig& next) {
  if (Status ok = ValidateRemoteConfig(next); !ok) return ok;
  const std::vector<std::string> restart = RestartOnlyChanges(running, next, RemoteLiveFields());
  if (restart.empty()) return {};
  std::string fields;
  for (const std::string& field : restart) fields += (fields.empty() ? "" : ", ") + field;
  return Fail(ProblemType::kMalformed, "restart to change " + fields +
                                           " (a reload applies only authorized_primaries, "
                                           "max_check_ms and max_concurrent)");
}

}  // namespace mpic::perspective

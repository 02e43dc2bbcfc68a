#include "checks/internal/http_url.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "common/dns_name.h"

namespace mpic::checks::internal {
namespace {

Error Refuse(std::string_view location, std::string why) {
  return Error{ProblemType::kConnection,
               "invalid redirect to \"" + PrintableText(location, 200) + "\": " + std::move(why)};
}

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// RFC 3986 §3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ), then ":".
std::optional<std::string_view> SchemeOf(std::string_view ref) {
  size_t colon = ref.find(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  if (ref.find_first_of("/?#") < colon) return std::nullopt;
  if (!std::isalpha(static_cast<unsigned char>(ref[0]))) return std::nullopt;
  for (char c : ref.substr(0, colon)) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.') {
      return std::nullopt;
    }
  }
  return ref.substr(0, colon);
}

// RFC 3986 §5.2.4.
std::string RemoveDotSegments(std::string_view path) {
  std::vector<std::string_view> out;
  size_t i = 0;
  bool trailing_slash = false;
  while (i < path.size()) {
    size_t next = path.find('/', i + 1);
    std::string_view seg = path.substr(i, next == std::string_view::npos ? path.npos : next - i);
    i = next == std::string_view::npos ? path.size() : next;
    // seg starts with '/' (paths here are absolute).
    std::string_view name = seg.substr(1);
    trailing_slash = false;
    if (name == ".") {
      trailing_slash = true;
    } else if (name == "..") {
      if (!out.empty()) out.pop_back();
      trailing_slash = true;
    } else {
      out.push_back(seg);
    }
  }
  std::string result;
  for (auto seg : out) result += seg;
  if (trailing_slash || result.empty()) result += '/';
  return result;
}

// Bytes a request line cannot carry verbatim are percent-encoded, as user agents do; control
// characters make the whole reference invalid (they never belong in a URL, RFC 3986 §2).
Result<std::string> CleanTarget(std::string_view target, std::string_view location) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : target) {
    auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f) return tl::unexpected(Refuse(location, "control character"));
    if (c >= 0x80 || c == ' ' || c == '"' || c == '<' || c == '>' || c == '\\' || c == '^' ||
        c == '`' || c == '{' || c == '|' || c == '}') {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += ch;
    }
  }
  return out;
}

}  // namespace

std::string HttpUrl::HostHeader() const {
  if (ip && ip->is_v6()) return "[" + host + "]";
  return host;
}

std::string HttpUrl::ToString() const {
  std::string out = scheme + "://" + HostHeader();
  if (explicit_port) out += ":" + std::to_string(port);
  return out + target;
}

std::string HttpUrl::Key() const {
  return scheme + "://" + HostHeader() + ":" + std::to_string(port) + target;
}

HttpUrl ChallengeUrl(const WebIdentifier& identifier, std::string_view token, HttpPorts ports) {
  HttpUrl url;
  url.scheme = "http";
  url.host = identifier.host;
  url.ip = identifier.ip;
  url.port = ports.http;
  url.target = "/.well-known/acme-challenge/" + std::string(token);
  return url;
}

HttpUrl PkiValidationUrl(const WebIdentifier& identifier, std::string_view scheme,
                         std::string_view path, HttpPorts ports) {
  HttpUrl url;
  url.scheme = scheme == "https" ? "https" : "http";
  url.host = identifier.host;
  url.ip = identifier.ip;
  url.port = url.https() ? ports.https : ports.http;
  url.target = "/.well-known/pki-validation/" + std::string(path);
  return url;
}

Status ValidatePkiValidationPath(std::string_view path) {
  auto refuse = [](std::string why) {
    return Fail(ProblemType::kMalformed, "http_token_path: " + why);
  };
  if (path.empty() || path.size() > 255) return refuse("must be 1 to 255 octets");
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    size_t length = slash == std::string_view::npos ? std::string_view::npos : slash - start;
    std::string_view segment = path.substr(start, length);
    if (segment.empty()) return refuse("empty path segment (leading, trailing or double \"/\")");
    if (segment == "." || segment == "..") return refuse("\".\" and \"..\" segments are refused");
    for (char c : segment) {
      bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '-' || c == '.' || c == '_' || c == '~';
      if (!ok) return refuse("only RFC 3986 unreserved characters and \"/\" are allowed");
    }
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return {};
}

Result<HttpUrl> ResolveRedirect(const HttpUrl& base, std::string_view location, HttpPorts ports) {
  std::string_view ref = location;
  if (ref.empty()) return tl::unexpected(Refuse(location, "empty Location"));
  if (auto hash = ref.find('#'); hash != std::string_view::npos) ref = ref.substr(0, hash);

  HttpUrl url;
  std::string_view rest;  // what follows "scheme:" (or the whole relative reference)
  if (auto scheme = SchemeOf(ref)) {
    url.scheme = Lower(*scheme);
    if (url.scheme != "http" && url.scheme != "https") {
      return tl::unexpected(Refuse(location, "scheme \"" + PrintableText(url.scheme, 20) +
                                                 "\" is not allowed (only http and https)"));
    }
    rest = ref.substr(scheme->size() + 1);
    if (!rest.starts_with("//")) return tl::unexpected(Refuse(location, "no host"));
  } else {
    url.scheme = base.scheme;
    rest = ref;
  }

  std::string path_and_query;
  if (rest.starts_with("//")) {
    // Authority (RFC 3986 §3.2): [ userinfo "@" ] host [ ":" port ].
    rest.remove_prefix(2);
    size_t end = rest.find_first_of("/?");
    std::string_view authority = rest.substr(0, end);
    std::string_view after = end == std::string_view::npos ? "" : rest.substr(end);
    if (authority.find('@') != std::string_view::npos) {
      return tl::unexpected(Refuse(location, "credentials in the URL are not allowed"));
    }
    std::string_view host_text;
    std::string_view port_text;
    bool has_port = false;
    if (authority.starts_with("[")) {
      size_t close = authority.find(']');
      if (close == std::string_view::npos) return tl::unexpected(Refuse(location, "bad host"));
      host_text = authority.substr(1, close - 1);
      std::string_view tail = authority.substr(close + 1);
      if (!tail.empty()) {
        if (tail[0] != ':') return tl::unexpected(Refuse(location, "bad host"));
        has_port = true;
        port_text = tail.substr(1);
      }
      boost::system::error_code ec;
      auto v6 = asio::ip::make_address_v6(std::string(host_text), ec);
      if (ec || host_text.find('%') != std::string_view::npos) {
        return tl::unexpected(Refuse(location, "bad IPv6 literal"));
      }
      url.ip = v6;
      url.host = v6.to_string();
    } else {
      size_t colon = authority.find(':');
      host_text = authority.substr(0, colon);
      if (colon != std::string_view::npos) {
        has_port = true;
        port_text = authority.substr(colon + 1);
      }
      boost::system::error_code ec;
      auto v4 = asio::ip::make_address_v4(std::string(host_text), ec);
      if (!ec && v4.to_string() == host_text) {
        url.ip = v4;
        url.host = v4.to_string();
      } else {
        // Neither an IP literal nor a host name (this also refuses "127.1", "0x7f.1" and other
        // shorthands some stacks would read as addresses).
        auto name = NormalizeHostname(host_text);
        if (!name) {
          return tl::unexpected(Refuse(location, "host is not a valid domain name or IP address"));
        }
        url.host = *name;
      }
    }
    if (has_port && !port_text.empty()) {
      unsigned port = 0;
      auto [p, err] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
      if (err != std::errc() || p != port_text.data() + port_text.size() || port == 0 ||
          port > 65535) {
        return tl::unexpected(Refuse(location, "bad port"));
      }
      if (port != ports.http && port != ports.https) {
        return tl::unexpected(Refuse(location, "port " + std::to_string(port) +
                                                   " is not allowed (only " +
                                                   std::to_string(ports.http) + " and " +
                                                   std::to_string(ports.https) + ")"));
      }
      url.port = static_cast<uint16_t>(port);
      url.explicit_port = true;
    } else {
      url.port = url.https() ? ports.https : ports.http;
    }
    path_and_query = after.empty() ? "/" : std::string(after);
    if (path_and_query[0] == '?') path_and_query = "/" + path_and_query;
  } else {
    // Same origin as the base (RFC 3986 §5.2.2).
    url.host = base.host;
    url.ip = base.ip;
    url.port = base.port;
    url.explicit_port = base.explicit_port;
    std::string_view base_path = std::string_view(base.target).substr(0, base.target.find('?'));
    if (rest.empty()) {
      return tl::unexpected(Refuse(location, "empty Location"));
    } else if (rest[0] == '/') {
      path_and_query = std::string(rest);
    } else if (rest[0] == '?') {
      path_and_query = std::string(base_path) + std::string(rest);
    } else {
      // RFC 3986 §5.2.3: merge with the base path's directory.
      path_and_query =
          std::string(base_path.substr(0, base_path.rfind('/') + 1)) + std::string(rest);
    }
  }

  size_t q = path_and_query.find('?');
  std::string path = RemoveDotSegments(path_and_query.substr(0, q));
  std::string query = q == std::string::npos ? "" : path_and_query.substr(q);
  auto target = CleanTarget(path + query, location);
  if (!target) return tl::unexpected(target.error());
  url.target = std::move(*target);
  return url;
}

}  // namespace mpic::checks::internal

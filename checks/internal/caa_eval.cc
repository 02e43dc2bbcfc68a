#include "checks/internal/caa_eval.h"

#include <algorithm>
#include <set>

#include "checks/internal/dns_txt.h"

namespace mpic::checks::internal {
namespace {

// Longest part of a CAA value quoted in a reason; the evidence keeps the whole RRset.
constexpr size_t kShownValueOctets = 128;

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string ToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = Lower(c);
  return out;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [](char x, char y) { return Lower(x) == Lower(y); });
}

bool IsAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool IsWsp(char c) { return c == ' ' || c == '\t'; }  // RFC 5234 WSP

// A small cursor over the value; every method stays inside it.
class Cursor {
 public:
  explicit Cursor(std::string_view s) : s_(s) {}
  bool AtEnd() const { return pos_ >= s_.size(); }
  char Peek() const { return s_[pos_]; }
  void SkipWsp() {
    while (!AtEnd() && IsWsp(Peek())) ++pos_;
  }
  bool Consume(char c) {
    if (AtEnd() || Peek() != c) return false;
    ++pos_;
    return true;
  }
  // RFC 8659 §4.2: label = (ALPHA / DIGIT) *( *("-") (ALPHA / DIGIT)); `tag` has the same
  // form. Returns "" (consuming nothing) when no label starts here.
  std::string_view Label() {
    size_t start = pos_;
    if (AtEnd() || !IsAlnum(Peek())) return {};
    size_t end = pos_ + 1;  // one past the last letter or digit seen
    size_t p = end;
    while (p < s_.size() && (IsAlnum(s_[p]) || s_[p] == '-')) {
      if (IsAlnum(s_[p])) end = p + 1;
      ++p;
    }
    pos_ = end;  // trailing hyphens are not part of the label (and will fail the caller)
    return s_.substr(start, end - start);
  }
  // value = *(%x21-3A / %x3C-7E): visible characters except ";".
  std::string_view ParamValue() {
    size_t start = pos_;
    while (!AtEnd()) {
      auto b = static_cast<unsigned char>(Peek());
      if (b < 0x21 || b > 0x7e || b == ';') break;
      ++pos_;
    }
    return s_.substr(start, pos_ - start);
  }

 private:
  std::string_view s_;
  size_t pos_ = 0;
};

tl::unexpected<Error> Malformed(std::string why) {
  return Fail(ProblemType::kMalformed, std::move(why));
}

enum class Tag { kIssue, kIssueWild, kIodef, kIssueMail, kUnknown };

// RFC 8659 §4.1: tags match case-insensitively; the tags this CA understands are those of
// RFC 8659 §4.2-4.4 and RFC 9495's `issuemail`.
Tag ClassifyTag(std::string_view tag) {
  if (EqualsIgnoreCase(tag, "issue")) return Tag::kIssue;
  if (EqualsIgnoreCase(tag, "issuewild")) return Tag::kIssueWild;
  if (EqualsIgnoreCase(tag, "iodef")) return Tag::kIodef;
  if (EqualsIgnoreCase(tag, "issuemail")) return Tag::kIssueMail;
  return Tag::kUnknown;
}

std::string Shown(const CaaRecord& rr) {
  return std::to_string(rr.flags) + " " + EscapeOctets(rr.tag, kCaaMaxTagLength + 1) + " \"" +
         EscapeOctets(rr.value, kShownValueOctets) + "\"";
}

// Why one governing record does or does not authorize this CA; "" when it does.
std::string WhyNotAuthorized(const CaaRecord& rr, const CaaPolicy& policy) {
  auto parsed = ParseCaaIssueValue(rr.value);
  // RFC 8659 §4.2 (and RFC 9495 §4 for issuemail, whose grammar is the same): a value outside
  // the grammar is treated as an empty issuer-domain-name.
  if (!parsed) return "malformed value (" + parsed.error().detail + "): forbids issuance";
  if (parsed->issuer_domain.empty()) return "no issuer domain: forbids issuance";
  bool ours = std::any_of(policy.issuer_domains.begin(), policy.issuer_domains.end(),
                          [&](const std::string& d) {
                            std::string_view mine = d;
                            if (mine.ends_with('.')) mine.remove_suffix(1);
                            return EqualsIgnoreCase(mine, parsed->issuer_domain);
                          });
  if (!ours) return "names issuer \"" + parsed->issuer_domain + "\", not this CA";
  std::set<std::string> seen;
  for (const auto& [tag, value] : parsed->parameters) {
    // RFC 8657 §3, §4: a parameter given twice makes the record unsatisfiable.
    if (!seen.insert(tag).second) return "parameter \"" + tag + "\" appears more than once";
  }
  for (const auto& [tag, value] : parsed->parameters) {
    if (tag == "accounturi") {
      // RFC 8657 §3: the URI must match the requesting account's URI. An unknown account
      // matches nothing (not even an empty accounturi).
      if (policy.account_uri.empty() || value != policy.account_uri) {
        return "accounturi \"" + EscapeOctets(value, kShownValueOctets) +
               "\" is not the requesting account" +
               (policy.account_uri.empty() ? std::string(" (none given)")
                                           : " (\"" + EscapeOctets(policy.account_uri) + "\")");
      }
    } else if (tag == "validationmethods") {
      // RFC 8657 §4: value = label *("," label); the method used must be listed. With no
      // method known there is nothing the list could permit.
      if (policy.validation_method.empty()) {
        return "validationmethods is set but the validation method is unknown";
      }
      bool listed = false;
      std::string_view list = value;
      while (true) {
        size_t comma = list.find(',');
        std::string_view method = list.substr(0, comma);
        // ACME method names are exact tokens (RFC 8555 §9.7.8); compared as such.
        if (method == policy.validation_method) listed = true;
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
      }
      if (!listed) {
        return "validationmethods \"" + EscapeOctets(value, kShownValueOctets) +
               "\" does not include " + policy.validation_method;
      }
    }
    // Other parameters: their semantics are the named issuer's (RFC 8659 §4.2); ignored.
    // On issuemail, whose parameters RFC 9495 §4 also leaves to the issuer, this CA gives
    // accounturi and validationmethods their RFC 8657 meaning: that can only deny.
  }
  return "";
}

}  // namespace

Result<CaaRecord> ParseCaaRdata(std::span<const uint8_t> rdata) {
  // RFC 8659 §4.1: flags (1 octet), tag length (1 octet), tag, value (the rest).
  if (rdata.size() < 2) return Malformed("CAA rdata shorter than 2 octets");
  size_t tag_len = rdata[1];
  if (tag_len == 0) return Malformed("CAA tag length is zero");
  if (2 + tag_len > rdata.size()) return Malformed("CAA tag runs past the rdata");
  CaaRecord rr;
  rr.flags = rdata[0];
  rr.tag.assign(reinterpret_cast<const char*>(rdata.data() + 2), tag_len);
  rr.value.assign(reinterpret_cast<const char*>(rdata.data() + 2 + tag_len),
                  rdata.size() - 2 - tag_len);
  return rr;
}

Result<CaaIssueValue> ParseCaaIssueValue(std::string_view value) {
  CaaIssueValue out;
  Cursor c(value);
  c.SkipWsp();
  if (std::string_view label = c.Label(); !label.empty()) {
    std::string domain(label);
    while (c.Consume('.')) {
      std::string_view next = c.Label();
      if (next.empty()) return Malformed("empty or bad label in the issuer domain name");
      domain += '.';
      domain += next;
    }
    out.issuer_domain = ToLower(domain);
    c.SkipWsp();
  }
  if (c.AtEnd()) return out;
  if (!c.Consume(';')) return Malformed("unexpected character after the issuer domain name");
  c.SkipWsp();
  while (!c.AtEnd()) {
    std::string_view tag = c.Label();
    if (tag.empty()) return Malformed("bad parameter tag");
    c.SkipWsp();
    if (!c.Consume('=')) return Malformed("parameter without \"=\"");
    c.SkipWsp();
    std::string_view param_value = c.ParamValue();
    out.parameters.emplace_back(ToLower(tag), std::string(param_value));
    c.SkipWsp();
    if (c.AtEnd()) break;
    if (!c.Consume(';')) return Malformed("unexpected character after a parameter");
    c.SkipWsp();  // a trailing ";" then ends the loop: tolerated (see the header)
  }
  return out;
}

CaaDecision EvaluateCaa(std::span<const CaaRecord> rrset, const CaaPolicy& policy) {
  // RFC 8659 §4.1: a critical property this CA does not understand forbids issuance,
  // whatever else the RRset says.
  for (const auto& rr : rrset) {
    if (rr.critical() && ClassifyTag(rr.tag) == Tag::kUnknown) {
      return {false, "CAA record " + Shown(rr) +
                         " sets the critical flag on a property this CA does not understand "
                         "(RFC 8659 §4.1)"};
    }
  }
  if (policy.smime && policy.wildcard) {
    return {false, "an S/MIME certificate certifies email addresses, which have no wildcard form"};
  }
  // RFC 8659 §4.3: issuewild governs a wildcard name when present; never a non-wildcard one.
  // RFC 9495 §4: for S/MIME only issuemail governs; issue and issuewild do not restrict it.
  bool any_issuewild = std::any_of(rrset.begin(), rrset.end(), [](const CaaRecord& rr) {
    return ClassifyTag(rr.tag) == Tag::kIssueWild;
  });
  const Tag governing = policy.smime                      ? Tag::kIssueMail
                        : policy.wildcard && any_issuewild ? Tag::kIssueWild
                                                           : Tag::kIssue;
  const char* governing_name = governing == Tag::kIssueMail   ? "issuemail"
                               : governing == Tag::kIssueWild ? "issuewild"
                                                              : "issue";
  const char* governing_rule = policy.smime ? "(RFC 9495 §4)" : "(RFC 8659 §4.2)";
  std::vector<std::string> refusals;
  for (const auto& rr : rrset) {
    if (ClassifyTag(rr.tag) != governing) continue;
    std::string why = WhyNotAuthorized(rr, policy);
    if (why.empty()) {
      // RFC 8659 §4.2: authorizations are additive; one is enough.
      return {true, "CAA record " + Shown(rr) + " authorizes this CA"};
    }
    refusals.push_back(Shown(rr) + ": " + why);
  }
  if (refusals.empty()) {
    return {true, std::string("no ") + governing_name + " property restricts issuance " +
                      governing_rule};
  }
  std::string reason = std::string("no CAA ") + governing_name + " record authorizes this CA";
  if (!policy.issuer_domains.empty()) {
    reason += " (issuer domain";
    reason += policy.issuer_domains.size() > 1 ? "s " : " ";
    for (size_t i = 0; i < policy.issuer_domains.size(); ++i) {
      if (i > 0) reason += ", ";
      reason += EscapeOctets(policy.issuer_domains[i], kShownValueOctets);
    }
    reason += ")";
  }
  reason += ": ";
  for (size_t i = 0; i < refusals.size(); ++i) {
    if (i > 0) reason += "; ";
    reason += refusals[i];
  }
  return {false, std::move(reason)};
}

CaaDecision EvaluateCaaRdata(std::span<const std::vector<uint8_t>> rdatas,
                             const CaaPolicy& policy) {
  std::vector<CaaRecord> rrset;
  rrset.reserve(rdatas.size());
  for (const auto& rdata : rdatas) {
    auto rr = ParseCaaRdata(rdata);
    if (!rr) {
      return {false, "unreadable CAA record (" + rr.error().detail +
                         "); it might be a critical property, so issuance is forbidden"};
    }
    rrset.push_back(std::move(*rr));
  }
  return EvaluateCaa(rrset, policy);
}

}  // namespace mpic::checks::internal

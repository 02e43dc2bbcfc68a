#include "common/dns_wire.h"

#include <arpa/inet.h>

#include <array>
#include <cstdio>
#include <ctime>
#include <set>

namespace mpic::dns {
namespace {

constexpr std::array<std::pair<uint16_t, std::string_view>, 17> kTypeNames{{
    {kA, "A"},
    {kNs, "NS"},
    {kCname, "CNAME"},
    {kSoa, "SOA"},
    {kPtr, "PTR"},
    {kMx, "MX"},
    {kTxt, "TXT"},
    {kAaaa, "AAAA"},
    {kSrv, "SRV"},
    {kDname, "DNAME"},
    {kOpt, "OPT"},
    {kDs, "DS"},
    {kRrsig, "RRSIG"},
    {kNsec, "NSEC"},
    {kDnskey, "DNSKEY"},
    {kNsec3, "NSEC3"},
    {kCaa, "CAA"},
}};

Error Malformed(std::string detail) {
  return Error{ProblemType::kDns, "malformed DNS message: " + std::move(detail)};
}

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// Appends one label in presentation form (RFC 1035 §5.1 escapes).
void AppendLabel(std::string* out, std::span<const uint8_t> label) {
  for (uint8_t b : label) {
    char c = Lower(static_cast<char>(b));
    if (c == '.' || c == '\\' || c == '"' || c == '(' || c == ')' || c == ';' || c == '@' ||
        c == '$') {
      *out += '\\';
      *out += c;
    } else if (b > 0x20 && b < 0x7f) {
      *out += c;
    } else {
      char buf[5];
      std::snprintf(buf, sizeof buf, "\\%03u", static_cast<unsigned>(b));
      *out += buf;
    }
  }
}

// A bounds-checked cursor over the packet.
class Reader {
 public:
  explicit Reader(std::span<const uint8_t> packet) : packet_(packet) {}

  size_t pos() const { return pos_; }
  size_t remaining() const { return packet_.size() - pos_; }

  Result<uint8_t> U8() {
    if (remaining() < 1) return tl::unexpected(Malformed("truncated"));
    return packet_[pos_++];
  }
  Result<uint16_t> U16() {
    if (remaining() < 2) return tl::unexpected(Malformed("truncated"));
    uint16_t v = static_cast<uint16_t>((packet_[pos_] << 8) | packet_[pos_ + 1]);
    pos_ += 2;
    return v;
  }
  Result<uint32_t> U32() {
    auto hi = U16();
    if (!hi) return tl::unexpected(hi.error());
    auto lo = U16();
    if (!lo) return tl::unexpected(lo.error());
    return (static_cast<uint32_t>(*hi) << 16) | *lo;
  }
  Result<std::span<const uint8_t>> Bytes(size_t n) {
    if (remaining() < n) return tl::unexpected(Malformed("truncated"));
    auto s = packet_.subspan(pos_, n);
    pos_ += n;
    return s;
  }

  // Reads a possibly compressed name (RFC 1035 §4.1.4). Pointers must point strictly
  // backwards, which rules out loops. Fills presentation text and uncompressed wire form.
  Status Name(std::string* text, std::vector<uint8_t>* wire) {
    size_t p = pos_;
    bool jumped = false;
    size_t wire_len = 0;
    text->clear();
    for (;;) {
      if (p >= packet_.size()) return tl::unexpected(Malformed("name runs past the end"));
      uint8_t len = packet_[p];
      if ((len & 0xC0) == 0xC0) {
        if (p + 1 >= packet_.size()) return tl::unexpected(Malformed("truncated pointer"));
        size_t target = static_cast<size_t>(((len & 0x3F) << 8) | packet_[p + 1]);
        if (target >= p) return tl::unexpected(Malformed("forward compression pointer"));
        if (!jumped) pos_ = p + 2;
        jumped = true;
        p = target;
        continue;
      }
      if ((len & 0xC0) != 0) return tl::unexpected(Malformed("unsupported label type"));
      if (len == 0) {
        if (!jumped) pos_ = p + 1;
        if (wire) wire->push_back(0);
        if (text->empty()) *text = ".";
        return {};
      }
      if (p + 1 + len > packet_.size()) return tl::unexpected(Malformed("label past the end"));
      wire_len += 1 + len;
      if (wire_len + 1 > 255) return tl::unexpected(Malformed("name longer than 255 octets"));
      auto label = packet_.subspan(p + 1, len);
      AppendLabel(text, label);
      *text += '.';
      if (wire) {
        wire->push_back(len);
        for (uint8_t b : label) wire->push_back(static_cast<uint8_t>(Lower(static_cast<char>(b))));
      }
      p += 1 + len;
    }
  }

 private:
  std::span<const uint8_t> packet_;
  size_t pos_ = 0;
};

std::string Hex(std::span<const uint8_t> bytes, bool upper) {
  static constexpr char kLower[] = "0123456789abcdef";
  static constexpr char kUpper[] = "0123456789ABCDEF";
  const char* digits = upper ? kUpper : kLower;
  std::string out;
  out.reserve(bytes.size() * 2);
  for (uint8_t b : bytes) {
    out += digits[b >> 4];
    out += digits[b & 15];
  }
  return out;
}

std::string Base64(std::span<const uint8_t> in) {
  static constexpr char kTable[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    uint32_t v = (uint32_t{in[i]} << 16) | (uint32_t{in[i + 1]} << 8) | in[i + 2];
    out += kTable[(v >> 18) & 63];
    out += kTable[(v >> 12) & 63];
    out += kTable[(v >> 6) & 63];
    out += kTable[v & 63];
  }
  if (i + 1 == in.size()) {
    uint32_t v = uint32_t{in[i]} << 16;
    out += kTable[(v >> 18) & 63];
    out += kTable[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    uint32_t v = (uint32_t{in[i]} << 16) | (uint32_t{in[i + 1]} << 8);
    out += kTable[(v >> 18) & 63];
    out += kTable[(v >> 12) & 63];
    out += kTable[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

// A character-string in presentation form (RFC 1035 §5.1): quoted, with escapes.
void AppendQuoted(std::string* out, std::span<const uint8_t> bytes) {
  *out += '"';
  for (uint8_t b : bytes) {
    if (b == '"' || b == '\\') {
      *out += '\\';
      *out += static_cast<char>(b);
    } else if (b >= 0x20 && b < 0x7f) {
      *out += static_cast<char>(b);
    } else {
      char buf[5];
      std::snprintf(buf, sizeof buf, "\\%03u", static_cast<unsigned>(b));
      *out += buf;
    }
  }
  *out += '"';
}

std::string Timestamp(uint32_t t) {
  // RFC 4034 §3.2: YYYYMMDDHHmmSS in UTC.
  time_t tt = static_cast<time_t>(t);
  struct tm tm {};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d%02d%02d%02d%02d%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

std::string Unknown(std::span<const uint8_t> rdata) {
  // RFC 3597 §5.
  std::string out = "\\# " + std::to_string(rdata.size());
  if (!rdata.empty()) out += " " + Hex(rdata, false);
  return out;
}

// Decodes rdata of a known type; `rdata_start` is the offset in the whole packet so that
// compressed names can be expanded. Produces uncompressed rdata and the presentation text.
Status DecodeRdata(std::span<const uint8_t> packet, size_t rdata_start, uint16_t rdlength,
                   uint16_t type, Record* rr) {
  Reader r(packet);
  // Skip to the rdata start by reading it as bytes.
  if (!r.Bytes(rdata_start)) return tl::unexpected(Malformed("bad rdata offset"));
  const size_t end = rdata_start + rdlength;
  auto raw = packet.subspan(rdata_start, rdlength);
  std::string& text = rr->rdata_text;
  std::vector<uint8_t>& wire = rr->rdata;
  auto name = [&](std::string* out) -> Status {
    auto st = r.Name(out, &wire);
    if (!st) return st;
    if (r.pos() > end) return tl::unexpected(Malformed("name crosses rdata end"));
    return {};
  };
  auto fixed = [&](size_t n) -> Result<std::span<const uint8_t>> {
    if (r.pos() + n > end) return tl::unexpected(Malformed("rdata too short"));
    auto b = r.Bytes(n);
    if (b) wire.insert(wire.end(), b->begin(), b->end());
    return b;
  };
  auto u16 = [&](uint16_t* v) -> Status {
    auto b = fixed(2);
    if (!b) return tl::unexpected(b.error());
    *v = static_cast<uint16_t>(((*b)[0] << 8) | (*b)[1]);
    return {};
  };
  auto u32 = [&](uint32_t* v) -> Status {
    auto b = fixed(4);
    if (!b) return tl::unexpected(b.error());
    *v = (uint32_t{(*b)[0]} << 24) | (uint32_t{(*b)[1]} << 16) | (uint32_t{(*b)[2]} << 8) |
         (*b)[3];
    return {};
  };
  auto rest = [&]() -> std::span<const uint8_t> {
    auto b = r.Bytes(end - r.pos());  // cannot fail: end is inside the packet
    if (!b) return {};
    wire.insert(wire.end(), b->begin(), b->end());
    return *b;
  };

  switch (type) {
    case kA: {
      if (rdlength != 4) return tl::unexpected(Malformed("A rdata is not 4 octets"));
      char buf[INET_ADDRSTRLEN];
      inet_ntop(AF_INET, raw.data(), buf, sizeof buf);
      text = buf;
      wire.assign(raw.begin(), raw.end());
      return {};
    }
    case kAaaa: {
      if (rdlength != 16) return tl::unexpected(Malformed("AAAA rdata is not 16 octets"));
      char buf[INET6_ADDRSTRLEN];
      inet_ntop(AF_INET6, raw.data(), buf, sizeof buf);
      text = buf;
      wire.assign(raw.begin(), raw.end());
      return {};
    }
    case kNs:
    case kCname:
    case kPtr:
    case kDname: {
      if (auto st = name(&text); !st) return st;
      break;
    }
    case kMx: {
      uint16_t pref = 0;
      std::string exchange;
      if (auto st = u16(&pref); !st) return st;
      if (auto st = name(&exchange); !st) return st;
      text = std::to_string(pref) + " " + exchange;
      break;
    }
    case kSrv: {
      uint16_t prio = 0, weight = 0, port = 0;
      std::string target;
      if (auto st = u16(&prio); !st) return st;
      if (auto st = u16(&weight); !st) return st;
      if (auto st = u16(&port); !st) return st;
      if (auto st = name(&target); !st) return st;
      text = std::to_string(prio) + " " + std::to_string(weight) + " " + std::to_string(port) +
             " " + target;
      break;
    }
    case kSoa: {
      std::string mname, rname;
      uint32_t v[5] = {};
      if (auto st = name(&mname); !st) return st;
      if (auto st = name(&rname); !st) return st;
      for (auto& x : v) {
        if (auto st = u32(&x); !st) return st;
      }
      text = mname + " " + rname;
      for (auto x : v) text += " " + std::to_string(x);
      break;
    }
    case kTxt: {
      auto strings = TxtStrings(raw);
      if (!strings) return tl::unexpected(strings.error());
      for (const auto& s : *strings) {
        if (!text.empty()) text += ' ';
        AppendQuoted(&text, std::span(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
      }
      if (strings->empty()) text = "\"\"";  // not valid per RFC, shown honestly
      wire.assign(raw.begin(), raw.end());
      return {};
    }
    case kCaa: {
      // RFC 8659 §4.1: flags, tag length, tag, value.
      if (rdlength < 2) return tl::unexpected(Malformed("CAA rdata too short"));
      uint8_t flags = raw[0];
      uint8_t tag_len = raw[1];
      if (tag_len == 0 || 2u + tag_len > rdlength) {
        return tl::unexpected(Malformed("CAA tag length out of range"));
      }
      std::string tag(reinterpret_cast<const char*>(raw.data() + 2), tag_len);
      for (char& c : tag) {
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum) c = '?';  // invalid tag characters shown, never interpreted
      }
      text = std::to_string(flags) + " " + tag + " ";
      AppendQuoted(&text, raw.subspan(2u + tag_len));
      wire.assign(raw.begin(), raw.end());
      return {};
    }
    case kDs: {
      if (rdlength < 4) return tl::unexpected(Malformed("DS rdata too short"));
      uint16_t tag = static_cast<uint16_t>((raw[0] << 8) | raw[1]);
      text = std::to_string(tag) + " " + std::to_string(raw[2]) + " " + std::to_string(raw[3]) +
             " " + Hex(raw.subspan(4), true);
      wire.assign(raw.begin(), raw.end());
      return {};
    }
    case kDnskey: {
      if (rdlength < 4) return tl::unexpected(Malformed("DNSKEY rdata too short"));
      uint16_t flags = static_cast<uint16_t>((raw[0] << 8) | raw[1]);
      text = std::to_string(flags) + " " + std::to_string(raw[2]) + " " +
             std::to_string(raw[3]) + " " + Base64(raw.subspan(4));
      wire.assign(raw.begin(), raw.end());
      return {};
    }
    case kRrsig: {
      uint16_t covered = 0, keytag = 0;
      uint32_t orig_ttl = 0, expiration = 0, inception = 0;
      std::string signer;
      if (auto st = u16(&covered); !st) return st;
      auto alg_labels = fixed(2);
      if (!alg_labels) return tl::unexpected(alg_labels.error());
      if (auto st = u32(&orig_ttl); !st) return st;
      if (auto st = u32(&expiration); !st) return st;
      if (auto st = u32(&inception); !st) return st;
      if (auto st = u16(&keytag); !st) return st;
      if (auto st = name(&signer); !st) return st;
      text = RrTypeName(covered) + " " + std::to_string((*alg_labels)[0]) + " " +
             std::to_string((*alg_labels)[1]) + " " + std::to_string(orig_ttl) + " " +
             Timestamp(expiration) + " " + Timestamp(inception) + " " + std::to_string(keytag) +
             " " + signer + " " + Base64(rest());
      break;
    }
    default:
      text = Unknown(raw);
      wire.assign(raw.begin(), raw.end());
      return {};
  }
  if (r.pos() != end) return tl::unexpected(Malformed(RrTypeName(type) + " rdata length mismatch"));
  return {};
}

Status ParseRecords(std::span<const uint8_t> packet, Reader* r, uint16_t count,
                    std::vector<Record>* out) {
  for (uint16_t i = 0; i < count; ++i) {
    Record rr;
    if (auto st = r->Name(&rr.name, nullptr); !st) return st;
    auto type = r->U16();
    auto klass = r->U16();
    auto ttl = r->U32();
    auto rdlength = r->U16();
    if (!type || !klass || !ttl || !rdlength) return tl::unexpected(Malformed("truncated RR"));
    rr.type = *type;
    rr.klass = *klass;
    rr.ttl = *ttl;
    size_t rdata_start = r->pos();
    if (!r->Bytes(*rdlength)) return tl::unexpected(Malformed("rdata past the end"));
    if (rr.type == kOpt) continue;  // pseudo-record, not data
    if (auto st = DecodeRdata(packet, rdata_start, *rdlength, rr.type, &rr); !st) return st;
    out->push_back(std::move(rr));
  }
  return {};
}

}  // namespace

std::optional<uint16_t> ParseRrType(std::string_view text) {
  std::string upper;
  for (char c : text) upper += (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
  for (const auto& [t, n] : kTypeNames) {
    if (n == upper) return t;
  }
  if (upper.starts_with("TYPE") && upper.size() > 4 && upper.size() <= 9) {
    uint32_t v = 0;
    for (char c : std::string_view(upper).substr(4)) {
      if (c < '0' || c > '9') return std::nullopt;
      v = v * 10 + static_cast<uint32_t>(c - '0');
    }
    if (v <= 0xFFFF) return static_cast<uint16_t>(v);
  }
  return std::nullopt;
}

std::string RrTypeName(uint16_t type) {
  for (const auto& [t, n] : kTypeNames) {
    if (t == type) return std::string(n);
  }
  return "TYPE" + std::to_string(type);
}

std::string RcodeName(uint16_t rcode) {
  static constexpr std::array<std::string_view, 11> kNames = {
      "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
      "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE"};
  if (rcode < kNames.size()) return std::string(kNames[rcode]);
  return "RCODE" + std::to_string(rcode);
}

Result<Message> ParseMessage(std::span<const uint8_t> packet) {
  Reader r(packet);
  Message msg;
  auto id = r.U16();
  auto flags = r.U16();
  auto qd = r.U16();
  auto an = r.U16();
  auto ns = r.U16();
  auto ar = r.U16();
  if (!id || !flags || !qd || !an || !ns || !ar) {
    return tl::unexpected(Malformed("header shorter than 12 octets"));
  }
  msg.id = *id;
  msg.qr = (*flags & 0x8000) != 0;
  msg.aa = (*flags & 0x0400) != 0;
  msg.tc = (*flags & 0x0200) != 0;
  msg.rd = (*flags & 0x0100) != 0;
  msg.ra = (*flags & 0x0080) != 0;
  msg.ad = (*flags & 0x0020) != 0;
  msg.cd = (*flags & 0x0010) != 0;
  msg.rcode = *flags & 0x000F;
  if (*qd > 1) return tl::unexpected(Malformed("more than one question"));
  if (*qd == 1) {
    if (auto st = r.Name(&msg.qname, nullptr); !st) return tl::unexpected(st.error());
    auto qtype = r.U16();
    auto qclass = r.U16();
    if (!qtype || !qclass) return tl::unexpected(Malformed("truncated question"));
    msg.qtype = *qtype;
  }
  if (auto st = ParseRecords(packet, &r, *an, &msg.answers); !st) {
    return tl::unexpected(st.error());
  }
  if (auto st = ParseRecords(packet, &r, *ns, &msg.authority); !st) {
    return tl::unexpected(st.error());
  }
  // The additional section is parsed only for validity of its framing (EDNS lives there).
  std::vector<Record> additional;
  if (auto st = ParseRecords(packet, &r, *ar, &additional); !st) {
    return tl::unexpected(st.error());
  }
  return msg;
}

std::string ToPresentation(const Record& rr) {
  std::string klass = rr.klass == 1 ? "IN" : "CLASS" + std::to_string(rr.klass);
  return rr.name + " " + std::to_string(rr.ttl) + " " + klass + " " + RrTypeName(rr.type) + " " +
         rr.rdata_text;
}

Result<std::string> FollowCnames(const std::vector<Record>& answers, std::string_view qname,
                                 std::vector<std::string>* chain, size_t max_hops) {
  std::string current(qname);
  std::set<std::string> seen;
  for (size_t hops = 0;; ++hops) {
    const Record* alias = nullptr;
    for (const auto& rr : answers) {
      if (rr.type == kCname && rr.name == current) {
        alias = &rr;
        break;
      }
    }
    if (alias == nullptr) return current;
    if (hops >= max_hops) {
      return Fail(ProblemType::kDns, "CNAME chain from " + std::string(qname) + " longer than " +
                                         std::to_string(max_hops));
    }
    if (!seen.insert(current).second) {
      return Fail(ProblemType::kDns, "CNAME loop at " + current);
    }
    chain->push_back(current);
    current = alias->rdata_text;
    if (seen.contains(current)) {
      return Fail(ProblemType::kDns, "CNAME loop at " + current);
    }
  }
}

Result<std::vector<uint8_t>> BuildQuery(uint16_t id, std::string_view name, uint16_t type,
                                        bool dnssec_ok) {
  std::vector<uint8_t> out = {
      static_cast<uint8_t>(id >> 8), static_cast<uint8_t>(id & 0xFF),
      0x01, 0x20,  // RD, AD
      0x00, 0x01,  // QDCOUNT
      0x00, 0x00, 0x00, 0x00,
      0x00, 0x01,  // ARCOUNT: OPT
  };
  size_t start = 0;
  while (start < name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string_view::npos) dot = name.size();
    size_t len = dot - start;
    if (len == 0 || len > 63) return Fail(ProblemType::kMalformed, "bad label in query name");
    out.push_back(static_cast<uint8_t>(len));
    out.insert(out.end(), name.begin() + static_cast<ptrdiff_t>(start),
               name.begin() + static_cast<ptrdiff_t>(dot));
    start = dot + 1;
  }
  out.push_back(0);
  if (out.size() - 12 > 255) return Fail(ProblemType::kMalformed, "query name too long");
  out.push_back(static_cast<uint8_t>(type >> 8));
  out.push_back(static_cast<uint8_t>(type & 0xFF));
  out.push_back(0x00);
  out.push_back(0x01);  // IN
  // OPT (RFC 6891 §6.1.2): root owner, type 41, UDP size 1232, ext-rcode 0, version 0, DO.
  const uint8_t opt[] = {0x00, 0x00, 0x29, 0x04, 0xD0, 0x00, 0x00,
                         static_cast<uint8_t>(dnssec_ok ? 0x80 : 0x00), 0x00, 0x00, 0x00};
  out.insert(out.end(), std::begin(opt), std::end(opt));
  return out;
}

Result<std::vector<std::string>> TxtStrings(std::span<const uint8_t> rdata) {
  std::vector<std::string> out;
  size_t p = 0;
  while (p < rdata.size()) {
    size_t len = rdata[p];
    if (p + 1 + len > rdata.size()) return tl::unexpected(Malformed("TXT string past rdata end"));
    out.emplace_back(reinterpret_cast<const char*>(rdata.data() + p + 1), len);
    p += 1 + len;
  }
  return out;
}

}  // namespace mpic::dns

#include "checks/internal/web_common.h"

#include <algorithm>
#include <memory>

#include "common/dns_name.h"

namespace mpic::checks::internal {
namespace {

// State of one AAAA+A pair of lookups; completes when both have answered.
struct AddressLookup {
  asio::any_io_executor executor;
  std::string host;
  Evidence* evidence = nullptr;
  std::function<void(Result<std::vector<asio::ip::address>>)> callback;
  std::optional<resolver::LookupResult> aaaa;
  std::optional<resolver::LookupResult> a;

  void MaybeFinish() {
    if (!aaaa || !a) return;
    // Record in a fixed order (AAAA, A) so evidence does not depend on timing.
    RecordLookup(*aaaa, host, dns::kAaaa, evidence);
    RecordLookup(*a, host, dns::kA, evidence);
    for (const auto* r : {&*aaaa, &*a}) {
      if (!*r) return callback(tl::unexpected(Error{ProblemType::kDns, (*r).error().error.detail}));
    }
    std::vector<asio::ip::address> out;
    for (const auto* r : {&*aaaa, &*a}) {
      for (const auto& rr : (*r)->records) {
        if (rr.type == dns::kAaaa && rr.rdata.size() == 16) {
          asio::ip::address_v6::bytes_type b;
          std::copy(rr.rdata.begin(), rr.rdata.end(), b.begin());
          out.emplace_back(asio::ip::address_v6(b));
        } else if (rr.type == dns::kA && rr.rdata.size() == 4) {
          asio::ip::address_v4::bytes_type b;
          std::copy(rr.rdata.begin(), rr.rdata.end(), b.begin());
          out.emplace_back(asio::ip::address_v4(b));
        }
      }
    }
    for (const auto& addr : out) {
      std::string text = addr.to_string();
      auto& seen = evidence->addresses_resolved;
      if (std::find(seen.begin(), seen.end(), text) == seen.end()) seen.push_back(text);
    }
    if (out.empty()) {
      bool nx = (*a)->nxdomain() || (*aaaa)->nxdomain();
      return callback(Fail(ProblemType::kDns, nx ? "no such domain: " + host + " (NXDOMAIN)"
                                                 : "no A or AAAA records for " + host));
    }
    callback(std::move(out));
  }
};

bool IsPrintable(unsigned char c) { return c >= 0x20 && c < 0x7f; }

}  // namespace

Result<WebIdentifier> ParseWebIdentifier(std::string_view identifier) {
  if (identifier.empty()) return Fail(ProblemType::kMalformed, "empty identifier");
  std::string text(identifier);
  bool ip_like = text.find(':') != std::string::npos ||
                 std::all_of(text.begin(), text.end(),
                             [](char c) { return (c >= '0' && c <= '9') || c == '.'; });
  if (ip_like) {
    boost::system::error_code ec;
    auto address = asio::ip::make_address(text, ec);
    // RFC 8738 §3: the canonical text form only; a zone index (RFC 4007) is never an identifier.
    if (ec || text.find('%') != std::string::npos || address.to_string() != text) {
      return Fail(ProblemType::kMalformed,
                  "identifier \"" + PrintableText(text, 64) +
                      "\" is not an IP address in canonical form (RFC 8738 §3, RFC 5952)");
    }
    return WebIdentifier{text, address};
  }
  auto name = NormalizeHostname(text);
  if (!name) {
    return Fail(ProblemType::kMalformed, "identifier \"" + PrintableText(text, 64) +
                                             "\" is not a valid DNS name: " + name.error().detail);
  }
  return WebIdentifier{*name, std::nullopt};
}

void LookupAddresses(asio::any_io_executor executor, resolver::Session& session,
                     const std::string& host, Deadline deadline, Evidence* evidence,
                     std::function<void(Result<std::vector<asio::ip::address>>)> callback) {
  auto state = std::make_shared<AddressLookup>();
  state->executor = executor;
  state->host = host;
  state->evidence = evidence;
  state->callback = std::move(callback);
  // Resolver callbacks run on the resolver's executor; hop back to the check's.
  session.Lookup(host, dns::kAaaa, deadline, [state](resolver::LookupResult r) {
    asio::dispatch(state->executor, [state, r = std::move(r)]() mutable {
      state->aaaa = std::move(r);
      state->MaybeFinish();
    });
  });
  session.Lookup(host, dns::kA, deadline, [state](resolver::LookupResult r) {
    asio::dispatch(state->executor, [state, r = std::move(r)]() mutable {
      state->a = std::move(r);
      state->MaybeFinish();
    });
  });
}

Result<std::vector<asio::ip::address>> ChooseCandidates(
    const std::vector<asio::ip::address>& addresses, const AddressPolicy& policy,
    CheckMetrics& metrics, std::string_view host) {
  std::optional<asio::ip::address> v6;
  std::optional<asio::ip::address> v4;
  std::string refused;
  for (const auto& addr : addresses) {
    auto& slot = addr.is_v6() ? v6 : v4;
    // Every address is judged (and a refusal counted), even once its family has a candidate.
    if (auto allowed = policy.Check(addr); !allowed) {
      metrics.ObserveRefusedAddress();
      if (!refused.empty()) refused += "; ";
      refused += allowed.error().detail;
      continue;
    }
    if (!slot) slot = addr;
  }
  std::vector<asio::ip::address> out;
  if (v6) out.push_back(*v6);
  if (v4) out.push_back(*v4);
  if (out.empty()) {
    return Fail(ProblemType::kConnection,
                "no usable address for " + std::string(host) + ": " + refused);
  }
  return out;
}

std::string PrintableText(std::string_view bytes, size_t max_bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  size_t n = std::min(bytes.size(), max_bytes);
  out.reserve(n + 8);
  for (size_t i = 0; i < n; ++i) {
    auto c = static_cast<unsigned char>(bytes[i]);
    if (IsPrintable(c) && c != '\\') {
      out += static_cast<char>(c);
    } else if (c == '\\') {
      out += "\\\\";
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  if (bytes.size() > max_bytes) out += "...";
  return out;
}

Deadline AttemptDeadline(Clock::time_point now, Deadline deadline, size_t index, size_t count) {
  if (now >= deadline || index + 1 >= count) return deadline;
  auto left = deadline - now;
  return now + left / static_cast<long>(count - index);
}

}  // namespace mpic::checks::internal

#include "openmpic/methods.h"

#include <array>

namespace mpic::openmpic {
namespace {

constexpr v1::Method kUnsupported = v1::METHOD_UNSPECIFIED;

// The one mapping table. A spec method mpic has no check for maps to kUnsupported (a 400).
constexpr std::array<MethodInfo, 13> kMethods{{
    {"acme-http-01", v1::HTTP_01, "3.2.2.4.19"},
    {"acme-dns-01", v1::DNS_01, "3.2.2.4.7"},
    {"acme-tls-alpn-01", v1::TLS_ALPN_01, "3.2.2.4.20"},
    {"dns-change", v1::DNS_CHANGE, "3.2.2.4.7"},
    {"dns-persistent", v1::DNS_PERSIST_01, "3.2.2.4.22"},
    {"dns-account-01", kUnsupported, "3.2.2.4.21"},
    {"website-change", v1::WEBSITE_CHANGE, "3.2.2.4.18"},
    {"ip-address", v1::IP_ADDRESS, "3.2.2.4.8"},
    {"contact-email-txt", v1::CONTACT_EMAIL_TXT, "3.2.2.4.14"},
    {"contact-email-caa", v1::CONTACT_EMAIL_CAA, "3.2.2.4.13"},
    {"contact-phone-txt", v1::CONTACT_PHONE_TXT, "3.2.2.4.16"},
    {"contact-phone-caa", v1::CONTACT_PHONE_CAA, "3.2.2.4.17"},
    {"reverse-address-lookup", v1::REVERSE_ADDRESS_LOOKUP, "3.2.2.5.3"},
}};

}  // namespace

std::span<const MethodInfo> Methods() { return kMethods; }

const MethodInfo* FindMethod(std::string_view name) {
  for (const MethodInfo& info : kMethods) {
    if (info.name == name) return &info;
  }
  return nullptr;
}

std::string_view MethodName(v1::Method method) {
  if (method == kUnsupported) return "";
  for (const MethodInfo& info : kMethods) {
    if (info.v1_method == method) return info.name;
  }
  return "";
}

}  // namespace mpic::openmpic

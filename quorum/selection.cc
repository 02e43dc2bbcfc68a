#include "quorum/selection.h"

#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/params.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

namespace mpic::quorum {
namespace {

using Digest = std::array<unsigned char, 32>;  // SHA-256

struct Ranked {
  Digest rank;
  const Perspective* perspective;
};

// HMAC-SHA256 keyed once per thread and secret: EVP_Q_mac (behind HMAC()) fetches the MAC and
// the digest and keys a new context on every call, which cost three times the hashing itself.
// Each call now duplicates a keyed context instead. The cache holds the secret the config
// already holds in memory; a different secret (another primary in the same process, a test)
// re-keys it.
class KeyedHmac {
 public:
  ~KeyedHmac() { EVP_MAC_CTX_free(keyed_); }
  // A fresh context keyed with `secret`, or null. The caller frees it.
  EVP_MAC_CTX* Fresh(std::string_view secret) {
    if (keyed_ == nullptr || secret != secret_) {
      EVP_MAC_CTX_free(keyed_);
      keyed_ = nullptr;
      secret_.assign(secret);
      static EVP_MAC* const mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
      if (mac == nullptr) return nullptr;
      EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(mac);
      char digest_name[] = "SHA256";
      const OSSL_PARAM params[] = {
          OSSL_PARAM_construct_utf8_string("digest", digest_name, 0), OSSL_PARAM_construct_end()};
      if (ctx == nullptr ||
          EVP_MAC_init(ctx, reinterpret_cast<const unsigned char*>(secret_.data()),
                       secret_.size(), params) != 1) {
        EVP_MAC_CTX_free(ctx);
        return nullptr;
      }
      keyed_ = ctx;
    }
    return EVP_MAC_CTX_dup(keyed_);
  }

 private:
  std::string secret_;
  EVP_MAC_CTX* keyed_ = nullptr;
};

// HMAC-SHA256(secret, len32(identifier) || identifier || name); the length prefix keeps the
// framing unambiguous whatever bytes the two strings hold.
Result<Digest> Rank(std::string_view secret, const std::string& identifier,
                    const std::string& name) {
  std::array<unsigned char, 4> size_prefix{};
  const auto size = static_cast<std::uint32_t>(identifier.size());
  for (int i = 0; i < 4; ++i) size_prefix[i] = static_cast<unsigned char>(size >> (24 - 8 * i));
  thread_local KeyedHmac hmac;
  EVP_MAC_CTX* ctx = hmac.Fresh(secret);
  Digest digest{};
  std::size_t digest_size = 0;
  const bool ok =
      ctx != nullptr && EVP_MAC_update(ctx, size_prefix.data(), size_prefix.size()) == 1 &&
      EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(identifier.data()),
                     identifier.size()) == 1 &&
      EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(name.data()), name.size()) ==
          1 &&
      EVP_MAC_final(ctx, digest.data(), &digest_size, digest.size()) == 1 &&
      digest_size == digest.size();
  EVP_MAC_CTX_free(ctx);
  if (!ok) return Fail(ProblemType::kServerInternal, "perspective selection: HMAC-SHA256 failed");
  return digest;
}

// Indices into `pool` (ascending): the top `count`, or, when those share a single RIR, the top
// count-1 plus the best-ranked remote of another RIR.
std::vector<std::size_t> PickCohort(const std::vector<const Perspective*>& pool,
                                    std::size_t count) {
  std::vector<std::size_t> picks;
  for (std::size_t i = 0; i < count; ++i) picks.push_back(i);
  if (count < 2) return picks;
  const Rir first = pool[0]->rir;
  const bool one_rir =
      std::all_of(picks.begin(), picks.end(), [&](std::size_t i) { return pool[i]->rir == first; });
  if (!one_rir) return picks;
  for (std::size_t j = count; j < pool.size(); ++j) {
    if (pool[j]->rir != first) {
      picks.back() = j;  // j > every other pick, so the indices stay ascending
      break;
    }
  }
  return picks;
}

}  // namespace

std::string NormalizeIdentifier(std::string_view identifier) {
  std::string out(identifier);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  if (!out.empty() && out.back() == '.') out.pop_back();
  return out;
}

Result<std::vector<Perspective>> SelectCohort(std::string_view secret, std::string_view identifier,
                                              int attempt, std::span<const Perspective> remotes,
                                              int count) {
  if (secret.size() < kMinSelectionSecretBytes) {
    return Fail(ProblemType::kMalformed,
                "perspective selection secret is " + std::to_string(secret.size()) +
                    " bytes; at least " + std::to_string(kMinSelectionSecretBytes) + " required");
  }
  if (count < 1) {
    return Fail(ProblemType::kMalformed,
                "perspective selection: count " + std::to_string(count) + " < 1");
  }
  if (attempt < 0) {
    return Fail(ProblemType::kMalformed,
                "perspective selection: attempt " + std::to_string(attempt) + " < 0");
  }

  const std::string normalized = NormalizeIdentifier(identifier);
  std::set<std::string_view> names;
  std::vector<Ranked> ranked;
  ranked.reserve(remotes.size());
  for (const Perspective& remote : remotes) {
    if (remote.name.empty() || !names.insert(remote.name).second) {
      return Fail(ProblemType::kMalformed, "perspective selection: remote name \"" + remote.name +
                                               "\" is empty or not unique");
    }
    Result<Digest> rank = Rank(secret, normalized, remote.name);
    if (!rank) return Fail(rank.error());
    ranked.push_back(Ranked{*rank, &remote});
  }
  std::sort(ranked.begin(), ranked.end(), [](const Ranked& a, const Ranked& b) {
    if (a.rank != b.rank) return a.rank < b.rank;
    return a.perspective->name < b.perspective->name;
  });

  std::vector<const Perspective*> pool;
  pool.reserve(ranked.size());
  for (const Ranked& r : ranked) pool.push_back(r.perspective);

  const auto wanted = static_cast<std::size_t>(count);
  for (int a = 0;; ++a) {
    if (pool.size() < wanted) {
      const std::string left = a == 0 ? "only " + std::to_string(pool.size()) + " configured"
                                      : std::to_string(pool.size()) + " of " +
                                            std::to_string(remotes.size()) +
                                            " left unused by attempts 0.." + std::to_string(a - 1);
      return Fail(ProblemType::kServerInternal,
                  "perspective pool exhausted: attempt " + std::to_string(attempt) + " needs " +
                      std::to_string(count) + " remote perspectives, " + left);
    }
    const std::vector<std::size_t> picks = PickCohort(pool, wanted);
    if (a == attempt) {
      std::vector<Perspective> cohort;
      cohort.reserve(picks.size());
      for (std::size_t i : picks) cohort.push_back(*pool[i]);
      return cohort;
    }
    // Remove from the back so earlier indices stay valid.
    for (auto it = picks.rbegin(); it != picks.rend(); ++it) {
      pool.erase(pool.begin() + static_cast<std::ptrdiff_t>(*it));
    }
  }
}

}  // namespace mpic::quorum

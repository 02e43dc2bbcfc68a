// The resolver state of ONE validation at ONE perspective, shared by every lookup of that
// validation (A, AAAA, TXT, the CAA climb): a `Resolver` whose sessions are all views onto a
// single session of the base resolver, created at the first lookup. With the libunbound
// backend that is one pristine context per validation, so the DNSSEC chain (root, TLD and
// zone keys) is fetched and verified once instead of once per lookup; nothing outlives the
// validation (BR §3.2.2.9: no answer, key or delegation reused across validations).
//
//   // per validation, per perspective, on the validation's strand:
//   ValidationResolver scope(strand, base_resolver);
//   auto a = scope.NewSession();      // views; the first Lookup creates the base session
//   auto aaaa = scope.NewSession();
//   a->Lookup("www.example.com", dns::kA, deadline, on_a);
//   aaaa->Lookup("www.example.com", dns::kAaaa, deadline, on_aaaa);
//   ...
//   scope.CancelAll();  // validation decided: fail what is pending, refuse new lookups
//
// Views keep the resolver.h contract: every callback runs on `executor`, exactly once, also
// when its view is cancelled or destroyed first. Cancel() on a view fails only that view's
// pending lookups (their base lookups run on, unobserved, until CancelAll() or the end of
// the scope). The base session lives as long as the scope or any view, whichever is last.
// Not thread-safe: use the scope and its views from `executor` (a strand) only.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/asio.h"
#include "resolver/resolver.h"

namespace mpic::resolver {
namespace internal {
struct ValidationShared;
}  // namespace internal

class ValidationResolver final : public Resolver {
 public:
  // `base` must outlive the scope and every view it hands out.
  ValidationResolver(asio::any_io_executor executor, Resolver& base);
  ~ValidationResolver() override;
  ValidationResolver(const ValidationResolver&) = delete;
  ValidationResolver& operator=(const ValidationResolver&) = delete;

  // A view onto the scope's one base session (not a session of its own).
  std::unique_ptr<Session> NewSession() override;
  // "per-validation(<base>)".
  std::string Describe() const override;

  // Fails every pending lookup of every view with a cancelled error and ends the base
  // session; lookups started afterwards on any view fail as cancelled.
  void CancelAll();

  // Base sessions created so far (0 or 1): for tests and metrics.
  [[nodiscard]] uint64_t base_sessions() const;

 private:
  std::shared_ptr<internal::ValidationShared> shared_;
};

}  // namespace mpic::resolver

#include "checks/internal/dns_lookup.h"

#include <memory>

#include "common/dns_name.h"

namespace mpic::checks::internal {
namespace {

struct LookupRun {
  CheckResult result;
  std::unique_ptr<resolver::Session> session;
};

}  // namespace

void FailBeforeQuery(asio::any_io_executor executor, Method method, std::string identifier,
                     Error error, std::function<void(CheckResult)> done) {
  CheckResult result;
  result.method = method;
  result.identifier = std::move(identifier);
  result.problem = std::move(error);
  asio::post(executor, [result = std::move(result), done = std::move(done)]() mutable {
    done(std::move(result));
  });
}

void RunSingleLookup(asio::any_io_executor executor, CheckDeps deps, Method method,
                     std::string identifier, std::string name, uint16_t type, Deadline deadline,
                     LookupJudge judge, std::function<void(CheckResult)> done) {
  auto run = std::make_shared<LookupRun>();
  run->result.method = method;
  run->result.identifier = std::move(identifier);
  run->session = deps.resolver.NewSession();
  // The resolver ends the lookup by the deadline (timeout error) and calls back exactly once,
  // on the executor; the session is released after the callback returns.
  auto* session = run->session.get();
  session->Lookup(name, type, deadline,
                  [run, name, type, judge = std::move(judge), done = std::move(done),
                   executor](resolver::LookupResult lookup) mutable {
                    RecordLookup(lookup, Fqdn(name), type, &run->result.evidence);
                    if (!lookup) {
                      const auto& e = lookup.error().error;
                      run->result.problem = Error{e.type, "DNS problem: " + e.detail};
                    } else {
                      judge(*lookup, &run->result);
                    }
                    // Never destroy a session from inside its own callback.
                    asio::post(executor, [session = std::move(run->session)] {});
                    done(std::move(run->result));
                  });
}

}  // namespace mpic::checks::internal

// va-primary: the primary validation authority. Thin main: flags, config, run the library.
//
//   va-primary --config primary.json             # serve until SIGTERM / SIGINT; SIGHUP reloads
//   va-primary --config primary.json --check-config
//   va-primary --help | --version
//
// Exit codes: 0 clean stop (or config OK, --help, --version), 2 bad flags or a configuration that
// cannot be used (including a fleet that cannot meet the configured BR phase), 1 runtime failure.
#include <signal.h>

#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>

#include "common/log.h"
#include "common/version.h"
#include "perspective/config.h"
#include "perspective/primary_config.h"
#include "perspective/shell.h"
#include "va-primary/primary_server.h"

namespace {

constexpr const char* kUsage =
    "usage: va-primary --config FILE [--check-config]\n"
    "       va-primary --help | --version\n"
    "  --config FILE   PrimaryConfig as JSON (proto3 JSON mapping, unknown fields rejected)\n"
    "  --check-config  validate the configuration and the fleet, print a summary and exit\n"
    "  --help          this text\n"
    "  --version       the version and git revision of this build\n";

int Usage() {
  std::cerr << kUsage;
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path;
  bool check_only = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      return 0;
    } else if (arg == "--version") {
      std::cout << "va-primary " << mpic::kVersion << " (git " << mpic::kGitRevision << ")\n";
      return 0;
    } else if (arg == "--config" && i + 1 < argc) {
      config_path = argv[++i];
    } else if (arg.rfind("--config=", 0) == 0) {
      config_path = arg.substr(9);
    } else if (arg == "--check-config") {
      check_only = true;
    } else {
      std::cerr << "va-primary: unknown argument \"" << arg << "\"\n";
      return Usage();
    }
  }
  if (config_path.empty()) return Usage();

  auto config = mpic::perspective::LoadPrimaryConfig(config_path);
  if (!config) {
    std::cerr << "va-primary: " << config.error().detail << "\n";
    return 2;
  }
  if (check_only) {
    auto settings = mpic::perspective::ValidatePrimaryConfig(*config, mpic::perspective::UtcToday());
    if (!settings) {
      std::cerr << "va-primary: " << settings.error().detail << "\n";
      return 2;
    }
    for (const std::string& warning : settings->warnings) {
      std::cerr << "va-primary: WARNING: " << warning << "\n";
    }
    for (const std::string& reason : settings->non_production) {
      std::cout << "NOT FOR PRODUCTION: " << reason << "\n";
    }
    for (const auto& [method, deadlines] : settings->method_deadlines) {
      std::cout << "method " << mpic::v1::Method_Name(static_cast<mpic::v1::Method>(method))
                << ": max_check_ms " << deadlines.max_check.count() << ", remote_timeout_ms "
                << deadlines.remote_timeout.count() << "\n";
    }
    std::cout << "configuration OK: " << settings->remotes.size() << " remote perspective(s), "
              << settings->remotes_per_validation << " per validation, "
              << settings->policy.Describe() << "\n";
    std::cout << "rate limits: " << settings->rate_limits.Describe() << "\n";
    return 0;
  }

  mpic::perspective::PrepareServerProcess("va-primary");

  auto server = mpic::va_primary::PrimaryServer::Start(*config);
  if (!server) {
    std::cerr << "va-primary: " << server.error().detail << "\n";
    return server.error().type == mpic::ProblemType::kMalformed ? 2 : 1;
  }
  // SIGHUP reloads: the config file read again and applied if every --check-config rule passes
  // and only live fields changed; otherwise refused, the running configuration kept. Either way
  // logged and counted (mpic_config_reloads_total); the server keeps serving.
  while (mpic::perspective::WaitForSignal() == SIGHUP) {
    mpic::log::Info("SIGHUP: reloading the configuration", {{"config", config_path}});
    (void)(*server)->Reload(config_path);
  }
  (*server)->Shutdown();
  return 0;
}

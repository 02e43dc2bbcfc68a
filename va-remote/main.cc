// va-remote: a remote perspective of the mpic fleet. See va-remote/remote_server.h.
//
//   va-remote --config remote.json                 # serve until SIGTERM/SIGINT; SIGHUP reloads
//   va-remote --config remote.json --check-config  # "config OK" (exit 0) or why (exit 2)
//   va-remote --help | --version
//
// remote.json (mpic.v1.RemoteConfig; proto field names or their lowerCamel JSON names):
//   {"identity": {"name": "eu-fra-1", "rir": "RIPE_NCC",
//                 "location": {"latitude": 50.11, "longitude": 8.68}},
//    "listen": "0.0.0.0:8443", "metrics_listen": "127.0.0.1:9100",
//    "ready_file": "/run/va-remote/ready.json",
//    "tls": {"ca_file": "fleet-ca.pem", "cert_file": "eu-fra-1.pem", "key_file": "eu-fra-1.key"},
//    "resolver": {"unbound": {}},   // the real root from dns-root-data
//    "max_check_ms": 10000, "max_concurrent": 64,
//    "authorized_primaries": ["us-east-iad-1"]}   // who may call Check (docs/operations.md)
//
// Exit codes: 0 after SIGTERM/SIGINT (or a good --check-config), 2 for bad flags or config,
// 1 when serving cannot start (e.g. the address is in use).
#include <signal.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "common/log.h"
#include "common/version.h"
#include "perspective/config.h"
#include "perspective/factories.h"
#include "perspective/shell.h"
#include "va-remote/remote_server.h"

namespace {

constexpr int kExitConfig = 2;
constexpr int kExitRuntime = 1;

void Usage(std::FILE* out) {
  std::fputs(
      "usage: va-remote --config FILE [--check-config]\n"
      "       va-remote --help | --version\n"
      "  --config FILE   RemoteConfig as JSON (proto3 JSON mapping, unknown fields rejected)\n"
      "  --check-config  validate the configuration, print \"config OK\" and exit\n"
      "  --help          this text\n"
      "  --version       the version and git revision of this build\n",
      out);
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path;
  bool check_only = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      Usage(stdout);
      return 0;
    } else if (arg == "--version") {
      std::printf("va-remote %s (git %s)\n", mpic::kVersion, mpic::kGitRevision);
      return 0;
    } else if (arg == "--check-config") {
      check_only = true;
    } else if (arg == "--config" && i + 1 < argc) {
      config_path = argv[++i];
    } else if (arg.starts_with("--config=")) {
      config_path = std::string(arg.substr(std::strlen("--config=")));
    } else {
      std::fprintf(stderr, "va-remote: unknown or incomplete argument \"%s\"\n", argv[i]);
      Usage(stderr);
      return kExitConfig;
    }
  }
  if (config_path.empty()) {
    std::fputs("va-remote: --config FILE is required\n", stderr);
    Usage(stderr);
    return kExitConfig;
  }

  auto config = mpic::perspective::LoadRemoteConfig(config_path);
  if (!config) {
    std::fprintf(stderr, "va-remote: %s\n", config.error().detail.c_str());
    return kExitConfig;
  }
  if (auto st = mpic::perspective::ValidateRemoteConfig(*config); !st) {
    std::fprintf(stderr, "va-remote: %s: %s\n", config_path.c_str(), st.error().detail.c_str());
    return kExitConfig;
  }
  if (check_only) {
    // Also parse the root hints and trust anchor as the resolver will (no query leaves).
    mpic::asio::io_context io;
    auto resolver = mpic::perspective::MakeResolver(io.get_executor(), config->resolver(), config->lab());
    if (!resolver) {
      std::fprintf(stderr, "va-remote: %s: resolver: %s\n", config_path.c_str(),
                   resolver.error().detail.c_str());
      return kExitConfig;
    }
    for (const std::string& warning : mpic::perspective::ResolverWarnings(config->resolver())) {
      std::printf("WARNING: %s\n", warning.c_str());
    }
    std::vector<std::string> reasons = mpic::perspective::NonProductionReasons(config->lab());
    if (config->authorized_primaries().empty() && mpic::perspective::IsLabMode(config->lab())) {
      reasons.push_back("authorized_primaries empty: any fleet certificate may call Check");
    }
    for (const std::string& reason : reasons) {
      std::printf("NOT FOR PRODUCTION: %s\n", reason.c_str());
    }
    std::puts("config OK");
    return 0;
  }

  mpic::perspective::PrepareServerProcess("va-remote");

  auto server = mpic::va_remote::RemoteServer::Start(*config);
  if (!server) {
    std::fprintf(stderr, "va-remote: %s\n", server.error().detail.c_str());
    return server.error().type == mpic::ProblemType::kMalformed ? kExitConfig : kExitRuntime;
  }
  // SIGHUP reloads: the config file read again and applied if every --check-config rule passes
  // and only live fields changed; otherwise refused, the running configuration kept. Either way
  // logged and counted (mpic_config_reloads_total); the server keeps serving.
  while (mpic::perspective::WaitForSignal() == SIGHUP) {
    mpic::log::Info("SIGHUP: reloading the configuration", {{"config", config_path}});
    (void)(*server)->Reload(config_path);
  }
  (*server)->Shutdown();
  server->reset();
  return 0;
}

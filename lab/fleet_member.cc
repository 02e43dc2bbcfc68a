#include "lab/fleet_member.h"

#include <google/protobuf/util/json_util.h>
#include <openssl/rand.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "checks/key_authorization.h"
#include "lab/pki.h"

namespace mpic::lab {
namespace {

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

std::string RandomHex(size_t bytes) {
  std::vector<uint8_t> buf(bytes);
  if (RAND_bytes(buf.data(), static_cast<int>(buf.size())) != 1) {
    // Never expected; a fixed secret only weakens a lab's perspective selection.
    return std::string(bytes * 2, '0');
  }
  return checks::Hex(buf);
}

Result<std::string> ToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  std::string json;
  auto st = google::protobuf::util::MessageToJsonString(message, &json, options);
  if (!st.ok()) return Fail(ProblemType::kServerInternal, "cannot encode a config as JSON");
  return json;
}

v1::TlsFiles TlsFor(const MemberSpec& spec) {
  v1::TlsFiles tls;
  tls.set_ca_file(spec.pki_dir + "/ca.pem");
  tls.set_cert_file(spec.pki_dir + "/" + spec.identity.name() + ".pem");
  tls.set_key_file(spec.pki_dir + "/" + spec.identity.name() + ".key");
  return tls;
}

Result<FleetMember> Launch(const MemberSpec& spec, const std::string& binary,
                           const google::protobuf::Message& config, const std::string& ready_file,
                           const FleetDirs& dirs) {
  FleetMember m;
  m.identity = spec.identity;
  m.config_file = dirs.config + "/" + spec.FileName() + ".json";
  m.ready_file = ready_file;
  auto json = ToJson(config);
  if (!json) return Fail(json.error());
  if (auto st = WriteFile(m.config_file, *json, 0644); !st) return Fail(st.error());
  std::error_code ec;
  fs::remove(m.ready_file, ec);
  auto child = ChildProcess::Start(MemberArgv(binary, m.config_file, spec.netns),
                                   dirs.logs + "/" + spec.FileName() + ".log");
  if (!child) return Fail(child.error());
  m.process.emplace(std::move(*child));
  return m;
}

// Sleeps `d` in small steps; false when interrupted.
bool SleepUnlessInterrupted(std::chrono::milliseconds d, const std::function<bool()>& interrupted) {
  auto until = Clock::now() + d;
  while (Clock::now() < until) {
    if (interrupted()) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return !interrupted();
}

}  // namespace

FleetDirs FleetDirs::Under(const std::string& dir) {
  return {dir + "/config", dir + "/run", dir + "/logs"};
}

Status FleetDirs::Create() const {
  for (const std::string* dir : {&config, &run, &logs}) {
    std::error_code ec;
    fs::create_directories(*dir, ec);
    if (ec) {
      return Fail(ProblemType::kServerInternal, "cannot create " + *dir + ": " + ec.message());
    }
  }
  return {};
}

std::string MemberSpec::FileName() const { return file_name.empty() ? identity.name() : file_name; }

v1::RemoteConfig RemoteConfigFor(const RemoteSpec& spec, const std::string& ready_file) {
  const MemberSpec& m = spec.member;
  v1::RemoteConfig config;
  *config.mutable_identity() = m.identity;
  config.set_listen(m.listen);
  config.set_ready_file(ready_file);
  config.set_metrics_listen(m.metrics_listen);
  *config.mutable_tls() = TlsFor(m);
  *config.mutable_resolver() = m.resolver;
  *config.mutable_lab() = m.lab;
  config.set_max_check_ms(m.max_check_ms);
  config.set_max_concurrent(spec.max_concurrent);
  for (const std::string& name : spec.authorized_primaries) config.add_authorized_primaries(name);
  return config;
}

v1::PrimaryConfig PrimaryConfigFor(const PrimarySpec& spec, const std::string& ready_file) {
  const MemberSpec& m = spec.member;
  v1::PrimaryConfig config;
  *config.mutable_identity() = m.identity;
  config.set_listen(m.listen);
  config.set_ready_file(ready_file);
  config.set_metrics_listen(m.metrics_listen);
  *config.mutable_server_tls() = TlsFor(m);
  *config.mutable_client_tls() = TlsFor(m);
  for (const v1::RemoteEndpoint& remote : spec.remotes) *config.add_remotes() = remote;
  *config.mutable_resolver() = m.resolver;
  *config.mutable_lab() = m.lab;
  *config.mutable_policy() = spec.policy;
  config.set_remotes_per_validation(spec.remotes_per_validation > 0
                                        ? spec.remotes_per_validation
                                        : static_cast<uint32_t>(spec.remotes.size()));
  config.set_selection_secret(spec.selection_secret.empty() ? RandomHex(32)
                                                            : spec.selection_secret);
  config.set_remote_timeout_ms(spec.remote_timeout_ms);
  config.set_straggler_grace_ms(spec.straggler_grace_ms);
  config.set_audit_log(spec.audit_log);
  config.set_max_check_ms(m.max_check_ms);
  for (const std::string& name : spec.authorized_clients) config.add_authorized_clients(name);
  if (spec.openmpic) *config.mutable_openmpic() = *spec.openmpic;
  return config;
}

std::vector<std::string> MemberArgv(const std::string& binary, const std::string& config_file,
                                    const std::string& netns) {
  std::vector<std::string> argv;
  if (!netns.empty()) argv = {"ip", "netns", "exec", netns};
  argv.insert(argv.end(), {binary, "--config", config_file});
  return argv;
}

Result<FleetMember> LaunchRemote(const RemoteSpec& spec, const std::string& bin_dir,
                                 const FleetDirs& dirs) {
  const std::string ready = dirs.run + "/" + spec.member.FileName() + ".ready";
  return Launch(spec.member, bin_dir + "/va-remote", RemoteConfigFor(spec, ready), ready, dirs);
}

Result<FleetMember> LaunchPrimary(const PrimarySpec& spec, const std::string& bin_dir,
                                  const FleetDirs& dirs) {
  const std::string ready = dirs.run + "/" + spec.member.FileName() + ".ready";
  return Launch(spec.member, bin_dir + "/va-primary", PrimaryConfigFor(spec, ready), ready, dirs);
}

Status AwaitReady(std::vector<FleetMember*> members, std::chrono::milliseconds timeout,
                  const std::function<bool()>& interrupted) {
  const auto deadline = Clock::now() + timeout;
  std::vector<FleetMember*> pending = std::move(members);
  while (!pending.empty()) {
    std::vector<FleetMember*> still;
    for (FleetMember* m : pending) {
      if (!m->process || !m->process->Running()) {
        const std::string log = m->process ? m->process->log_file() : "";
        return Fail(ProblemType::kServerInternal,
                    m->identity.name() + " " +
                        (m->process ? m->process->how_it_ended() : "was not started") +
                        " before it was ready; its log (" + log + "):\n" + TailOfFile(log));
      }
      std::ifstream in(m->ready_file);
      std::stringstream body;
      body << in.rdbuf();
      // The writer may be mid-write: unparsable or incomplete means "not yet".
      auto ready = nlohmann::json::parse(body.str(), nullptr, /*allow_exceptions=*/false);
      if (ready.is_object() && ready.contains("address") && ready["address"].is_string() &&
          !ready["address"].get<std::string>().empty()) {
        m->address = ready["address"].get<std::string>();
        if (ready.contains("metrics") && ready["metrics"].is_string()) {
          m->metrics = ready["metrics"].get<std::string>();
        }
        if (ready.contains("openmpic") && ready["openmpic"].is_string()) {
          m->openmpic = ready["openmpic"].get<std::string>();
        }
      } else {
        still.push_back(m);
      }
    }
    pending = std::move(still);
    if (pending.empty()) break;
    if (Clock::now() > deadline) {
      std::string names;
      for (FleetMember* m : pending) {
        names += (names.empty() ? "" : ", ") + m->identity.name() + " (log " +
                 m->process->log_file() + ")";
      }
      return Fail(ProblemType::kServerInternal,
                  "not ready in " + std::to_string(timeout.count()) + " ms: " + names);
    }
    if (!SleepUnlessInterrupted(std::chrono::milliseconds(50), interrupted)) {
      return Fail(ProblemType::kServerInternal, "interrupted");
    }
  }
  return {};
}

void StopMembers(FleetMember* primary, std::vector<FleetMember>& remotes) {
  // The primary first (no new fan-out), then all remotes at once.
  if (primary != nullptr && primary->process) {
    primary->process->Stop();
    primary->process.reset();
  }
  for (FleetMember& m : remotes) {
    if (m.process) m.process->Terminate();
  }
  for (FleetMember& m : remotes) {
    if (m.process) {
      m.process->Stop();
      m.process.reset();
    }
  }
}

}  // namespace mpic::lab

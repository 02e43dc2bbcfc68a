// va-remote as the primary sees it: the real binary on loopback, mTLS with a throwaway PKI,
// the DNS lab as its resolver. Plus the library in-process for what needs a tight config.
#include <arpa/inet.h>
#include <fcntl.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "checks/key_authorization.h"
#include "lab/dnslab.h"
#include "lab/pki.h"
#include "mpic/v1/perspective.grpc.pb.h"
#include "perspective/config.h"
#include "perspective/factories.h"
#include "tests/integration/child.h"
#include "tests/integration/command.h"
#include "tests/integration/grpc_client.h"
#include "va-remote/remote_metrics.h"
#include "va-remote/remote_server.h"

namespace mpic::testing {
namespace {

using lab::DnsLab;
using TestPki = lab::Pki;  // the lab's PKI, as files in one directory
using lab::CertPair;

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;

constexpr char kName[] = "eu-test-1";
// RFC 8555 §8.1: token "." base64url(thumbprint); both base64url, the token >= 128 bits.
const std::string kToken = "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0";
const std::string kKeyAuthorization = kToken + ".9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI";

// Waits (bounded) for a ready file and parses it.
std::optional<json> WaitReady(const std::string& path, Child* child,
                              std::chrono::milliseconds limit) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (fs::exists(path)) {
      auto j = json::parse(ReadAll(path), nullptr, /*allow_exceptions=*/false);
      if (!j.is_discarded()) return j;
    }
    if (child && !child->Running()) return std::nullopt;
    std::this_thread::sleep_for(20ms);
  }
  return std::nullopt;
}

// GET path over plain HTTP/1.0 on loopback; "" on any failure. Bounded by `limit`.
std::string HttpGet(const std::string& address, const std::string& path,
                    std::chrono::milliseconds limit) {
  auto colon = address.rfind(':');
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(std::stoi(address.substr(colon + 1))));
  if (inet_pton(AF_INET, address.substr(0, colon).c_str(), &sa.sin_addr) != 1) return "";
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return "";
  timeval tv{static_cast<time_t>(limit.count() / 1000),
             static_cast<suseconds_t>((limit.count() % 1000) * 1000)};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  std::string out;
  if (connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0) {
    std::string req = "GET " + path + " HTTP/1.0\r\nHost: " + address + "\r\n\r\n";
    if (send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size())) {
      auto end = std::chrono::steady_clock::now() + limit;
      char buf[4096];
      while (std::chrono::steady_clock::now() < end) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        out.append(buf, static_cast<size_t>(n));
      }
    }
  }
  close(fd);
  return out;
}

class VaRemoteTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    signal(SIGPIPE, SIG_IGN);
    auto lab = DnsLab::Start();
    ASSERT_TRUE(lab) << lab.error();
    lab_ = lab->release();
    char tmpl[] = "/tmp/mpic-va-remote-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = new std::string(tmpl);
    auto pki = TestPki::Create(*dir_ + "/pki", "fleet CA");
    ASSERT_TRUE(pki) << pki.error().detail;
    pki_ = new TestPki(*pki);
    auto rogue = TestPki::Create(*dir_ + "/rogue", "rogue CA");
    ASSERT_TRUE(rogue) << rogue.error().detail;
    auto server = pki_->Issue(kName, {kName}, {"127.0.0.1"});
    auto client = pki_->Issue("primary", {"primary"}, {});
    auto rogue_client = rogue->Issue("intruder", {"primary"}, {"127.0.0.1"});
    // The CA side's certificate: signed by the same fleet CA, but not a primary.
    auto ca_client = pki_->Issue("mpic-ca-client", {"mpic-ca-client"}, {});
    ASSERT_TRUE(server && client && rogue_client && ca_client);
    ca_client_cert_ = new CertPair(*ca_client);
    server_cert_ = new CertPair(*server);
    client_cert_ = new CertPair(*client);
    rogue_cert_ = new CertPair(*rogue_client);

    std::string config = WriteConfig("remote", Config("remote"));
    remote_ = new Child({BinDir() + "/va-remote", "--config", config}, *dir_ + "/remote.log");
    auto ready = WaitReady(*dir_ + "/remote.ready", remote_, 30s);
    ASSERT_TRUE(ready) << "va-remote did not become ready:\n" << remote_->Log();
    address_ = new std::string((*ready)["address"]);
    metrics_ = new std::string((*ready)["metrics"]);
    EXPECT_EQ((*ready)["pid"], remote_->pid());
  }

  static void TearDownTestSuite() {
    if (remote_) {
      remote_->Signal(SIGTERM);
      auto code = remote_->Wait(15s);
      EXPECT_EQ(code, 0) << remote_->Log();
    }
    delete remote_;
    remote_ = nullptr;
    delete lab_;
    lab_ = nullptr;
    if (dir_) {
      std::error_code ec;
      fs::remove_all(*dir_, ec);
    }
    delete dir_;
    delete pki_;
    delete server_cert_;
    delete client_cert_;
    delete rogue_cert_;
    delete ca_client_cert_;
    ca_client_cert_ = nullptr;
    delete address_;
    delete metrics_;
    dir_ = nullptr;
    pki_ = nullptr;
    server_cert_ = client_cert_ = rogue_cert_ = nullptr;
    address_ = metrics_ = nullptr;
  }

  // A RemoteConfig as JSON; `tag` names its ready file.
  static json Config(const std::string& tag) {
    return json{
        {"identity",
         {{"name", kName},
          {"rir", "RIPE_NCC"},
          {"location", {{"latitude", 50.11}, {"longitude", 8.68}}},
          {"region", "Frankfurt, DE"}}},
        {"listen", "127.0.0.1:0"},
        {"ready_file", *dir_ + "/" + tag + ".ready"},
        {"metrics_listen", "127.0.0.1:0"},
        {"tls",
         {{"ca_file", pki_->ca_cert},
          {"cert_file", server_cert_->cert_file},
          {"key_file", server_cert_->key_file}}},
        {"resolver",
         {{"unbound",
           {{"root_hints_file", lab_->root_hints_file()},
            {"trust_anchor_file", lab_->trust_anchor_file()}}}}},
        {"lab", {{"allow_cidrs", {"127.0.0.0/8"}}}},
        {"max_check_ms", 8000},
        {"max_concurrent", 16},
        {"authorized_primaries", {"primary"}},
    };
  }

  static std::string WriteConfig(const std::string& tag, const json& config) {
    std::string path = *dir_ + "/" + tag + ".json";
    std::ofstream(path) << config.dump(2);
    return path;
  }

  static std::shared_ptr<grpc::Channel> Channel(const std::string& address,
                                                const CertPair* client_cert) {
    return mpic::testing::MtlsChannel(address, pki_->ca_cert_pem, client_cert, kName);
  }

  static grpc::Status Check(const std::string& address, const v1::CheckRequest& request,
                            v1::CheckResponse* response, std::chrono::milliseconds deadline = 15s,
                            const CertPair* cert = client_cert_) {
    auto stub = v1::Perspective::NewStub(Channel(address, cert));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + deadline);
    return stub->Check(&context, request, response);
  }

  static v1::CheckRequest Dns01Request(const std::string& identifier) {
    v1::CheckRequest r;
    r.set_request_id("test-" + identifier);
    r.set_identifier(identifier);
    r.mutable_dcv()->set_method(v1::DNS_01);
    r.mutable_dcv()->set_key_authorization(kKeyAuthorization);
    return r;
  }

  static std::string HealthStatus(const std::string& address, const std::string& service) {
    return mpic::testing::HealthStatus(Channel(address, client_cert_), service);
  }

  static DnsLab* lab_;
  static std::string* dir_;
  static TestPki* pki_;
  static CertPair* server_cert_;
  static CertPair* client_cert_;
  static CertPair* rogue_cert_;
  static CertPair* ca_client_cert_;
  static Child* remote_;
  static std::string* address_;
  static std::string* metrics_;
};

DnsLab* VaRemoteTest::lab_ = nullptr;
std::string* VaRemoteTest::dir_ = nullptr;
TestPki* VaRemoteTest::pki_ = nullptr;
CertPair* VaRemoteTest::server_cert_ = nullptr;
CertPair* VaRemoteTest::client_cert_ = nullptr;
CertPair* VaRemoteTest::rogue_cert_ = nullptr;
CertPair* VaRemoteTest::ca_client_cert_ = nullptr;
Child* VaRemoteTest::remote_ = nullptr;
std::string* VaRemoteTest::address_ = nullptr;
std::string* VaRemoteTest::metrics_ = nullptr;

TEST_F(VaRemoteTest, Dns01ValidThroughTheLabWithCaaAndIdentity) {
  ASSERT_TRUE(lab_->Set("secure.lab.", "_acme-challenge.dns01ok", "TXT",
                        {"\"" + checks::Dns01TxtValue(kKeyAuthorization) + "\""}));
  v1::CheckRequest request = Dns01Request("dns01ok.secure.lab");
  request.mutable_caa()->add_issuer_domains("ca.example");
  v1::CheckResponse response;
  grpc::Status status = Check(*address_, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_code() << " " << status.error_message();
  EXPECT_EQ(response.perspective().name(), kName);
  EXPECT_EQ(response.perspective().rir(), v1::RIPE_NCC);
  EXPECT_EQ(response.perspective().region(), "Frankfurt, DE");
  EXPECT_DOUBLE_EQ(response.perspective().location().latitude(), 50.11);
  ASSERT_TRUE(response.has_dcv());
  EXPECT_TRUE(response.dcv().valid()) << response.dcv().problem().detail();
  EXPECT_EQ(response.dcv().method(), v1::DNS_01);
  EXPECT_EQ(response.dcv().identifier(), "dns01ok.secure.lab");
  ASSERT_GE(response.dcv().evidence().lookups_size(), 1);
  EXPECT_EQ(response.dcv().evidence().lookups(0).dnssec(), "secure");
  ASSERT_EQ(response.dcv().evidence().txt_values_size(), 1);
  EXPECT_EQ(response.dcv().evidence().txt_values(0), checks::Dns01TxtValue(kKeyAuthorization));
  ASSERT_TRUE(response.has_caa());
  EXPECT_TRUE(response.caa().valid()) << response.caa().problem().detail();
  EXPECT_EQ(response.caa().method(), v1::CAA);
  EXPECT_EQ(response.caa().evidence().caa_name(), "secure.lab.");
}

TEST_F(VaRemoteTest, Dns01WrongValueIsAnOkReplyWithAProblem) {
  ASSERT_TRUE(lab_->Set("secure.lab.", "_acme-challenge.dns01bad", "TXT", {"\"not-it\""}));
  v1::CheckResponse response;
  grpc::Status status = Check(*address_, Dns01Request("dns01bad.secure.lab"), &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_TRUE(response.has_dcv());
  EXPECT_FALSE(response.dcv().valid());
  EXPECT_EQ(response.dcv().problem().type(), "urn:ietf:params:acme:error:unauthorized");
  EXPECT_FALSE(response.has_caa());
  EXPECT_EQ(response.perspective().name(), kName);
}

TEST_F(VaRemoteTest, CaaOnlyForbiddenIssuer) {
  v1::CheckRequest request;
  request.set_identifier("www.secure.lab");
  request.mutable_caa()->add_issuer_domains("other-ca.example");
  v1::CheckResponse response;
  grpc::Status status = Check(*address_, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_FALSE(response.has_dcv());
  ASSERT_TRUE(response.has_caa());
  EXPECT_FALSE(response.caa().valid());
  EXPECT_EQ(response.caa().problem().type(), "urn:ietf:params:acme:error:caa");
  ASSERT_EQ(response.caa().evidence().caa_records_size(), 1);
}

TEST_F(VaRemoteTest, ClientWithoutCertificateIsRejected) {
  v1::CheckResponse response;
  grpc::Status status =
      Check(*address_, Dns01Request("www.secure.lab"), &response, 10s, /*cert=*/nullptr);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
}

TEST_F(VaRemoteTest, ClientWithCertificateFromAnotherCaIsRejected) {
  v1::CheckResponse response;
  grpc::Status status =
      Check(*address_, Dns01Request("www.secure.lab"), &response, 10s, rogue_cert_);
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
}

// Issue 15, defect 5: mutual TLS alone let any fleet certificate (the CA client's too) call a
// remote's Check; only the primaries in authorized_primaries may.
TEST_F(VaRemoteTest, FleetCertificateNotAuthorizedIsPermissionDenied) {
  v1::CheckResponse response;
  grpc::Status status =
      Check(*address_, Dns01Request("www.secure.lab"), &response, 10s, ca_client_cert_);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << status.error_message();
  EXPECT_NE(status.error_message().find("mpic-ca-client"), std::string::npos)
      << status.error_message();
  EXPECT_NE(status.error_message().find("authorized_primaries"), std::string::npos);
  // The primary named in the config still gets its answer.
  status = Check(*address_, Dns01Request("www.secure.lab"), &response, 10s, client_cert_);
  EXPECT_TRUE(status.ok()) << status.error_message();
  std::string page = HttpGet(*metrics_, "/metrics", 5s);
  EXPECT_NE(page.find("mpic_remote_requests_total{code=\"PERMISSION_DENIED\"} "), std::string::npos)
      << page;
}

TEST_F(VaRemoteTest, MalformedRequestsAreInvalidArgument) {
  v1::CheckRequest none;
  none.set_identifier("www.secure.lab");
  v1::CheckResponse response;
  grpc::Status status = Check(*address_, none, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("no check"), std::string::npos) << status.error_message();

  for (v1::Method method : {v1::METHOD_UNSPECIFIED, v1::CAA, static_cast<v1::Method>(77)}) {
    v1::CheckRequest bad = Dns01Request("www.secure.lab");
    bad.mutable_dcv()->set_method(method);
    status = Check(*address_, bad, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << method;
    EXPECT_FALSE(status.error_message().empty());
  }
  v1::CheckRequest no_identifier = Dns01Request("");
  status = Check(*address_, no_identifier, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  // Issue 15, defect 8: bytes that are not a CheckRequest at all get INVALID_ARGUMENT with a
  // reason (gRPC's generated code answered a bare UNIMPLEMENTED).
  status = RawUnaryCall(Channel(*address_, client_cert_), "/mpic.v1.Perspective/Check",
                        std::string("\xff\xff\xff\xff\x0f garbage", 13));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  EXPECT_NE(status.error_message().find("CheckRequest"), std::string::npos)
      << status.error_message();
  EXPECT_TRUE(remote_->Running());
}

TEST_F(VaRemoteTest, OversizedRequestIsRejectedWithoutHarm) {
  v1::CheckRequest huge = Dns01Request(std::string(200 * 1024, 'a'));
  v1::CheckResponse response;
  grpc::Status status = Check(*address_, huge, &response);
  EXPECT_TRUE(status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED ||
              status.error_code() == grpc::StatusCode::INVALID_ARGUMENT)
      << status.error_code() << " " << status.error_message();
  // Long, but under the message limit: the check refuses the name, the RPC is fine.
  v1::CheckRequest long_name = Dns01Request(std::string(2000, 'a') + ".secure.lab");
  status = Check(*address_, long_name, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_FALSE(response.dcv().valid());
  EXPECT_EQ(HealthStatus(*address_, ""), "SERVING");
  EXPECT_TRUE(remote_->Running());
}

TEST_F(VaRemoteTest, DeadlineIsHonoured) {
  // dead.lab's server never answers: the call ends by its deadline, either with
  // DEADLINE_EXCEEDED or with a reply carrying a dns problem (the check's own timeout).
  v1::CheckResponse response;
  grpc::Status status = Check(*address_, Dns01Request("www.dead.lab"), &response, 1s);
  if (status.ok()) {
    ASSERT_TRUE(response.has_dcv());
    EXPECT_FALSE(response.dcv().valid());
    EXPECT_EQ(response.dcv().problem().type(), "urn:ietf:params:acme:error:dns");
  } else {
    EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << status.error_message();
  }
  // And the perspective is fine afterwards.
  status = Check(*address_, Dns01Request("dns01bad.secure.lab"), &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
}

TEST_F(VaRemoteTest, ClientCancellationEndsTheCall) {
  auto stub = v1::Perspective::NewStub(Channel(*address_, client_cert_));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + 20s);
  v1::CheckRequest request = Dns01Request("www.dead.lab");
  v1::CheckResponse response;
  std::promise<grpc::Status> done;
  stub->async()->Check(&context, &request, &response,
                       [&done](grpc::Status s) { done.set_value(std::move(s)); });
  std::this_thread::sleep_for(300ms);
  context.TryCancel();
  auto future = done.get_future();
  ASSERT_EQ(future.wait_for(20s), std::future_status::ready);
  EXPECT_EQ(future.get().error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_EQ(HealthStatus(*address_, ""), "SERVING");
}

TEST_F(VaRemoteTest, HealthServiceReportsServing) {
  EXPECT_EQ(HealthStatus(*address_, ""), "SERVING");
  EXPECT_EQ(HealthStatus(*address_, "mpic.v1.Perspective"), "SERVING");
}

TEST_F(VaRemoteTest, MetricsAreServed) {
  // At least one check has run in this test (order of tests is not guaranteed).
  v1::CheckResponse response;
  ASSERT_TRUE(Check(*address_, Dns01Request("dns01bad.secure.lab"), &response).ok());
  std::string page = HttpGet(*metrics_, "/metrics", 5s);
  ASSERT_NE(page.find(" 200 "), std::string::npos) << page;
  EXPECT_NE(page.find("mpic_non_production{role=\"remote\"} 1"), std::string::npos) << page;
  EXPECT_NE(page.find("mpic_checks_total{method=\"dns-01\",outcome=\"invalid\",role=\"remote\"}"),
            std::string::npos)
      << page;
  EXPECT_NE(page.find("mpic_check_duration_seconds_bucket"), std::string::npos);
  EXPECT_NE(page.find("mpic_remote_requests_total{code=\"OK\"}"), std::string::npos);
  EXPECT_NE(page.find("mpic_remote_inflight"), std::string::npos);
  EXPECT_EQ(page.find("secure.lab"), std::string::npos) << "a domain leaked into a label";
}

TEST_F(VaRemoteTest, CheckConfig) {
  std::string good = WriteConfig("good", Config("good"));
  auto ok = RunCommand({BinDir() + "/va-remote", "--config", good, "--check-config"}, 20s);
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_NE(ok.out.find("config OK"), std::string::npos);
  // Issue 15, defect 6: lab mode is never silent, and cannot open the world.
  EXPECT_NE(ok.out.find("NOT FOR PRODUCTION: lab mode: special-purpose ranges allowed "
                        "(127.0.0.0/8)"),
            std::string::npos)
      << ok.out;
  EXPECT_NE(ok.out.find("WARNING: resolver.unbound.trust_anchor_file"), std::string::npos)
      << ok.out;
  json world = Config("world");
  world["lab"]["allow_cidrs"] = {"0.0.0.0/0"};
  auto open = RunCommand(
      {BinDir() + "/va-remote", "--config", WriteConfig("world", world), "--check-config"}, 20s);
  EXPECT_EQ(open.exit_code, 2);
  EXPECT_NE(open.err.find("not a lab range"), std::string::npos) << open.err;

  json typo = Config("typo");
  typo["max_chek_ms"] = 5;
  auto r = RunCommand(
      {BinDir() + "/va-remote", "--config", WriteConfig("typo", typo), "--check-config"}, 20s);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("max_chek_ms"), std::string::npos) << r.err;

  json invalid = Config("invalid");
  invalid["identity"]["location"]["latitude"] = 123;
  r = RunCommand(
      {BinDir() + "/va-remote", "--config", WriteConfig("invalid", invalid), "--check-config"},
      20s);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("latitude"), std::string::npos) << r.err;

  // Readable, but not a trust anchor: found by --check-config, not at the first query.
  std::string garbage = *dir_ + "/garbage.key";
  std::ofstream(garbage) << "this is not a DS record\n";
  json bad_anchor = Config("bad_anchor");
  bad_anchor["resolver"]["unbound"]["trust_anchor_file"] = garbage;
  r = RunCommand({BinDir() + "/va-remote", "--config", WriteConfig("bad_anchor", bad_anchor),
                  "--check-config"},
                 20s);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("resolver"), std::string::npos) << r.err;

  r = RunCommand({BinDir() + "/va-remote", "--config", *dir_ + "/missing.json"}, 20s);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("missing.json"), std::string::npos) << r.err;
}

// Issue 15 (operators): a rotated server certificate is served without a restart. The server
// credentials every mpic server uses re-read their files (here every second).
TEST_F(VaRemoteTest, RotatedServerCertificateIsServedWithoutRestart) {
  const std::string tls_dir = *dir_ + "/rotating";
  fs::create_directories(tls_dir);
  auto first = pki_->Issue("before-rotation", {"before-rotation"}, {"127.0.0.1"});
  auto second = pki_->Issue("after-rotation", {"after-rotation"}, {"127.0.0.1"});
  ASSERT_TRUE(first && second);
  auto install = [&](const CertPair& pair) {
    // Replace each file atomically (write, rename), as cert-manager's symlink swap does.
    for (auto [from, to] : {std::pair{pair.cert_file, tls_dir + "/tls.crt"},
                            std::pair{pair.key_file, tls_dir + "/tls.key"}}) {
      fs::copy_file(from, to + ".new", fs::copy_options::overwrite_existing);
      fs::rename(to + ".new", to);
    }
  };
  install(*first);
  v1::TlsFiles tls;
  tls.set_ca_file(pki_->ca_cert);
  tls.set_cert_file(tls_dir + "/tls.crt");
  tls.set_key_file(tls_dir + "/tls.key");
  auto credentials = perspective::MakeServerCredentials(tls, std::chrono::seconds(1));
  ASSERT_TRUE(credentials) << credentials.error().detail;
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", *credentials, &port);
  v1::Perspective::CallbackService unanswered;  // a callback service: the health service runs
  builder.RegisterService(&unanswered);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_TRUE(server && port != 0);
  const std::string address = "127.0.0.1:" + std::to_string(port);
  // A fresh connection each time (no subchannel shared with an earlier, failed attempt).
  auto channel_as = [&](const std::string& name, const CertPair* cert) {
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = pki_->ca_cert_pem;
    options.pem_cert_chain = cert->cert_pem;
    options.pem_private_key = cert->key_pem;
    grpc::ChannelArguments args;
    args.SetSslTargetNameOverride(name);
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    return grpc::CreateCustomChannel(address, grpc::SslCredentials(options), args);
  };
  auto status_as = [&](const std::string& name) {
    return mpic::testing::HealthStatus(channel_as(name, client_cert_));
  };
  EXPECT_EQ(status_as("before-rotation"), "SERVING");
  EXPECT_NE(status_as("after-rotation"), "SERVING");  // not that certificate yet
  install(*second);
  std::string after;
  for (int i = 0; i < 100 && after != "SERVING"; ++i) {  // bounded: 100 x 100 ms
    std::this_thread::sleep_for(100ms);
    after = status_as("after-rotation");
  }
  EXPECT_EQ(after, "SERVING") << "the rotated certificate was not picked up";
  EXPECT_NE(status_as("before-rotation"), "SERVING");  // the old one is gone
  // Still only clients of the fleet CA.
  EXPECT_NE(mpic::testing::HealthStatus(channel_as("after-rotation", rogue_cert_)), "SERVING");
  server->Shutdown(std::chrono::system_clock::now() + 2s);
}

// Reload (SIGHUP, docs/operations.md): a broken or restart-only config is refused and the old
// one stays in force; a changed authorized_primaries applies to the next call.
TEST_F(VaRemoteTest, SighupReloadsAuthorizedPrimaries) {
  json config = Config("reload");
  const std::string path = WriteConfig("reload", config);
  Child child({BinDir() + "/va-remote", "--config", path}, *dir_ + "/reload.log");
  auto ready = WaitReady(*dir_ + "/reload.ready", &child, 30s);
  ASSERT_TRUE(ready) << child.Log();
  const std::string address = (*ready)["address"];
  const std::string metrics = (*ready)["metrics"];
  auto reloads = [&](const std::string& result) {
    const std::string sample =
        "mpic_config_reloads_total{result=\"" + result + "\",role=\"remote\"} ";
    const std::string page = HttpGet(metrics, "/metrics", 5s);
    const auto at = page.find(sample);
    return at == std::string::npos ? -1 : std::stod(page.substr(at + sample.size()));
  };
  auto sighup = [&](const std::string& result) {
    const double before = reloads(result);
    child.Signal(SIGHUP);
    for (int i = 0; i < 200 && reloads(result) == before; ++i) std::this_thread::sleep_for(25ms);
    return reloads(result) == before + 1;
  };
  auto code_as = [&](const CertPair* cert) {
    v1::CheckResponse response;
    return Check(address, Dns01Request("www.secure.lab"), &response, 10s, cert).error_code();
  };
  EXPECT_EQ(reloads("applied"), 0);
  EXPECT_EQ(code_as(client_cert_), grpc::StatusCode::OK);
  EXPECT_EQ(code_as(ca_client_cert_), grpc::StatusCode::PERMISSION_DENIED);

  // Unreadable JSON, then a restart-only change: both refused, the old configuration serves.
  std::ofstream(path) << "{\"identity\": ";
  ASSERT_TRUE(sighup("refused")) << child.Log();
  json moved = config;
  moved["listen"] = "127.0.0.1:1";
  moved["authorized_primaries"] = {"mpic-ca-client"};
  WriteConfig("reload", moved);
  ASSERT_TRUE(sighup("refused")) << child.Log();
  EXPECT_NE(child.Log().find("restart to change listen"), std::string::npos) << child.Log();
  EXPECT_EQ(code_as(client_cert_), grpc::StatusCode::OK);
  EXPECT_EQ(code_as(ca_client_cert_), grpc::StatusCode::PERMISSION_DENIED);

  // A new authorized list: in effect for the next call.
  json swapped = config;
  swapped["authorized_primaries"] = {"mpic-ca-client"};
  WriteConfig("reload", swapped);
  ASSERT_TRUE(sighup("applied")) << child.Log();
  EXPECT_EQ(code_as(ca_client_cert_), grpc::StatusCode::OK);
  EXPECT_EQ(code_as(client_cert_), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_NE(child.Log().find("configuration reloaded"), std::string::npos);
  EXPECT_EQ(reloads("refused"), 2);

  child.Signal(SIGTERM);
  EXPECT_EQ(child.Wait(15s), 0) << child.Log();
}

TEST_F(VaRemoteTest, SigtermExitsZeroPromptly) {
  std::string config = WriteConfig("term", Config("term"));
  Child child({BinDir() + "/va-remote", "--config", config}, *dir_ + "/term.log");
  auto ready = WaitReady(*dir_ + "/term.ready", &child, 30s);
  ASSERT_TRUE(ready) << child.Log();
  // One RPC in flight that would take long: shutdown must not wait for its check.
  auto stub = v1::Perspective::NewStub(Channel((*ready)["address"], client_cert_));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + 20s);
  v1::CheckRequest request = Dns01Request("www.dead.lab");
  v1::CheckResponse response;
  std::promise<grpc::Status> done;
  stub->async()->Check(&context, &request, &response,
                       [&done](grpc::Status s) { done.set_value(std::move(s)); });
  std::this_thread::sleep_for(300ms);
  child.Signal(SIGTERM);
  auto code = child.Wait(15s);
  ASSERT_TRUE(code.has_value()) << "still running after SIGTERM\n" << child.Log();
  EXPECT_EQ(*code, 0) << child.Log();
  auto future = done.get_future();
  ASSERT_EQ(future.wait_for(20s), std::future_status::ready);
  EXPECT_FALSE(future.get().ok());
  // The logs are JSON lines.
  std::istringstream log(child.Log());
  int lines = 0;
  for (std::string line; std::getline(log, line);) {
    if (line.empty()) continue;
    EXPECT_FALSE(json::parse(line, nullptr, false).is_discarded()) << line;
    ++lines;
  }
  EXPECT_GE(lines, 2);
}

// In-process: the library as a test or a tool embeds it, with a one-check limit.
TEST_F(VaRemoteTest, InProcessServerRefusesBeyondMaxConcurrent) {
  json j = Config("inproc");
  j["max_concurrent"] = 1;
  j.erase("ready_file");
  j.erase("metrics_listen");
  auto config = perspective::ParseRemoteConfig(j.dump(), "inline");
  ASSERT_TRUE(config) << config.error().detail;
  auto server = va_remote::RemoteServer::Start(*config);
  ASSERT_TRUE(server) << server.error().detail;
  EXPECT_EQ((*server)->metrics_address(), "");
  std::string address = (*server)->address();

  auto stub = v1::Perspective::NewStub(Channel(address, client_cert_));
  grpc::ClientContext slow_context;
  slow_context.set_deadline(std::chrono::system_clock::now() + 20s);
  v1::CheckRequest slow = Dns01Request("www.dead.lab");
  v1::CheckResponse slow_response;
  std::promise<grpc::Status> slow_done;
  stub->async()->Check(&slow_context, &slow, &slow_response,
                       [&slow_done](grpc::Status s) { slow_done.set_value(std::move(s)); });
  // Bounded wait until the slow check holds the only slot.
  std::string text;
  for (int i = 0; i < 200; ++i) {
    text = (*server)->metrics().Serialize();
    if (text.find("mpic_remote_inflight 1") != std::string::npos) break;
    std::this_thread::sleep_for(25ms);
  }
  ASSERT_NE(text.find("mpic_remote_inflight 1"), std::string::npos) << text;

  v1::CheckResponse response;
  grpc::Status status = Check(address, Dns01Request("dns01bad.secure.lab"), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << status.error_message();

  slow_context.TryCancel();
  auto future = slow_done.get_future();
  ASSERT_EQ(future.wait_for(20s), std::future_status::ready);
  EXPECT_EQ(future.get().error_code(), grpc::StatusCode::CANCELLED);
  // The slot comes back once the cancelled check's lookups are cancelled (bounded); until
  // then a retry is refused again, and counted.
  int refused = 1;
  for (int i = 0; i < 200; ++i) {
    status = Check(address, Dns01Request("dns01bad.secure.lab"), &response);
    if (status.ok()) break;
    if (status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) ++refused;
    std::this_thread::sleep_for(25ms);
  }
  EXPECT_TRUE(status.ok()) << status.error_message();
  (*server)->Shutdown();
  text = (*server)->metrics().Serialize();
  EXPECT_NE(text.find("mpic_remote_requests_total{code=\"RESOURCE_EXHAUSTED\"} " +
                      std::to_string(refused) + "\n"),
            std::string::npos)
      << "refused " << refused << " times:\n"
      << text;
  EXPECT_NE(text.find("mpic_remote_inflight 0"), std::string::npos) << text;
}

}  // namespace
}  // namespace mpic::testing

namespace mpic::testing {
namespace {

using nlohmann::json;

// A server owns its port: a second one on a port in use refuses to start (gRPC enables
// SO_REUSEPORT by default, which let both serve and split the connections between them).
TEST_F(VaRemoteTest, SecondServerOnAPortInUseRefusesToStart) {
  json j = Config("first");
  j.erase("ready_file");
  j.erase("metrics_listen");
  auto config = perspective::ParseRemoteConfig(j.dump(), "inline");
  ASSERT_TRUE(config) << config.error().detail;
  auto first = va_remote::RemoteServer::Start(*config);
  ASSERT_TRUE(first) << first.error().detail;
  json again = Config("second");
  again.erase("ready_file");
  again.erase("metrics_listen");
  again["listen"] = (*first)->address();
  auto second_config = perspective::ParseRemoteConfig(again.dump(), "inline");
  ASSERT_TRUE(second_config) << second_config.error().detail;
  auto second = va_remote::RemoteServer::Start(*second_config);
  ASSERT_FALSE(second);
  EXPECT_NE(second.error().detail.find("cannot listen"), std::string::npos)
      << second.error().detail;
  (*first)->Shutdown();
}

}  // namespace
}  // namespace mpic::testing

// The membership commands through the real `shoal` binary: create a network, initialise a
// node, sign its request, install the certificate, show the identity; the files and modes left
// on disk; and the errors for bad input.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "support/cli.hpp"
#include "support/test_dir.hpp"

namespace shoal::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

unsigned mode_of(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return st.st_mode & 07777;
}

class member_cli_test : public ::testing::Test {
 protected:
  member_cli_test() : shoal_(dir_ / "scratch") { fs::create_directories(dir_ / "scratch"); }

  run_result run(std::vector<std::string> args) {
    args.insert(args.begin(), {"--data-dir", data().string()});
    return shoal_.run(args);
  }
  fs::path data() const { return dir_ / "node"; }
  fs::path identity(const char* file) const { return data() / "identity" / file; }

  // network create + init, checked; returns the node ID from init's JSON.
  std::string create_and_init() {
    auto r = run({"network", "create", "acme", "--out", dir_.path().string()});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    r = run({"--json", "init", "--network", (dir_ / "acme.cert").string(), "--name", "web-1"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json::parse(r.out).value("id", "");
  }
  // Signs node.csr into web-1.cert with the authority key `key` (default acme.key).
  run_result sign(std::vector<std::string> extra = {}, fs::path key = {}) {
    if (key.empty()) key = dir_ / "acme.key";
    std::vector<std::string> args{
        "network",    "sign", identity("node.csr").string(), "--authority",
        key.string(), "-o",   (dir_ / "web-1.cert").string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return run(args);
  }

  temp_dir dir_;
  cli shoal_;
};

TEST_F(member_cli_test, create_init_sign_install_id) {
  auto r = run({"network", "create", "acme", "--out", dir_.path().string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find((dir_ / "acme.key").string()), std::string::npos) << r.out;
  EXPECT_NE(r.out.find((dir_ / "acme.cert").string()), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("secret"), std::string::npos) << r.out;
  EXPECT_EQ(mode_of(dir_ / "acme.key"), 0600u);
  EXPECT_EQ(mode_of(dir_ / "acme.cert"), 0644u);

  r = run({"init", "--network", (dir_ / "acme.cert").string(), "--name", "web-1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("nd1"), std::string::npos);
  EXPECT_NE(r.out.find(identity("node.csr").string()), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("shoal network sign"), std::string::npos) << r.out;
  // Issue 22, item 10: the hints can be pasted (full paths, this data directory).
  EXPECT_NE(r.out.find("shoal network sign " + identity("node.csr").string()), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("shoal --data-dir " + data().string() + " init --certificate " +
                       identity("node.cert").string()),
            std::string::npos)
      << r.out;
  EXPECT_EQ(mode_of(data() / "identity"), 0700u);
  EXPECT_EQ(mode_of(identity("node.key")), 0600u);
  EXPECT_EQ(mode_of(identity("node.csr")), 0644u);
  EXPECT_EQ(mode_of(identity("network.cert")), 0644u);
  EXPECT_EQ(read_bytes(identity("network.cert")), read_bytes(dir_ / "acme.cert"));

  // Before a certificate is installed, `id` shows what it can and exits 1.
  r = run({"--json", "id"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  json before = json::parse(r.out);
  EXPECT_FALSE(before["valid"].get<bool>());
  EXPECT_FALSE(before["certificate_installed"].get<bool>());
  EXPECT_EQ(before["name"], "web-1");
  const std::string id = before["id"];

  r = run({"--json", "network", "sign", identity("node.csr").string(), "--authority",
           (dir_ / "acme.key").string(), "--expires-in", "12h", "--label", "site=ams", "--label",
           "role=web"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json signed_ = json::parse(r.out);
  EXPECT_EQ(signed_["id"], id);
  EXPECT_EQ(signed_["name"], "web-1");
  EXPECT_EQ(signed_["network"], "acme");
  EXPECT_EQ(signed_["labels"], (json{{"site", "ams"}, {"role", "web"}}));
  EXPECT_EQ(signed_["not_after"].get<std::int64_t>() - signed_["not_before"].get<std::int64_t>(),
            12 * 3600 + 60);
  // The default output is the request's path with .cert.
  EXPECT_EQ(signed_["certificate"], identity("node.cert").string());
  const fs::path cert = dir_ / "web-1.cert";
  fs::rename(identity("node.cert"), cert);

  r = run({"init", "--certificate", cert.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(mode_of(identity("node.cert")), 0644u);

  r = run({"id"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find(id), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("site=ams"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("valid now:    yes"), std::string::npos) << r.out;

  r = run({"--json", "id"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json after = json::parse(r.out);
  EXPECT_EQ(after["id"], id);
  EXPECT_EQ(after["network"], "acme");
  EXPECT_TRUE(after["valid"].get<bool>());
  EXPECT_EQ(after["labels"], (json{{"site", "ams"}, {"role", "web"}}));
  EXPECT_EQ(after["not_after"], signed_["not_after"]);
}

TEST_F(member_cli_test, existing_files_are_not_overwritten) {
  create_and_init();
  const auto key = read_bytes(dir_ / "acme.key");
  auto r = run({"network", "create", "acme", "--out", dir_.path().string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("already exists"), std::string::npos) << r.err;
  EXPECT_EQ(read_bytes(dir_ / "acme.key"), key);

  const auto node_key = read_bytes(identity("node.key"));
  r = run({"--json", "init", "--network", (dir_ / "acme.cert").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(json::parse(r.out)["error"]["code"], "already_exists");
  EXPECT_NE(r.err.find("already initialised"), std::string::npos) << r.err;
  EXPECT_EQ(read_bytes(identity("node.key")), node_key);
}

TEST_F(member_cli_test, bad_inputs_get_clear_errors) {
  create_and_init();
  const auto expect_error = [&](std::vector<std::string> args, int code, const std::string& text) {
    auto r = run(args);
    EXPECT_EQ(r.exit_code, code) << args[0] << " " << args[1] << ": " << r.err;
    EXPECT_NE(r.err.find(text), std::string::npos) << "expected \"" << text << "\" in: " << r.err;
  };
  const auto key = (dir_ / "acme.key").string();
  const auto csr = identity("node.csr").string();

  expect_error({"network", "sign", (dir_ / "missing.csr").string(), "--authority", key}, 1,
               "does not exist");
  write_bytes(dir_ / "garbage.csr", pattern_bytes(300, 7));
  expect_error({"network", "sign", (dir_ / "garbage.csr").string(), "--authority", key}, 1,
               "does not hold a PEM certificate request");
  expect_error({"network", "sign", csr, "--authority", key, "--expires-in", "30"}, 1, "no unit");
  expect_error({"network", "sign", csr, "--authority", key, "--expires-in", "0d"}, 1,
               "at least 1 s");
  expect_error({"network", "sign", csr, "--authority", key, "--expires-in", "9999d"}, 1,
               "3650 days");
  expect_error({"network", "sign", csr, "--authority", key, "--label", "Site=x"}, 1,
               "label key \"Site\"");
  expect_error({"network", "sign", csr, "--authority", key, "--label", "site"}, 1, "key=value");
  expect_error({"network", "sign", csr, "--authority", key, "--label", "site=a,b"}, 1,
               "other than ',' and '='");
  expect_error({"network", "sign", csr, "--authority", (dir_ / "nope.key").string()}, 1,
               "does not exist");
  expect_error({"network", "sign", csr}, 2, "--authority");
  expect_error({"network", "create", "-bad"}, 2, "");
  expect_error({"network", "create", "a/b"}, 1, "network name");
  expect_error({"init", "--certificate", (dir_ / "none.cert").string()}, 1, "does not exist");
  expect_error({"init", "--network", (dir_ / "acme.cert").string(), "--certificate", "x"}, 2,
               "excludes");
  expect_error({"init"}, 2, "--network");
  EXPECT_FALSE(fs::exists(identity("node.cert")));

  // A certificate from another authority that took the same network name.
  auto r = run({"network", "create", "acme", "--out", (dir_ / "scratch").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(sign({}, dir_ / "scratch" / "acme.key").exit_code, 0);
  expect_error({"init", "--certificate", (dir_ / "web-1.cert").string()}, 1,
               "another authority that is also named 'acme'");

  // Not initialised at all.
  r = shoal_.run({"--data-dir", (dir_ / "empty").string(), "id"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("shoal init"), std::string::npos) << r.err;
}

TEST_F(member_cli_test, expired_certificate_is_refused) {
  create_and_init();
  ASSERT_EQ(sign({"--expires-in", "1s"}).exit_code, 0);
  // The certificate is backdated by 60 s and valid for 1 s after signing: wait until it lapses.
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  auto r = run({"init", "--certificate", (dir_ / "web-1.cert").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("expired at"), std::string::npos) << r.err;
  r = run({"--json", "init", "--certificate", (dir_ / "web-1.cert").string()});
  EXPECT_EQ(json::parse(r.out)["error"]["code"], "untrusted");
}

}  // namespace
}  // namespace shoal::testing

// Membership without the network: the authority's files, a node's identity from init to load,
// the certificate profile, labels and expiry parsing, and every refusal of a bad request or
// certificate. Validity windows are explicit, so expired certificates need no waiting.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include "member/authority.hpp"
#include "member/files.hpp"
#include "member/identity.hpp"
#include "member/labels.hpp"
#include "member/pem.hpp"
#include "support/test_dir.hpp"

namespace shoal::member {
namespace {

namespace fs = std::filesystem;
using shoal::testing::temp_dir;

constexpr std::int64_t day = 86400;

unsigned mode_of(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return st.st_mode & 07777;
}

std::string slurp(const fs::path& p) {
  auto r = read_small_file(p, "file");
  EXPECT_TRUE(r.ok()) << p;
  return r.ok() ? *r : std::string();
}

// The node ID computed here straight from OpenSSL, independently of pem.cpp.
node_id id_of_key_file(const fs::path& key_file) {
  auto key = read_key(key_file);
  EXPECT_TRUE(key.ok());
  std::uint8_t raw[32];
  std::size_t len = sizeof raw;
  EXPECT_EQ(EVP_PKEY_get_raw_public_key(key->get(), raw, &len), 1);
  EXPECT_EQ(len, 32u);
  return node_id::of_public_key(byte_span(raw, len));
}

class member_test : public ::testing::Test {
 protected:
  member_test() {
    auto ca = make_authority("acme", now_);
    EXPECT_TRUE(ca.ok());
    ca_ = std::move(*ca);
    network_cert_ = dir_ / "acme.cert";
    EXPECT_TRUE(write_new_file(network_cert_, cert_to_pem(ca_.cert.get()), 0644).ok());
  }

  fs::path data() const { return dir_ / "data"; }

  init_result init(const fs::path& data_dir, const std::string& name = "node-1") {
    auto r = init_identity(data_dir, network_cert_, name);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.err().message);
    return r.ok() ? *r : init_result{};
  }

  // Signs the data directory's request and writes the certificate to `out`.
  // `any_network`: the node's key in a request that names no network (as requests made
  // before they named one), so that an authority of another network signs it too.
  fs::path sign(const authority& ca, const fs::path& data_dir, const issue_options& options,
                const std::string& out = "node.cert", bool any_network = false) {
    auto csr = read_csr(paths_of(data_dir).csr);
    EXPECT_TRUE(csr.ok());
    if (any_network) {
      auto key = read_key(paths_of(data_dir).key);
      EXPECT_TRUE(key.ok());
      csr = make_request(key->get(), common_name(X509_REQ_get_subject_name(csr->get())));
      EXPECT_TRUE(csr.ok());
    }
    auto issued = sign_request(ca, csr->get(), options, "node.csr");
    EXPECT_TRUE(issued.ok()) << (issued.ok() ? "" : issued.err().message);
    const auto path = dir_ / out;
    EXPECT_TRUE(replace_file(path, cert_to_pem(issued->cert.get()), 0644).ok());
    return path;
  }

  issue_options valid_window(std::vector<label> labels = {}) const {
    return issue_window(now_, default_node_validity, std::move(labels));
  }

  const std::int64_t now_ = unix_now();
  temp_dir dir_;
  authority ca_;
  fs::path network_cert_;
};

TEST_F(member_test, authority_files_have_private_and_public_modes) {
  // A missing output directory is made, owner-only, since it holds the key.
  ASSERT_TRUE(create_authority(dir_ / "missing" / "deeper", "corp", now_).ok());
  EXPECT_EQ(mode_of(dir_ / "missing" / "deeper"), 0700u);
  // The modes come from the code, not the umask: a permissive one does not widen the key, a
  // strict one does not hide the certificate.
  for (const mode_t mask : {mode_t{0}, mode_t{077}}) {
    const auto old_mask = ::umask(mask);
    const auto out = dir_ / ("out-" + std::to_string(mask));
    fs::create_directories(out);
    auto created = create_authority(out, "corp", now_);
    ::umask(old_mask);
    ASSERT_TRUE(created.ok()) << created.err().message;
    EXPECT_EQ(created->key, out / "corp.key");
    EXPECT_EQ(created->cert, out / "corp.cert");
    EXPECT_EQ(mode_of(created->key), 0600u);
    EXPECT_EQ(mode_of(created->cert), 0644u);
  }
  auto files = create_authority(dir_.path(), "corp", now_);
  ASSERT_TRUE(files.ok());
  EXPECT_NE(slurp(files->key).find("-----BEGIN PRIVATE KEY-----"), std::string::npos);

  auto loaded = load_authority(files->key, files->cert);
  ASSERT_TRUE(loaded.ok()) << loaded.err().message;
  EXPECT_EQ(loaded->network_name, "corp");
}

TEST_F(member_test, authority_certificate_follows_the_profile) {
  X509* c = ca_.cert.get();
  EXPECT_EQ(X509_get_version(c), X509_VERSION_3);
  EXPECT_EQ(common_name(X509_get_subject_name(c)), "acme");
  EXPECT_EQ(common_name(X509_get_issuer_name(c)), "acme");
  EXPECT_EQ(X509_get_extension_flags(c) & EXFLAG_CA, static_cast<std::uint32_t>(EXFLAG_CA));
  EXPECT_EQ(X509_get_pathlen(c), 0);
  EXPECT_EQ(X509_get_key_usage(c), static_cast<std::uint32_t>(KU_KEY_CERT_SIGN | KU_CRL_SIGN));
  EXPECT_NE(X509_get0_subject_key_id(c), nullptr);
  int crit = 0;
  for (int nid : {NID_basic_constraints, NID_key_usage}) {
    const int i = X509_get_ext_by_NID(c, nid, -1);
    ASSERT_GE(i, 0);
    crit = X509_EXTENSION_get_critical(X509_get_ext(c, i));
    EXPECT_EQ(crit, 1) << nid;
  }
  // Ten years, and a positive serial of at most 16 octets.
  EXPECT_GE(not_after_unix(c) - now_, 3650 * day);
  const ASN1_INTEGER* serial = X509_get0_serialNumber(c);
  EXPECT_EQ(ASN1_STRING_type(serial), V_ASN1_INTEGER);  // V_ASN1_NEG_INTEGER if negative
  EXPECT_LE(ASN1_STRING_length(serial), 16);
  EXPECT_TRUE(check_network_certificate(c, "acme").ok());
}

TEST_F(member_test, create_authority_refuses_to_overwrite) {
  ASSERT_TRUE(create_authority(dir_.path(), "corp", now_).ok());
  const auto key_before = slurp(dir_ / "corp.key");
  auto again = create_authority(dir_.path(), "corp", now_);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.err().code, errc::already_exists);
  EXPECT_NE(again.err().message.find("corp.key"), std::string::npos) << again.err().message;
  EXPECT_EQ(slurp(dir_ / "corp.key"), key_before);

  // A certificate alone is enough to refuse, and no key is left behind.
  ASSERT_TRUE(write_new_file(dir_ / "solo.cert", "x", 0644).ok());
  auto solo = create_authority(dir_.path(), "solo", now_);
  ASSERT_FALSE(solo.ok());
  EXPECT_EQ(solo.err().code, errc::already_exists);
  EXPECT_FALSE(fs::exists(dir_ / "solo.key"));
}

TEST_F(member_test, names_are_checked) {
  for (const char* bad : {"", "-x", ".hidden", "a/b", "sp ace", "é"})
    EXPECT_FALSE(make_authority(bad, now_).ok()) << bad;
  EXPECT_FALSE(make_authority(std::string(65, 'a'), now_).ok());
  EXPECT_TRUE(make_authority(std::string(64, 'a'), now_).ok());
  EXPECT_TRUE(check_name("host-1.example_x", "node name").ok());
}

TEST_F(member_test, init_sign_install_load) {
  const auto r = init(data());
  const auto p = paths_of(data());
  EXPECT_EQ(mode_of(p.dir), 0700u);
  EXPECT_EQ(mode_of(p.key), 0600u);
  EXPECT_EQ(mode_of(p.csr), 0644u);
  EXPECT_EQ(mode_of(p.network_cert), 0644u);
  EXPECT_FALSE(fs::exists(p.node_cert));
  EXPECT_EQ(r.name, "node-1");
  EXPECT_EQ(r.network_name, "acme");
  EXPECT_EQ(r.csr, p.csr);
  EXPECT_EQ(r.id, id_of_key_file(p.key));

  const auto cert = sign(ca_, data(), valid_window());
  auto installed = install_certificate(data(), cert, now_);
  ASSERT_TRUE(installed.ok()) << installed.err().message;
  EXPECT_EQ(installed->id, r.id);
  EXPECT_EQ(mode_of(p.node_cert), 0644u);

  auto a = load_identity(data(), now_);
  ASSERT_TRUE(a.ok()) << a.err().message;
  auto b = load_identity(data());
  ASSERT_TRUE(b.ok()) << b.err().message;
  EXPECT_EQ(a->self.id, r.id);
  EXPECT_EQ(b->self.id, r.id);
  EXPECT_EQ(a->self.name, "node-1");
  EXPECT_EQ(a->network_name, "acme");
  EXPECT_EQ(a->self.not_after_unix, now_ + default_node_validity.count());
  EXPECT_EQ(a->self.not_before_unix, now_ - backdating.count());

  auto status = read_identity_status(data(), now_);
  ASSERT_TRUE(status.ok());
  EXPECT_TRUE(status->valid) << status->problem;
  EXPECT_EQ(status->id, r.id);
  EXPECT_EQ(status->network_name, "acme");
  ASSERT_TRUE(status->certificate.has_value());
}

TEST_F(member_test, node_certificate_follows_the_profile) {
  init(data());
  auto cert = read_cert(sign(ca_, data(), valid_window({{"site", "ams"}})), "certificate");
  ASSERT_TRUE(cert.ok());
  X509* c = cert->get();
  EXPECT_EQ(X509_get_version(c), X509_VERSION_3);
  EXPECT_EQ(X509_check_ca(c), 0);
  EXPECT_EQ(X509_get_key_usage(c), static_cast<std::uint32_t>(KU_DIGITAL_SIGNATURE));
  EXPECT_EQ(X509_get_extended_key_usage(c),
            static_cast<std::uint32_t>(XKU_SSL_SERVER | XKU_SSL_CLIENT));
  EXPECT_NE(X509_get0_authority_key_id(c), nullptr);
  EXPECT_EQ(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(c),
                                  X509_get0_subject_key_id(ca_.cert.get())),
            0);
  for (int nid : {NID_basic_constraints, NID_key_usage}) {
    const int i = X509_get_ext_by_NID(c, nid, -1);
    ASSERT_GE(i, 0);
    EXPECT_EQ(X509_EXTENSION_get_critical(X509_get_ext(c, i)), 1) << nid;
  }
  // The node ID is in the certificate for people to read, and equals the derived one.
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(c, NID_subject_alt_name, nullptr, nullptr));
  ASSERT_NE(names, nullptr);
  std::vector<std::string> uris;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* n = sk_GENERAL_NAME_value(names, i);
    ASSERT_EQ(n->type, GEN_URI);
    uris.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(n->d.ia5)),
                      static_cast<std::size_t>(ASN1_STRING_length(n->d.ia5)));
  }
  GENERAL_NAMES_free(names);
  const auto id = id_of_key_file(paths_of(data()).key);
  EXPECT_EQ(uris, (std::vector<std::string>{"shoal:node:" + id.str(), "shoal:label:site=ams"}));
}

TEST_F(member_test, labels_round_trip) {
  init(data());
  const std::vector<label> labels{
      {"site", "ams-1"}, {"rack", "r12"}, {"role", "storage"}, {"note", "a b:c/d~!"}};
  ASSERT_TRUE(install_certificate(data(), sign(ca_, data(), valid_window(labels)), now_).ok());
  auto id = load_identity(data(), now_);
  ASSERT_TRUE(id.ok()) << id.err().message;
  EXPECT_EQ(id->self.labels, labels);
}

TEST_F(member_test, labels_are_checked) {
  for (const char* bad :
       {"noequals", "=v", "Key=v", "k=", "k=a,b", "k=a=b", "k_x=v", "k=\t", "k=\xc3\xa9"})
    EXPECT_FALSE(parse_label(bad).ok()) << bad;
  EXPECT_FALSE(parse_label(std::string(33, 'k') + "=v").ok());
  EXPECT_FALSE(parse_label("k=" + std::string(65, 'v')).ok());
  EXPECT_TRUE(parse_label(std::string(32, 'k') + "=" + std::string(64, 'v')).ok());
  auto l = parse_label("site=ams 1");
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(*l, (label{"site", "ams 1"}));

  std::vector<label> many;
  for (int i = 0; i < 17; ++i) many.push_back({"k" + std::to_string(i), "v"});
  EXPECT_EQ(check_labels(many).err().code, errc::limit_exceeded);
  many.pop_back();
  EXPECT_TRUE(check_labels(many).ok());
  EXPECT_FALSE(check_labels({{"a", "1"}, {"a", "2"}}).ok());

  // The authority refuses them too, whatever the caller checked.
  init(data());
  auto csr = read_csr(paths_of(data()).csr);
  ASSERT_TRUE(csr.ok());
  EXPECT_FALSE(
      sign_request(ca_, csr->get(), valid_window(many = {{"a", "1"}, {"a", "2"}}), "x").ok());
}

TEST_F(member_test, expiry_parsing) {
  EXPECT_EQ(parse_expires_in("90s").value().count(), 90);
  EXPECT_EQ(parse_expires_in("1m").value().count(), 60);
  EXPECT_EQ(parse_expires_in("12h").value().count(), 12 * 3600);
  EXPECT_EQ(parse_expires_in("30d").value().count(), 30 * day);
  EXPECT_EQ(parse_expires_in("3650d").value().count(), 3650 * day);
  EXPECT_EQ(parse_expires_in("1s").value().count(), 1);
  for (const char* bad : {"", "30", "d", "0s", "-1d", "3651d", "1.5d", "30w", "30D", " 30d", "+30d",
                          "30d ", "99999999999999999999d", "315360001s"}) {
    auto r = parse_expires_in(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.err().code, errc::invalid_argument) << bad;
    }
  }
  EXPECT_NE(parse_expires_in("3651d").err().message.find("3650 days"), std::string::npos);
}

TEST_F(member_test, wrong_request_signature_is_rejected) {
  auto key = generate_ed25519_key();
  auto other = generate_ed25519_key();
  ASSERT_TRUE(key.ok() && other.ok());
  auto req = make_request(key->get(), "node-1");
  ASSERT_TRUE(req.ok());
  // The request now carries a key that did not sign it.
  ASSERT_EQ(X509_REQ_set_pubkey(req->get(), other->get()), 1);
  auto r = sign_request(ca_, req->get(), valid_window(), "forged.csr");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.err().code, errc::untrusted);
  EXPECT_NE(r.err().message.find("bad signature"), std::string::npos) << r.err().message;
  EXPECT_NE(r.err().message.find("forged.csr"), std::string::npos) << r.err().message;
}

// Issue 22, item 10: an authority does not sign a request made for another network.
TEST_F(member_test, a_request_for_another_network_is_refused_with_both_names) {
  auto key = generate_ed25519_key();
  ASSERT_TRUE(key.ok());
  auto other = make_request(key->get(), "node-1", "other-org");
  ASSERT_TRUE(other.ok());
  auto r = sign_request(ca_, other->get(), valid_window(), "node.csr");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.err().code, errc::invalid_argument);
  EXPECT_NE(r.err().message.find("made for network 'other-org', not '" + ca_.network_name + "'"),
            std::string::npos)
      << r.err().message;
  // Made for this network, or (an older request) for none: signed.
  auto mine = make_request(key->get(), "node-1", ca_.network_name);
  ASSERT_TRUE(mine.ok());
  EXPECT_TRUE(sign_request(ca_, mine->get(), valid_window(), "node.csr").ok());
  auto plain = make_request(key->get(), "node-1");
  ASSERT_TRUE(plain.ok());
  EXPECT_TRUE(sign_request(ca_, plain->get(), valid_window(), "node.csr").ok());
}

TEST_F(member_test, request_with_another_key_type_is_rejected) {
  pkey_ptr ec(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  ASSERT_NE(ec, nullptr);
  x509_req_ptr req(X509_REQ_new());
  X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req.get()), "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("n"), -1, -1, 0);
  ASSERT_EQ(X509_REQ_set_pubkey(req.get(), ec.get()), 1);
  ASSERT_GT(X509_REQ_sign(req.get(), ec.get(), EVP_sha256()), 0);
  auto r = sign_request(ca_, req.get(), valid_window(), "ec.csr");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.err().message.find("Ed25519"), std::string::npos) << r.err().message;
}

TEST_F(member_test, garbage_is_not_a_request) {
  auto r = csr_from_pem("hello", "junk.csr");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.err().code, errc::invalid_argument);
  EXPECT_NE(r.err().message.find("junk.csr"), std::string::npos);
  EXPECT_NE(r.err().message.find("CERTIFICATE REQUEST"), std::string::npos) << r.err().message;
  // A certificate is not a request either, and two requests in one file are refused.
  EXPECT_FALSE(csr_from_pem(cert_to_pem(ca_.cert.get()), "c").ok());
  init(data());
  const auto csr = slurp(paths_of(data()).csr);
  EXPECT_TRUE(csr_from_pem(csr, "one").ok());
  EXPECT_FALSE(csr_from_pem(csr + csr, "two").ok());
}

TEST_F(member_test, install_refuses_a_certificate_for_another_key) {
  init(data());
  init(dir_ / "other");
  const auto theirs = sign(ca_, dir_ / "other", valid_window());
  auto r = install_certificate(data(), theirs, now_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.err().code, errc::untrusted);
  EXPECT_NE(r.err().message.find("another key"), std::string::npos) << r.err().message;
  EXPECT_FALSE(fs::exists(paths_of(data()).node_cert));
}

TEST_F(member_test, install_refuses_a_certificate_from_another_authority) {
  init(data());
  auto other = make_authority("other", now_);
  ASSERT_TRUE(other.ok());
  auto r =
      install_certificate(data(), sign(*other, data(), valid_window(), "node.cert", true), now_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.err().code, errc::untrusted);
  EXPECT_NE(r.err().message.find("not issued by network 'acme' (issuer: 'other')"),
            std::string::npos)
      << r.err().message;

  // An impostor authority with the same name is still another authority.
  auto twin = make_authority("acme", now_);
  ASSERT_TRUE(twin.ok());
  r = install_certificate(data(), sign(*twin, data(), valid_window()), now_);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.err().message.find("another authority that is also named 'acme'"), std::string::npos)
      << r.err().message;
}

TEST_F(member_test, install_refuses_an_expired_or_future_certificate) {
  init(data());
  const auto expired = sign(ca_, data(), issue_options{{}, now_ - 2 * day, now_ - day});
  auto r = install_certificate(data(), expired, now_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.err().code, errc::untrusted);
  EXPECT_NE(r.err().message.find("expired at " + format_utc(now_ - day)), std::string::npos)
      << r.err().message;

  const auto future = sign(ca_, data(), issue_options{{}, now_ + day, now_ + 2 * day});
  r = install_certificate(data(), future, now_);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.err().message.find("not valid before"), std::string::npos) << r.err().message;
  EXPECT_FALSE(fs::exists(paths_of(data()).node_cert));
}

TEST_F(member_test, sign_refuses_to_outlive_the_authority) {
  init(data());
  auto csr = read_csr(paths_of(data()).csr);
  ASSERT_TRUE(csr.ok());
  auto r = sign_request(ca_, csr->get(), issue_window(now_, std::chrono::seconds(3651 * day)), "x");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.err().message.find("outlive"), std::string::npos);
}

TEST_F(member_test, load_identity_says_what_is_missing_or_wrong) {
  auto r = load_identity(data(), now_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.err().code, errc::not_found);
  EXPECT_NE(r.err().message.find("not initialised"), std::string::npos);
  EXPECT_NE(r.err().message.find("shoal init"), std::string::npos);

  init(data());
  r = load_identity(data(), now_);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.err().message.find("no certificate is installed"), std::string::npos)
      << r.err().message;

  ASSERT_TRUE(install_certificate(data(), sign(ca_, data(), valid_window()), now_).ok());
  // A month later the certificate has expired, and the message says when.
  r = load_identity(data(), now_ + 31 * day);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.err().code, errc::untrusted);
  EXPECT_NE(r.err().message.find("expired at " + format_utc(now_ + 30 * day)), std::string::npos)
      << r.err().message;
  auto status = read_identity_status(data(), now_ + 31 * day);
  ASSERT_TRUE(status.ok());
  EXPECT_FALSE(status->valid);
  EXPECT_NE(status->problem.find("expired"), std::string::npos);

  // Another node's certificate in place of ours.
  init(dir_ / "other");
  const auto theirs = sign(ca_, dir_ / "other", valid_window(), "theirs.cert");
  ASSERT_TRUE(replace_file(paths_of(data()).node_cert, slurp(theirs), 0644).ok());
  r = load_identity(data(), now_);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.err().message.find("another key"), std::string::npos) << r.err().message;
}

TEST_F(member_test, init_refuses_an_initialised_node_and_a_non_authority_certificate) {
  const auto first = init(data());
  auto again = init_identity(data(), network_cert_, "node-1");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.err().code, errc::already_exists);
  EXPECT_EQ(id_of_key_file(paths_of(data()).key), first.id);

  // A node certificate is not a network certificate.
  const auto node_cert = sign(ca_, data(), valid_window());
  auto r = init_identity(dir_ / "fresh", node_cert, "n");
  ASSERT_FALSE(r.ok());
  EXPECT_FALSE(fs::exists(paths_of(dir_ / "fresh").key));

  r = init_identity(dir_ / "fresh", dir_ / "missing.cert", "n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.err().code, errc::not_found);
}

TEST_F(member_test, authority_key_must_match_its_certificate) {
  ASSERT_TRUE(create_authority(dir_.path(), "one", now_).ok());
  ASSERT_TRUE(create_authority(dir_.path(), "two", now_).ok());
  auto r = load_authority(dir_ / "one.key", dir_ / "two.cert");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.err().message.find("does not belong"), std::string::npos);
}

}  // namespace
}  // namespace shoal::member

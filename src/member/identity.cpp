#include "member/identity.hpp"

#include <openssl/x509.h>
#include <unistd.h>

#include <climits>
#include <system_error>

#include "member/authority.hpp"
#include "member/files.hpp"
#include "member/pem.hpp"

namespace shoal::member {
namespace {

std::string quoted(const std::filesystem::path& p) {
  return "\"" + p.string() + "\"";
}

bool path_exists(const std::filesystem::path& p) {
  std::error_code ec;
  return std::filesystem::exists(std::filesystem::symlink_status(p, ec));
}

result<pkey_ptr> read_node_key(const identity_paths& p) {
  if (!path_exists(p.key))
    return error{errc::not_found, "this node is not initialised: " + quoted(p.key) +
                                      " does not exist; run `shoal init --network NAME.cert`"};
  return read_key(p.key);
}

result<x509_ptr> read_network_cert(const identity_paths& p) {
  auto cert = read_cert(p.network_cert, "network certificate");
  if (!cert) {
    if (cert.err().code == errc::not_found)
      return error{errc::store_corrupt, quoted(p.network_cert) +
                                            " is missing although node.key exists; restore it "
                                            "from the network's NAME.cert"};
    return std::move(cert).err();
  }
  return cert;
}

// Whose certificate this is, before any trust is given to it: a certificate for another key is
// the most likely mistake (a file from another machine) and deserves its own message.
result<void> check_key_matches(evp_pkey_st* node_key, x509_st* cert, std::string_view what) {
  auto ours = node_id_of(node_key, "node key");
  if (!ours) return std::move(ours).err();
  EVP_PKEY* theirs = X509_get0_pubkey(cert);
  if (theirs != nullptr && same_public_key(node_key, theirs)) return {};
  auto their_id = node_id_of(theirs, what);
  return error{errc::untrusted,
               std::string(what) + " is for another key (" +
                   (their_id ? "node " + their_id->str() : their_id.err().message) +
                   "), not this node's (" + ours->str() + ")"};
}

void remove_created(const std::vector<std::filesystem::path>& files) {
  std::error_code ec;
  for (const auto& f : files) std::filesystem::remove(f, ec);
}

}  // namespace

identity_paths paths_of(const std::filesystem::path& data_dir) {
  const auto dir = data_dir / "identity";
  return {dir, dir / "node.key", dir / "node.csr", dir / "network.cert", dir / "node.cert"};
}

result<init_result> init_identity(const std::filesystem::path& data_dir,
                                  const std::filesystem::path& network_cert,
                                  const std::string& name) {
  if (auto r = check_name(name, "node name"); !r)
    return error{r.err().code, r.err().message + " (choose another with --name)"};
  auto network = read_cert(network_cert, "network certificate");
  if (!network) return std::move(network).err();
  auto network_name =
      check_network_certificate(network->get(), "network certificate " + quoted(network_cert));
  if (!network_name) return std::move(network_name).err();

  const auto p = paths_of(data_dir);
  if (path_exists(p.key))
    return error{errc::already_exists, "this node is already initialised: " + quoted(p.key) +
                                           " exists; refusing to replace the node's key"};
  SHOAL_TRY(make_private_directory(data_dir));
  SHOAL_TRY(make_private_directory(p.dir));

  auto key = generate_ed25519_key();
  if (!key) return std::move(key).err();
  auto id = node_id_of(key->get(), "node key");
  SHOAL_ASSERT(id.ok());
  auto csr = make_request(key->get(), name, *network_name);
  if (!csr) return std::move(csr).err();

  // node.key first, with O_EXCL: it is what marks the node as initialised, and of two
  // concurrent inits only one can create it.
  SHOAL_TRY(write_new_file(p.key, key_to_pem(key->get()), 0600));
  std::vector<std::filesystem::path> created{p.key};
  for (const auto& [path, text] : {std::pair{p.csr, csr_to_pem(csr->get())},
                                   std::pair{p.network_cert, cert_to_pem(network->get())}}) {
    if (auto r = replace_file(path, text, 0644); !r) {
      remove_created(created);
      return r.err();
    }
    created.push_back(path);
  }
  // A certificate left from an earlier identity would belong to a key that no longer exists.
  std::error_code ec;
  std::filesystem::remove(p.node_cert, ec);
  return init_result{*id, name, std::move(*network_name), p.csr};
}

result<peer_info> install_certificate(const std::filesystem::path& data_dir,
                                      const std::filesystem::path& cert_file, std::int64_t now) {
  const auto p = paths_of(data_dir);
  auto key = read_node_key(p);
  if (!key) return std::move(key).err();
  auto network = read_network_cert(p);
  if (!network) return std::move(network).err();
  auto cert = read_cert(cert_file, "certificate");
  if (!cert) return std::move(cert).err();
  const std::string what = "certificate " + quoted(cert_file);
  SHOAL_TRY(check_key_matches(key->get(), cert->get(), what));
  auto info = verify_node_certificate(cert->get(), network->get(), now, what);
  if (!info) return std::move(info).err();
  SHOAL_TRY(replace_file(p.node_cert, cert_to_pem(cert->get()), 0644));
  return info;
}

result<identity> load_identity(const std::filesystem::path& data_dir, std::int64_t now) {
  const auto p = paths_of(data_dir);
  auto key = read_node_key(p);
  if (!key) return std::move(key).err();
  auto network = read_network_cert(p);
  if (!network) return std::move(network).err();
  auto network_name = check_network_certificate(network->get(), quoted(p.network_cert));
  if (!network_name) return std::move(network_name).err();
  if (!path_exists(p.node_cert)) {
    auto id = node_id_of(key->get(), "node key");
    return error{errc::not_found,
                 "no certificate is installed for node " + (id ? id->str() : "?") + ": " +
                     quoted(p.node_cert) + " does not exist; have " + quoted(p.csr) +
                     " signed with `shoal network sign` and install the result with `shoal init "
                     "--certificate FILE`"};
  }
  auto cert = read_cert(p.node_cert, "node certificate");
  if (!cert) return std::move(cert).err();
  const std::string what = "this node's certificate " + quoted(p.node_cert);
  SHOAL_TRY(check_key_matches(key->get(), cert->get(), what));
  auto self = verify_node_certificate(cert->get(), network->get(), now, what);
  if (!self) {
    auto e = std::move(self).err();
    if (not_after_unix(cert->get()) < now)
      e.message +=
          "; have a new one signed with `shoal network sign` and install it with "
          "`shoal init --certificate FILE`";
    return e;
  }
  return identity{std::move(*key), std::move(*cert), std::move(*network), std::move(*network_name),
                  std::move(*self)};
}

result<identity> load_identity(const std::filesystem::path& data_dir) {
  return load_identity(data_dir, unix_now());
}

result<identity_status> read_identity_status(const std::filesystem::path& data_dir,
                                             std::int64_t now) {
  const auto p = paths_of(data_dir);
  auto key = read_node_key(p);
  if (!key) return std::move(key).err();
  identity_status s;
  auto id = node_id_of(key->get(), "node key");
  if (!id) return std::move(id).err();
  s.id = *id;
  if (auto network = read_network_cert(p))
    s.network_name = common_name(X509_get_subject_name(network->get()));
  if (auto csr = read_csr(p.csr)) s.name = common_name(X509_REQ_get_subject_name(csr->get()));
  if (path_exists(p.node_cert))
    if (auto cert = read_cert(p.node_cert, "node certificate"))
      if (auto info = check_node_profile(cert->get(), "node certificate")) {
        s.name = info->name;
        s.certificate = std::move(*info);
      }
  auto loaded = load_identity(data_dir, now);
  s.valid = loaded.ok();
  if (!loaded) s.problem = loaded.err().message;
  return s;
}

std::string default_node_name() {
  char buf[HOST_NAME_MAX + 1] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "node";
  return buf;
}

}  // namespace shoal::member

// The membership subcommands: `network create`, `network sign`, `network revoke`, `network
// publish`, `network revocations`, `init`, `init --certificate` and `id`. The work is in
// src/member; this file turns arguments into calls and results into text or JSON.
#include <fmt/format.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "member/authority.hpp"
#include "member/files.hpp"
#include "member/identity.hpp"
#include "member/pem.hpp"
#include "member/revocations.hpp"

namespace shoal::cli {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

void print_json(const json& j) {
  std::printf("%s\n", j.dump(2).c_str());
}

json labels_json(const std::vector<member::label>& labels) {
  json j = json::object();
  for (const auto& [k, v] : labels) j[k] = v;
  return j;
}

std::string labels_text(const std::vector<member::label>& labels) {
  if (labels.empty()) return "(none)";
  std::string out;
  for (const auto& [k, v] : labels) out += (out.empty() ? "" : ", ") + k + "=" + v;
  return out;
}

// "30 days", "12 hours", "90 seconds": the largest unit that divides evenly, else seconds.
std::string duration_text(std::int64_t seconds) {
  const auto unit = [](std::int64_t n, const char* name) {
    return fmt::format("{} {}{}", n, name, n == 1 ? "" : "s");
  };
  if (seconds % 86400 == 0) return unit(seconds / 86400, "day");
  if (seconds % 3600 == 0) return unit(seconds / 3600, "hour");
  if (seconds % 60 == 0) return unit(seconds / 60, "minute");
  return unit(seconds, "second");
}

// `base` with its extension `from` replaced by `to`, or `to` appended if it has another one.
fs::path swap_extension(fs::path base, const char* from, const char* to) {
  if (base.extension() == from) return base.replace_extension(to);
  base += to;
  return base;
}

}  // namespace

int network_create(const context& c, const std::string& name, const fs::path& dir) {
  auto files = member::create_authority(dir, name, member::unix_now());
  if (!files) return fail(c, files.err());
  if (c.json) {
    print_json(json{
        {"network", name}, {"key", files->key.string()}, {"certificate", files->cert.string()}});
    return 0;
  }
  std::printf("created network '%s'\n", name.c_str());
  std::printf("  authority key:        %s\n", files->key.c_str());
  std::printf("  network certificate:  %s\n", files->cert.c_str());
  std::printf(
      "Keep %s secret (mode 0600, ideally offline): whoever holds it can admit nodes to the "
      "network.\nGive %s to every node: shoal init --network %s\n",
      files->key.c_str(), files->cert.c_str(),
      fs::absolute(files->cert).lexically_normal().c_str());
  return 0;
}

int network_sign(const context& c, const sign_args& a) {
  auto expires_in = member::parse_expires_in(a.expires_in);
  if (!expires_in) return fail(c, expires_in.err());
  std::vector<member::label> labels;
  for (const auto& text : a.labels) {
    auto l = member::parse_label(text);
    if (!l) return fail(c, l.err());
    labels.push_back(std::move(*l));
  }
  if (auto r = member::check_labels(labels); !r) return fail(c, r.err());
  const auto cert_path = a.authority_cert.empty() ? swap_extension(a.authority_key, ".key", ".cert")
                                                  : a.authority_cert;
  const auto out = a.output.empty() ? swap_extension(a.request, ".csr", ".cert") : a.output;

  auto ca = member::load_authority(a.authority_key, cert_path);
  if (!ca) return fail(c, ca.err());
  auto csr = member::read_csr(a.request);
  if (!csr) return fail(c, csr.err());
  const auto now = member::unix_now();
  auto issued = member::sign_request(*ca, csr->get(),
                                     member::issue_window(now, *expires_in, std::move(labels)),
                                     a.request.string());
  if (!issued) return fail(c, issued.err());
  if (auto r = member::replace_file(out, member::cert_to_pem(issued->cert.get()), 0644); !r)
    return fail(c, r.err());

  const auto& info = issued->info;
  if (c.json) {
    print_json(json{{"id", info.id.str()},
                    {"name", info.name},
                    {"network", ca->network_name},
                    {"labels", labels_json(info.labels)},
                    {"not_before", info.not_before_unix},
                    {"not_after", info.not_after_unix},
                    {"certificate", out.string()}});
    return 0;
  }
  std::printf("signed %s for network '%s'\n", info.id.str().c_str(), ca->network_name.c_str());
  std::printf("  name:         %s\n", info.name.c_str());
  std::printf("  labels:       %s\n", labels_text(info.labels).c_str());
  std::printf("  expires:      %s (in %s)\n", member::format_utc(info.not_after_unix).c_str(),
              duration_text(expires_in->count()).c_str());
  std::printf("  certificate:  %s\n", out.c_str());
  // Paths in full, so that the line can be pasted (on the node, the certificate's own path
  // there replaces this one).
  std::printf("Install it on the node: shoal init --certificate %s\n",
              fs::absolute(out).lexically_normal().c_str());
  return 0;
}

int init_node(const context& c, const fs::path& network_cert, const std::string& name) {
  const auto node_name = name.empty() ? member::default_node_name() : name;
  auto r = member::init_identity(c.config.data_dir, network_cert, node_name);
  if (!r) return fail(c, r.err());
  if (c.json) {
    print_json(json{{"id", r->id.str()},
                    {"name", r->name},
                    {"network", r->network_name},
                    {"request", r->csr.string()}});
    return 0;
  }
  std::printf("node ID:  %s\n", r->id.str().c_str());
  std::printf("name:     %s\n", r->name.c_str());
  std::printf("network:  %s\n", r->network_name.c_str());
  std::printf("request:  %s\n", r->csr.c_str());
  // Lines that can be pasted as they are: the request's full path, and this data directory
  // (the default one too: the command may be run from another shell or user).
  const fs::path csr = fs::absolute(r->csr).lexically_normal();
  fs::path cert = csr;
  cert.replace_extension(".cert");
  std::printf(
      "Next: copy the request to where the authority key is kept and sign it there (give the "
      "key's path there):\n"
      "  shoal network sign %s --authority %s.key\n"
      "then bring the certificate back (to %s) and install it here:\n"
      "  shoal --data-dir %s init --certificate %s\n",
      csr.c_str(), r->network_name.c_str(), cert.c_str(),
      fs::absolute(c.config.data_dir).lexically_normal().c_str(), cert.c_str());
  return 0;
}

int install_certificate(const context& c, const fs::path& cert) {
  auto info = member::install_certificate(c.config.data_dir, cert, member::unix_now());
  if (!info) return fail(c, info.err());
  const auto installed = member::paths_of(c.config.data_dir).node_cert;
  if (c.json) {
    print_json(json{{"id", info->id.str()},
                    {"name", info->name},
                    {"labels", labels_json(info->labels)},
                    {"not_after", info->not_after_unix},
                    {"certificate", installed.string()}});
    return 0;
  }
  std::printf("installed the certificate of %s (%s) as %s\n", info->id.str().c_str(),
              info->name.c_str(), installed.c_str());
  std::printf("  labels:   %s\n", labels_text(info->labels).c_str());
  std::printf("  expires:  %s\n", member::format_utc(info->not_after_unix).c_str());
  return 0;
}

int show_identity(const context& c) {
  auto s = member::read_identity_status(c.config.data_dir, member::unix_now());
  if (!s) return fail(c, s.err());
  if (c.json) {
    json j{{"id", s->id.str()},
           {"name", s->name},
           {"network", s->network_name},
           {"certificate_installed", s->certificate.has_value()},
           {"valid", s->valid}};
    j["labels"] =
        labels_json(s->certificate ? s->certificate->labels : std::vector<member::label>{});
    j["not_before"] = s->certificate ? json(s->certificate->not_before_unix) : json();
    j["not_after"] = s->certificate ? json(s->certificate->not_after_unix) : json();
    j["problem"] = s->valid ? json() : json(s->problem);
    print_json(j);
  } else {
    std::printf("node ID:      %s\n", s->id.str().c_str());
    std::printf("name:         %s\n", s->name.c_str());
    std::printf("network:      %s\n", s->network_name.c_str());
    if (s->certificate) {
      std::printf("labels:       %s\n", labels_text(s->certificate->labels).c_str());
      std::printf("expires:      %s\n", member::format_utc(s->certificate->not_after_unix).c_str());
    } else {
      std::printf("certificate:  none installed\n");
    }
    std::printf("valid now:    %s\n", s->valid ? "yes" : ("no: " + s->problem).c_str());
  }
  // Like `verify`, the report is printed either way and the status says whether all is well, so
  // a health check can run `shoal id`.
  return s->valid ? 0 : 1;
}

namespace {

// What the daemon said about a list it was handed, in words.
void print_published(const json& reply, const fs::path& data_dir) {
  const json& l = reply["list"];
  if (reply.value("adopted", false))
    std::printf(
        "the daemon at %s adopted it: it sends it on its %zu open connections and to members "
        "of its routing table, and each member that adopts it passes it on\n",
        data_dir.c_str(), reply.value("connections", std::size_t{0}));
  else
    std::printf("the daemon at %s holds list %llu already, as new or newer: nothing changed\n",
                data_dir.c_str(), static_cast<unsigned long long>(l.value("serial", 0ull)));
}

result<json> publish(host::control_connection& conn, const std::vector<std::uint8_t>& bytes) {
  return ask_daemon(conn, json{{"op", "revocations"}, {"list", member::revocation_hex(bytes)}},
                    "answer to the revocation list");
}

}  // namespace

int network_revoke(const context& c, const revoke_args& a) {
  const auto cert_path = a.authority_cert.empty() ? swap_extension(a.authority_key, ".key", ".cert")
                                                  : a.authority_cert;
  const auto list_path = a.list.empty() ? member::revocation_file_of(a.authority_key) : a.list;
  auto ca = member::load_authority(a.authority_key, cert_path);
  if (!ca) return fail(c, ca.err());
  auto target = member::revocation_target(a.target);
  if (!target) return fail(c, target.err());
  auto key = member::network_public_key(ca->cert.get());
  if (!key) return fail(c, key.err());
  auto old = member::read_revocation_file(list_path);
  if (!old) return fail(c, old.err());
  std::optional<revocation_list> current;
  if (*old) {
    auto l = decode_and_verify(**old, ca->network_name, *key);
    if (!l)
      return fail(c, {l.err().code, list_path.string() + ": " + l.err().message +
                                        "; the file is left as it is (give another with --list)"});
    current = std::move(*l);
  }
  auto next = member::add_revocation(*ca, current, *target, a.reason, member::unix_now());
  if (!next) return fail(c, next.err());
  const auto bytes = encode(*next);
  if (auto w = member::write_revocation_file(list_path, bytes); !w) return fail(c, w.err());
  // The list is signed and saved; it only has to reach one member. With no daemon here, say
  // how to hand it to one; a daemon that refuses it is an error.
  const std::string hint = "shoal network publish " +
                           fs::absolute(list_path).lexically_normal().string() +
                           " --data-dir DATA_DIR";
  auto conn = host::control_connection::open(c.config.data_dir);
  std::optional<json> reply;
  if (conn) {
    auto r = publish(*conn, bytes);
    if (!r)
      return fail(
          c, {r.err().code, "list " + std::to_string(next->serial) + " is saved in " +
                                list_path.string() + ", but the daemon at " +
                                c.config.data_dir.string() + " refused it: " + r.err().message});
    reply = std::move(*r);
  }
  if (c.json) {
    print_json(json{{"id", target->str()},
                    {"network", ca->network_name},
                    {"serial", next->serial},
                    {"revoked", next->entries.size()},
                    {"list", list_path.string()},
                    {"published", reply.has_value()},
                    {"adopted", reply ? reply->value("adopted", false) : false}});
    return 0;
  }
  std::printf("revoked %s in list %llu of network '%s' (%zu revoked): %s\n", target->str().c_str(),
              static_cast<unsigned long long>(next->serial), ca->network_name.c_str(),
              next->entries.size(), list_path.c_str());
  if (reply)
    print_published(*reply, c.config.data_dir);
  else
    std::printf("no daemon runs at %s to hand it to.\nGive the list to any member: %s\n",
                c.config.data_dir.c_str(), hint.c_str());
  return 0;
}

int network_publish(const context& c, const fs::path& list) {
  auto bytes = member::read_revocation_file(list);
  if (!bytes) return fail(c, bytes.err());
  if (!*bytes) return fail(c, {errc::not_found, "no revocation list at " + list.string()});
  auto conn = host::control_connection::open(c.config.data_dir);
  if (!conn) return fail(c, conn.err());
  auto reply = publish(*conn, **bytes);
  if (!reply) return fail(c, reply.err());
  if (c.json) {
    print_json(*reply);
    return 0;
  }
  print_published(*reply, c.config.data_dir);
  return 0;
}

int network_revocations(const context& c) {
  auto reply = ask_daemon(c, json{{"op", "revocations"}}, "revocation list");
  if (!reply) return fail(c, reply.err());
  const json& l = (*reply)["list"];
  if (c.json) {
    print_json(l);
    return 0;
  }
  if (l.value("serial", 0ull) == 0) {
    std::printf("no revocation list: no member is revoked as far as this node knows\n");
    return 0;
  }
  std::printf("revocation list %llu, issued %s: %zu revoked\n",
              static_cast<unsigned long long>(l.value("serial", 0ull)),
              member::format_utc(l.value("issued", std::int64_t{0})).c_str(),
              l.value("revoked", std::size_t{0}));
  for (const auto& e : l["entries"])
    std::printf("  %s  since %s  %s\n", e.value("id", "").c_str(),
                member::format_utc(e.value("since", std::int64_t{0})).c_str(),
                e.value("reason", "").c_str());
  return 0;
}

}  // namespace shoal::cli

// The daemon's side of the network's revocation list (docs/protocol/membership.md, section 9):
// the list it adopted is kept in the data directory and handed to the node at start; a list
// published with `shoal network revoke` or `shoal network publish` comes in over the control
// socket, in hex. Adopting, spreading and cutting members off are the node's
// (core/node_membership.cpp).
#include "host/daemon_impl.hpp"
#include "member/pem.hpp"
#include "member/revocations.hpp"

namespace shoal::host::detail {
namespace {

std::string revoked_text(const revocation_list& l, const revoked_member& m) {
  return "revocation list " + std::to_string(l.serial) + " (since " +
         member::format_utc(m.revoked_at) + (m.reason.empty() ? "" : ", reason: " + m.reason) + ")";
}

}  // namespace

result<void> check_not_revoked(const std::filesystem::path& data_dir, const member::identity& id) {
  const auto path = member::adopted_revocation_file(data_dir);
  auto bytes = member::read_revocation_file(path);
  if (!bytes || !*bytes) return {};  // a file that cannot be read is reported at start
  auto key = member::network_public_key(id.network.get());
  if (!key) return {};
  auto l = decode_and_verify(**bytes, id.network_name, *key);
  if (!l) return {};
  if (const revoked_member* m = l->find(id.self.id))
    return error{errc::untrusted,
                 "this node's certificate is revoked by " + revoked_text(*l, *m) +
                     ": no member admits it. A new identity for this machine needs a new data "
                     "directory (shoal init) and a certificate from the authority; the list is " +
                     path.string()};
  return {};
}

void daemon_impl::load_revocations() {
  const auto path = member::adopted_revocation_file(opts_.data_dir);
  auto bytes = member::read_revocation_file(path);
  if (!bytes) {
    spdlog::error("{}; the node goes on without it and takes the next list a member sends",
                  bytes.err().message);
    return;
  }
  if (!*bytes) return;
  auto r = node_.handle_revocations(net::now(), **bytes);
  if (!r) {
    // Kept as it is (it may be evidence); a valid newer list from a member replaces it.
    spdlog::error(
        "{}: {}; the file is left as it is and the node takes the next list a "
        "member sends",
        path.string(), r.err().message);
    return;
  }
  drain();
}

void daemon_impl::revocations_adopted(const node_actions::revocations_adopted& a) {
  const auto path = member::adopted_revocation_file(opts_.data_dir);
  if (auto w = member::write_revocation_file(path, a.bytes); !w)
    spdlog::error("revocation list {} is in force but could not be kept for the next start: {}",
                  a.serial, w.err().message);
  if (a.self && exit_code_ == 0) {
    // The node has said why, closed every connection and ended every fetch.
    exit_code_ = 3;
    if (!stopping_) asio::post(io_, [this] { shutdown(); });
  }
}

json daemon_impl::revocations_json(bool with_entries) const {
  const auto& l = node_.revocations();
  if (!l) return json{{"serial", 0}, {"revoked", 0}};
  json out{{"serial", l->serial}, {"issued", l->issued_at}, {"revoked", l->entries.size()}};
  if (!with_entries) return out;
  json entries = json::array();
  for (const auto& e : l->entries)
    entries.push_back({{"id", e.node.str()}, {"since", e.revoked_at}, {"reason", e.reason}});
  out["entries"] = std::move(entries);
  return out;
}

void daemon_impl::publish_revocations(const std::shared_ptr<reply_sink>& client, const json& req) {
  json reply{{"event", "revocations"}};
  if (req.contains("list")) {
    auto bytes = member::revocation_from_hex(req.at("list").get<std::string>());
    if (!bytes) return reply_error(client, bytes.err());
    auto r = node_.handle_revocations(net::now(), *bytes);
    if (!r) return reply_error(client, r.err());
    reply["adopted"] = *r;
    std::size_t open = 0;
    for (const auto& [p, c] : connections_)
      if (c->sess() && c->peer()) ++open;
    reply["connections"] = open;
    drain();
  }
  reply["list"] = revocations_json(true);
  client->send(reply);
  client->close_after_writes();
}

}  // namespace shoal::host::detail

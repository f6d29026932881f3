#include "host/content_service.hpp"

#include <spdlog/spdlog.h>

#include <chrono>

#include "host/content_json.hpp"
#include "host/control_server.hpp"

namespace shoal::host {

namespace asio = boost::asio;
using nlohmann::json;

namespace {

constexpr auto progress_interval = std::chrono::milliseconds(250);

json done(json j) {
  j["event"] = "done";
  return j;
}

}  // namespace

bool content_service::handle(const std::shared_ptr<reply_sink>& client, const std::string& op,
                             const json& req) {
  if (op != "add" && op != "gc" && op != "rm" && op != "pin" && op != "unpin" && op != "verify")
    return false;
  if (op == "add") {
    add(client, req);
  } else if (op == "gc") {
    collect_garbage(client);
  } else if (auto id = content_id::parse(req.value("id", std::string())); !id) {
    reply_error(client, id.err());
  } else if (op == "verify") {
    verify(client, *id);
  } else if (op == "rm") {
    remove(client, *id);
  } else {
    const bool pinned = op == "pin";
    if (auto r = store_.set_pinned(*id, pinned); !r)
      reply_error(client, r.err());
    else
      reply(client, pinned_json(*id, pinned));
  }
  return true;
}

void content_service::remove(const std::shared_ptr<reply_sink>& client, const content_id& id) {
  auto freed = store_.remove(id);
  if (!freed) return reply_error(client, freed.err());
  spdlog::info("removed {}", id.str());
  changed_({{id, std::nullopt}});
  reply(client, removed_json(id, *freed));
}

void content_service::collect_garbage(const std::shared_ptr<reply_sink>& client) {
  auto removed = store_.collect_garbage();
  if (!removed) return reply_error(client, removed.err());
  std::vector<change> changes;
  for (const auto& s : *removed) changes.push_back({s.id, std::nullopt});
  if (!changes.empty()) {
    spdlog::info("gc removed {} contents", changes.size());
    changed_(changes);
  }
  reply(client, gc_json(*removed));
}

void content_service::add(const std::shared_ptr<reply_sink>& client, const json& req) {
  const std::filesystem::path source = req.value("path", std::string());
  const bool pin = req.value("pin", true);
  if (source.empty() || !source.is_absolute())
    return reply_error(client, {errc::invalid_argument,
                                "add needs the absolute path of a file or directory (\"path\"), "
                                "not \"" +
                                    source.string() + "\""});
  auto stop = std::make_shared<std::atomic<bool>>(false);
  auto progress = progress_to(client, stop);
  // The client travels to the worker and back by move, so that its last reference is never
  // dropped on the worker (a session belongs to the io thread); progress holds a weak one.
  enqueue(client, [this, client, source, pin, stop, progress, dir = store_.dir()]() mutable {
    auto staged = stopping_
                      ? result<store::staged_add>(error{errc::cancelled, "the daemon is stopping"})
                      : store::store::stage_add(dir, source, progress, stop.get());
    asio::post(io_, [this, client = std::move(client), pin, staged = std::move(staged)]() mutable {
      dequeue();
      if (stopping_) return;  // dropped: its temporary data file goes with it
      if (!staged) return reply_error(client, staged.err());
      const std::string name = staged->name();
      auto r = store_.commit_add(std::move(*staged), pin);
      if (!r) return reply_error(client, r.err());
      if (!r->already_present) {
        spdlog::info("added {} ({})", r->content.id.str(), name);
        changed_({{r->content.id, r->content}});
      }
      reply(client, add_json(*r));
    });
  });
}

void content_service::verify(const std::shared_ptr<reply_sink>& client, const content_id& id) {
  if (store_.being_fetched(id))
    return reply_error(client, {errc::busy, "content " + id.str() +
                                                " is being fetched (every block is verified as "
                                                "it arrives); verify it when the fetch is done"});
  auto stop = std::make_shared<std::atomic<bool>>(false);
  auto progress = progress_to(client, stop);
  enqueue(client, [this, client, id, stop, progress, dir = store_.dir()]() mutable {
    result<store::verify_result> r = error{errc::cancelled, "the daemon is stopping"};
    if (!stopping_) {
      // A view of its own: the store object belongs to the io thread. It reports bad pieces
      // without marking them; that is done below, on the io thread.
      auto view = store::store::open(dir, store::access::read_only);
      r = view ? (*view)->verify(id, progress, stop.get())
               : result<store::verify_result>(view.err());
    }
    asio::post(io_, [this, client = std::move(client), id, r = std::move(r)]() mutable {
      dequeue();
      if (stopping_) return;
      if (!r) return reply_error(client, r.err());
      bool marked = r->bad_pieces.empty();
      if (!r->bad_pieces.empty()) {
        auto m = store_.mark_missing(id, r->bad_pieces);
        marked = m.ok();
        if (!m)
          spdlog::warn("verify of {}: cannot mark the bad pieces missing: {}", id.str(),
                       m.err().message);
        spdlog::warn("verify of {}: {} of {} pieces are damaged{}", id.str(), r->bad_pieces.size(),
                     r->pieces_checked, marked ? " and now marked missing" : "");
      }
      std::optional<store::content_summary> now;
      if (auto s = store_.info(id)) now = *s;
      if (!r->bad_pieces.empty() && now) changed_({{id, now}});
      reply(client, verify_json(id, *r, now, marked));
    });
  });
}

void content_service::enqueue(const std::shared_ptr<reply_sink>& client,
                              std::function<void()> task) {
  // Without a word, a second add would look hung until the first is done.
  if (in_line_ > 0) client->send(json{{"event", "queued"}, {"ahead", in_line_}});
  ++in_line_;
  worker_.post(std::move(task));
}

store::progress_fn content_service::progress_to(const std::shared_ptr<reply_sink>& client,
                                                const std::shared_ptr<std::atomic<bool>>& stop) {
  auto last = std::make_shared<std::chrono::steady_clock::time_point>();
  // Weak: this function is destroyed on the worker thread, where no session may be.
  std::weak_ptr<reply_sink> weak = client;
  return [this, weak, stop, last](std::uint64_t done_bytes, std::uint64_t total) {
    if (stopping_) stop->store(true);
    const auto now = std::chrono::steady_clock::now();
    if (now - *last < progress_interval) return;
    *last = now;
    asio::post(io_, [weak, stop, done_bytes, total] {
      // The client that asked is gone (Ctrl-C): an add or verify stops after the chunk it is on.
      auto asker = weak.lock();
      if (!asker || !asker->open()) return stop->store(true);
      asker->send(json{{"event", "progress"}, {"done_bytes", done_bytes}, {"total_bytes", total}});
    });
  };
}

void content_service::reply(const std::shared_ptr<reply_sink>& client, json j) {
  client->send(done(std::move(j)));
  client->close_after_writes();
}

void content_service::stop() {
  stopping_ = true;
  worker_.stop();
}

}  // namespace shoal::host

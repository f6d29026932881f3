// The content operations of the control channel that change the store while the daemon runs:
// add, rm, pin, unpin, gc and verify (docs/protocol/control.md, section 3.5). Without them a
// running daemon kept the store to itself and `shoal add` failed until it was stopped.
//
// The quick ones (rm, pin, unpin, gc) run on the io thread, which owns the store. An add copies
// and hashes its source, and a verify re-reads every piece: both run on this service's own
// worker thread, one at a time, so that the network thread never waits on them. The add is
// staged there (store::stage_add writes only into tmp/) and committed on the io thread; the
// verify reads through a read-only view of the store, and the pieces it found bad are marked
// missing on the io thread. A client that goes away, or the daemon stopping, cancels the add.
// Whatever changed what the store holds is reported through `changed`, for the node.
//
// Thread safety: the io thread only (the worker posts its results back to it).
#pragma once

#include <atomic>
#include <utility>  // before Boost.Asio: its awaitable.hpp uses std::exchange without it

#include <boost/asio.hpp>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "host/disk_worker.hpp"
#include "host/reply_sink.hpp"
#include "store/store.hpp"

namespace shoal::host {

class content_service {
 public:
  // A content the store now holds (its summary) or no longer holds (nullopt).
  struct change {
    content_id id;
    std::optional<store::content_summary> held;
  };
  using changed_fn = std::function<void(const std::vector<change>&)>;

  content_service(boost::asio::io_context& io, store::store& s, changed_fn changed)
      : io_(io), store_(s), changed_(std::move(changed)) {}
  content_service(const content_service&) = delete;
  content_service& operator=(const content_service&) = delete;

  // Handles the request if `op` is a content operation; false if it is not one.
  bool handle(const std::shared_ptr<reply_sink>& client, const std::string& op,
              const nlohmann::json& req);
  // Cancels the add in progress and waits for the worker; results it posts are dropped.
  void stop();

 private:
  void add(const std::shared_ptr<reply_sink>& client, const nlohmann::json& req);
  void verify(const std::shared_ptr<reply_sink>& client, const content_id& id);
  void remove(const std::shared_ptr<reply_sink>& client, const content_id& id);
  void collect_garbage(const std::shared_ptr<reply_sink>& client);
  // A progress callback for the worker: at most one `progress` message per 250 ms reaches the
  // client, and a client that is gone (or the daemon stopping) sets `stop`.
  store::progress_fn progress_to(const std::shared_ptr<reply_sink>& client,
                                 const std::shared_ptr<std::atomic<bool>>& stop);
  void reply(const std::shared_ptr<reply_sink>& client, nlohmann::json j);

  boost::asio::io_context& io_;
  store::store& store_;
  changed_fn changed_;
  // Says `queued` to a client whose add or verify waits behind others (one runs at a time).
  void enqueue(const std::shared_ptr<reply_sink>& client, std::function<void()> task);
  void dequeue() { --in_line_; }

  std::atomic<bool> stopping_{false};
  std::size_t in_line_ = 0;  // adds and verifies posted and not answered yet (io thread)
  disk_worker worker_;       // last: its thread goes first
};

}  // namespace shoal::host

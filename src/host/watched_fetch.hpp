// What the daemon keeps beside the node's fetch of a content (host/daemon.cpp).
//
// Thread safety: the daemon's io thread only; the shared pointers travel with disk writes.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "host/reply_sink.hpp"
#include "shoal/error.hpp"
#include "store/export_writer.hpp"
#include "store/store.hpp"

namespace shoal::host {

// What the daemon keeps beside the node's fetch of a content: who watches it, the store's
// partial content, and the output the first `get` asked for.
struct watched_fetch {
  std::uint64_t seq = 0;  // the node's number for the fetch (node::fetch_seq)
  std::vector<std::shared_ptr<reply_sink>> watchers;
  // Shared with the disk worker's writes in flight; released on the io thread only.
  std::shared_ptr<store::partial_content> partial;
  // The output the first `get` asked for, written as pieces are stored (export_writer.hpp), so
  // that it is ready when the fetch is; shared with the disk worker. Dropped, with its temporary
  // tree, if that client goes away first.
  std::filesystem::path output_path;
  std::string name;
  std::shared_ptr<reply_sink> output_owner;
  // Started with `detach` (shoal get --detach): the output is written even once its client is
  // gone.
  bool detached = false;
  // Writing the output failed (a full output disk): the fetch goes on into the store, and ends
  // with this, saying how to write the output later (issue 18, finding 10).
  std::optional<error> output_failed;
  std::shared_ptr<store::export_writer> output;
  // Gateway responses waiting for the content to open (its manifest known) and for pieces to be
  // stored; each is called once, with nullptr when it happened or with why it never will.
  std::vector<std::function<void(const error*)>> open_waiters;
  std::map<piece_index, std::vector<std::function<void(const error*)>>> piece_waiters;
};

}  // namespace shoal::host

// The results of the content operations (add, rm, pin, unpin, gc, verify) as JSON: what
// `shoal --json` prints and what the daemon replies on the control channel, built in one place
// so that a command gives the same output whether it ran on the store or through the daemon
// (docs/protocol/control.md, section 3.5).
//
// Thread safety: plain functions.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "store/store.hpp"

namespace shoal::host {

nlohmann::json summary_json(const store::content_summary& s);
// The summary, with "already_present".
nlohmann::json add_json(const store::add_result& r);
nlohmann::json removed_json(const content_id& id, std::uint64_t bytes_freed);
nlohmann::json pinned_json(const content_id& id, bool pinned);
nlohmann::json gc_json(const std::vector<store::content_summary>& removed);
// `now` is the content's summary after the check (what is held now); `marked_missing` says
// whether the bad pieces were marked missing (false: reported only, through a read-only view).
nlohmann::json verify_json(const content_id& id, const store::verify_result& r,
                           const std::optional<store::content_summary>& now, bool marked_missing);

}  // namespace shoal::host

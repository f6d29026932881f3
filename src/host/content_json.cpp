#include "host/content_json.hpp"

namespace shoal::host {

using nlohmann::json;

json summary_json(const store::content_summary& s) {
  return json{{"id", s.id.str()},
              {"name", s.name},
              {"kind", s.kind == root_kind::file ? "file" : "directory"},
              {"size", s.total_size},
              {"files", s.file_count},
              {"pieces", s.piece_count},
              {"pieces_present", s.have_count},
              {"complete", s.complete()},
              {"pinned", s.pinned},
              {"added_at", s.added_at}};
}

json add_json(const store::add_result& r) {
  json j = summary_json(r.content);
  j["already_present"] = r.already_present;
  return j;
}

json removed_json(const content_id& id, std::uint64_t bytes_freed) {
  return json{{"removed", id.str()}, {"bytes_freed", bytes_freed}};
}

json pinned_json(const content_id& id, bool pinned) {
  return json{{"id", id.str()}, {"pinned", pinned}};
}

json gc_json(const std::vector<store::content_summary>& removed) {
  json arr = json::array();
  for (const auto& x : removed) arr.push_back(summary_json(x));
  return json{{"removed", arr}};
}

json verify_json(const content_id& id, const store::verify_result& r,
                 const std::optional<store::content_summary>& now, bool marked_missing) {
  json bad = json::array();
  for (auto p : r.bad_pieces) bad.push_back(p.value);
  json out{{"id", id.str()},
           {"pieces_checked", r.pieces_checked},
           {"bad_pieces", bad},
           {"marked_missing", marked_missing}};
  if (now) {
    out["pieces"] = now->piece_count;
    out["pieces_held"] = now->have_count;
    out["complete"] = now->complete();
  }
  return out;
}

}  // namespace shoal::host

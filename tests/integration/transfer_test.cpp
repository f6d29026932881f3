// Two (or more) real daemons on loopback: a multi-file tree fetched and compared byte for byte;
// nodes of a foreign network, or with an expired certificate, refused on both sides; a peer that
// serves corrupted blocks disconnected while an honest one completes the fetch; truncated and
// oversized frames; the fetching daemon killed mid-transfer and resumed.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <cstring>

#include <nlohmann/json.hpp>
#include <random>

#include "support/raw_control.hpp"
#include "support/rogue_peer.hpp"
#include "support/test_network.hpp"

namespace shoal::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::vector<std::uint8_t> random_bytes(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<std::uint8_t> v(n);
  for (auto& b : v) b = static_cast<std::uint8_t>(rng());
  return v;
}

void write_file(const fs::path& p, const std::vector<std::uint8_t>& bytes) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
}

std::vector<std::uint8_t> read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Every entry under `a` exists under `b` with the same type, bytes and executable bit, and
// the other way round.
void expect_same_tree(const fs::path& a, const fs::path& b) {
  std::set<fs::path> in_a, in_b;
  for (const auto& e : fs::recursive_directory_iterator(a)) in_a.insert(fs::relative(e.path(), a));
  for (const auto& e : fs::recursive_directory_iterator(b)) in_b.insert(fs::relative(e.path(), b));
  EXPECT_EQ(in_a, in_b);
  for (const auto& rel : in_a) {
    const auto pa = a / rel, pb = b / rel;
    ASSERT_EQ(fs::is_directory(pa), fs::is_directory(pb)) << rel;
    if (fs::is_directory(pa)) continue;
    EXPECT_TRUE(read_file(pa) == read_file(pb)) << rel << " differs";
    const auto exec = fs::perms::owner_exec;
    EXPECT_EQ((fs::status(pa).permissions() & exec) != fs::perms::none,
              (fs::status(pb).permissions() & exec) != fs::perms::none)
        << rel;
  }
}

class transfer_test : public ::testing::Test {
 protected:
  test_network net_;
};

TEST_F(transfer_test, multi_file_tree_fetched_and_identical) {
  auto& a = net_.add_node("node-a");
  auto& b = net_.add_node("node-b");
  const auto tree = net_.dir() / "release";
  write_file(tree / "models" / "weights.bin", random_bytes(5 * 1024 * 1024 + 4321, 1));
  write_file(tree / "models" / "small.bin", random_bytes(16384, 2));  // exactly one block
  write_file(tree / "bin" / "start.sh", {'#', '!', '/', 'b', 'i', 'n', '/', 's', 'h', '\n'});
  fs::permissions(tree / "bin" / "start.sh", fs::perms::owner_exec, fs::perm_options::add);
  write_file(tree / "EMPTY", {});
  fs::create_directories(tree / "empty-dir");
  // A link and a mode other than the default travel too (format version 2).
  fs::create_symlink("models/weights.bin", tree / "latest");
  fs::permissions(tree / "models" / "small.bin", fs::perms::owner_read | fs::perms::owner_write);
  const std::string id = net_.add(a, tree);
  net_.start(a);
  net_.start(b);

  const auto out = net_.dir() / "fetched";
  auto r = net_.get(b, id, {a.listen}, out);
  ASSERT_EQ(r.exit_code, 0) << r.err << "\nlog of a:\n"
                            << cli::slurp(a.log) << "\nlog of b:\n"
                            << cli::slurp(b.log);
  const json done = json::parse(r.out);
  EXPECT_EQ(done.value("event", ""), "done");
  EXPECT_EQ(done.value("output", ""), out.string());
  expect_same_tree(tree, out);
  EXPECT_EQ(fs::read_symlink(out / "latest"), "models/weights.bin");
  EXPECT_EQ(fs::status(out / "models" / "small.bin").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  // B now holds the content, complete and verifiable, and can serve it.
  auto v = net_.shoal(&b, {"verify", id});
  EXPECT_EQ(v.exit_code, 0) << v.err;

  // Asking again is answered from the store.
  r = net_.get(b, id, {a.listen}, net_.dir() / "again");
  ASSERT_EQ(r.exit_code, 0) << r.err << "\nlog of b:\n" << cli::slurp(b.log);
  EXPECT_TRUE(json::parse(r.out).value("already_held", false));
  expect_same_tree(tree, net_.dir() / "again");
}

TEST_F(transfer_test, node_of_a_foreign_network_is_refused_on_both_sides) {
  auto& a = net_.add_node("node-a");
  auto& x = net_.add_node("node-x", "other-org");
  const auto file = net_.dir() / "secret.bin";
  write_file(file, random_bytes(300000, 3));
  const std::string id = net_.add(a, file);
  const auto file_x = net_.dir() / "x.bin";
  write_file(file_x, random_bytes(1000, 4));
  const std::string id_x = net_.add(x, file_x);
  net_.start(a);
  net_.start(x);

  const auto out = net_.dir() / "stolen";
  auto r = net_.get(x, id, {a.listen}, out);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("refused"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("acme"), std::string::npos) << "names the foreign network: " << r.err;
  EXPECT_FALSE(fs::exists(out));
  EXPECT_TRUE(net_.log_shows(x, "refused")) << cli::slurp(x.log);
  EXPECT_TRUE(net_.log_shows(a, "refused")) << cli::slurp(a.log);
  // Nothing of the content reached the foreign node: not even its manifest.
  auto ls = net_.shoal(&x, {"--json", "ls"});
  ASSERT_EQ(ls.exit_code, 0) << ls.err;
  EXPECT_EQ(json::parse(ls.out).size(), 1u) << "only its own content: " << ls.out;

  // And the other way: a member dialing the foreign node refuses it.
  r = net_.get(a, id_x, {x.listen}, net_.dir() / "from-x");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("other-org"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(net_.dir() / "from-x"));
}

TEST_F(transfer_test, expired_certificate_is_refused_on_both_sides) {
  auto& a = net_.add_node("node-a");
  auto& c = net_.add_node("node-c");
  // Valid for 10 s from here: long enough for the daemon to start on a loaded machine under
  // ASan (3 s was not: it once found its certificate expired at start), and waited out below.
  const auto signed_at = std::chrono::steady_clock::now();
  auto& e = net_.add_node("node-e", "acme", "10s");
  const auto file_a = net_.dir() / "a.bin";
  const auto file_e = net_.dir() / "e.bin";
  write_file(file_a, random_bytes(200000, 5));
  write_file(file_e, random_bytes(200000, 6));
  const std::string id_a = net_.add(a, file_a);
  const std::string id_e = net_.add(e, file_e);
  net_.start(a);
  net_.start(c);
  net_.start(e);  // while its certificate is still valid
  std::this_thread::sleep_until(signed_at + std::chrono::seconds(11));

  // E fetches from A: E's daemon knows its own certificate has expired and refuses to fetch
  // (issue 18, finding 8), or, if its once-a-tick check has not seen it yet, dials A and A
  // refuses E's expired certificate. Either way nothing is fetched. (Under AddressSanitizer on
  // a loaded machine the first happened, where the test expected only the second.)
  auto r = net_.get(e, id_a, {a.listen}, net_.dir() / "e-out");
  EXPECT_NE(r.exit_code, 0);
  const bool knew = r.err.find("this node's certificate has expired") != std::string::npos;
  EXPECT_TRUE(knew || r.err.find("refused") != std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(net_.dir() / "e-out"));
  if (!knew) {
    EXPECT_TRUE(net_.log_shows(a, "expired")) << cli::slurp(a.log);
    EXPECT_TRUE(net_.log_shows(e, "refused")) << cli::slurp(e.log);
  }

  // C dials E: C refuses to talk to a peer whose certificate has expired.
  r = net_.get(c, id_e, {e.listen}, net_.dir() / "c-out");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("expired"), std::string::npos) << r.err << "\nlog of e:\n"
                                                      << cli::slurp(e.log);
  EXPECT_FALSE(fs::exists(net_.dir() / "c-out"));
  EXPECT_TRUE(net_.log_shows(c, "expired")) << cli::slurp(c.log);
}

// Issue 18, finding 8: a transfer went on for 90 s past the fetcher's certificate expiry. Now
// both sides cut the connection when the certificate expires, and the fetch ends saying so.
TEST_F(transfer_test, a_transfer_stops_when_the_fetchers_certificate_expires) {
  auto& a = net_.add_node("node-a");
  const auto signed_at = std::chrono::steady_clock::now();
  auto& e = net_.add_node("node-e", "acme", "10s");  // as above: 10 s, for slow starts
  const auto file = net_.dir() / "long.bin";
  write_file(file, random_bytes(24 * 1024 * 1024, 8));  // 24 MiB at 1 MiB/s: 24 s
  const std::string id = net_.add(a, file);
  net_.start(a, {"--upload-limit", "8mbit"});
  net_.start(e);
  auto r = net_.get(e, id, {a.listen}, net_.dir() / "e-out", std::chrono::seconds(60));
  const auto ended = std::chrono::steady_clock::now();
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_FALSE(fs::exists(net_.dir() / "e-out"));
  EXPECT_NE(r.err.find("expired"), std::string::npos) << r.err;
  // It ended once the certificate had expired, not when the transfer would have finished.
  EXPECT_GE(ended - signed_at, std::chrono::seconds(9));
  // A closes it when E's certificate expires, or hears E close it then, whichever comes first.
  EXPECT_TRUE(net_.log_shows(a, "expired")) << cli::slurp(a.log);
  EXPECT_TRUE(net_.log_shows(e, "this node's certificate has expired")) << cli::slurp(e.log);
  // Some of it arrived while the certificate held; the rest never did.
  auto ls = net_.shoal(&e, {"--json", "ls"});
  ASSERT_EQ(ls.exit_code, 0) << ls.err;
  const auto listed = json::parse(ls.out);
  ASSERT_EQ(listed.size(), 1u) << ls.out;
  EXPECT_FALSE(listed.at(0).at("complete")) << ls.out;
}

// Issue 22, item 8: SIGHUP ended the daemon with no log line and left control.sock behind.
TEST_F(transfer_test, sighup_is_logged_and_the_daemon_goes_on_and_sigterm_cleans_up) {
  auto& a = net_.add_node("node-a");
  net_.start(a);
  ASSERT_EQ(::kill(a.daemon, SIGHUP), 0);
  EXPECT_TRUE(net_.log_shows(a, "SIGHUP")) << cli::slurp(a.log);
  auto st = net_.shoal(&a, {"--json", "status"});
  EXPECT_EQ(st.exit_code, 0) << st.err;
  EXPECT_EQ(net_.stop(a, SIGTERM), 0) << cli::slurp(a.log);
  EXPECT_FALSE(fs::exists(a.dir / "control.sock"));
  EXPECT_TRUE(net_.log_shows(a, "shutting down")) << cli::slurp(a.log);
}

TEST_F(transfer_test, peer_serving_corrupted_blocks_is_disconnected_and_the_fetch_completes) {
  auto& a = net_.add_node("node-a");
  auto& b = net_.add_node("node-b");
  auto& m = net_.add_node("node-m");  // certified, but serves corrupted blocks
  const auto bytes = random_bytes(3 * 1024 * 1024 + 777, 6);
  const auto file = net_.dir() / "payload.bin";
  write_file(file, bytes);
  const std::string id = net_.add(a, file);
  corrupting_peer rogue(m.dir, memory_content::make({{"", bytes}}));
  ASSERT_EQ(memory_content::make({{"", bytes}}).id.str(), id);
  net_.start(a);
  net_.start(b);

  // The rogue alone: every block it sends fails verification, it is cut off each time, and
  // the fetch ends with an error instead of storing a byte of it.
  auto r = net_.get(b, id, {rogue.address()}, net_.dir() / "bad", std::chrono::seconds(30));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_FALSE(fs::exists(net_.dir() / "bad"));
  EXPECT_GE(rogue.corrupt_blocks_sent(), 1);
  EXPECT_TRUE(net_.log_shows(b, "failed verification")) << cli::slurp(b.log);
  EXPECT_NE(r.err.find("failed verification"), std::string::npos) << r.err;
  EXPECT_EQ(rogue.connections_accepted(), 1) << "a peer that sent a bad block is not dialed again";

  // The rogue and an honest peer: the rogue is dropped at its bad block, the fetch completes
  // from the honest one, and the result is exactly the original.
  const auto out = net_.dir() / "good.bin";
  r = net_.get(b, id, {rogue.address(), a.listen}, out);
  ASSERT_EQ(r.exit_code, 0) << r.err << "\nlog of b:\n" << cli::slurp(b.log);
  EXPECT_TRUE(read_file(out) == bytes);
  auto v = net_.shoal(&b, {"verify", id});
  EXPECT_EQ(v.exit_code, 0) << v.err;
}

// Issue 18, finding 12: a peer that completed its hello and then broke the protocol (here: a
// manifest that does not hash to the ID) was cut off and redialed about once a second for as
// long as it stayed up, and `shoal get` never returned. Only a bad block stopped the redials.
TEST_F(transfer_test, a_peer_cut_off_for_a_protocol_violation_is_not_redialed) {
  auto& b = net_.add_node("node-b");
  auto& m = net_.add_node("node-m");  // certified, but serves a damaged manifest
  const auto bytes = random_bytes(1024 * 1024, 8);
  const auto content = memory_content::make({{"", bytes}});
  corrupting_peer rogue(m.dir, content, damage::manifest);
  net_.start(b);
  auto r = net_.get(b, content.id.str(), {rogue.address()}, net_.dir() / "bad",
                    std::chrono::seconds(60));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("does not hash to"), std::string::npos) << r.err;
  EXPECT_EQ(rogue.connections_accepted(), 1) << cli::slurp(b.log);
  EXPECT_FALSE(fs::exists(net_.dir() / "bad"));
}

// Issue 18, finding 10: a full output directory stopped the fetch (at 25%), where the fetch into
// the store could go on. Now the fetch completes into the store and the error says how to write
// the output once there is room.
TEST_F(transfer_test, a_full_output_disk_does_not_stop_the_fetch_into_the_store) {
  if (::geteuid() != 0) GTEST_SKIP() << "mounting a small tmpfs needs root";
  const auto small = net_.dir() / "small";
  fs::create_directories(small);
  if (::mount("tmpfs", small.c_str(), "tmpfs", 0, "size=4m") != 0)
    GTEST_SKIP() << "cannot mount tmpfs here: " << std::strerror(errno);
  struct unmount {
    fs::path p;
    ~unmount() { ::umount2(p.c_str(), MNT_DETACH); }
  } guard{small};
  auto& a = net_.add_node("node-a");
  auto& b = net_.add_node("node-b");
  const auto bytes = random_bytes(12 * 1024 * 1024, 10);
  write_file(net_.dir() / "big.bin", bytes);
  const std::string id = net_.add(a, net_.dir() / "big.bin");
  net_.start(a);
  net_.start(b);
  auto r = net_.get(b, id, {a.listen}, small / "out.bin");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("into the store, but could not write the output"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("shoal export " + id), std::string::npos) << r.err;
  auto ls = net_.shoal(&b, {"--json", "ls"});
  ASSERT_EQ(ls.exit_code, 0) << ls.err;
  EXPECT_TRUE(json::parse(ls.out).at(0).at("complete")) << ls.out;
  auto ex = net_.shoal(&b, {"export", id, "-o", (net_.dir() / "later.bin").string()});
  ASSERT_EQ(ex.exit_code, 0) << ex.err;
  EXPECT_TRUE(read_file(net_.dir() / "later.bin") == bytes);
}

TEST_F(transfer_test, truncated_and_oversized_frames_end_the_connection_with_a_clear_log) {
  auto& a = net_.add_node("node-a");
  auto& m = net_.add_node("node-m");
  const auto file = net_.dir() / "after.bin";
  write_file(file, random_bytes(50000, 7));
  const std::string id = net_.add(a, file);
  net_.start(a);
  const int port = std::stoi(a.listen.substr(a.listen.rfind(':') + 1));

  {
    raw_member_client c(m.dir, "127.0.0.1", port);
    ASSERT_TRUE(c.send(wire::hello{1, 1, 16, 0, "raw-test"}));
    // A length prefix announcing 64 MiB: refused before any of the body is awaited.
    ASSERT_TRUE(c.write({0x04, 0x00, 0x00, 0x00, 0x01}));
    c.read_until_closed();
  }
  EXPECT_TRUE(net_.log_shows(a, "is over the limit")) << cli::slurp(a.log);

  {
    raw_member_client c(m.dir, "127.0.0.1", port);
    ASSERT_TRUE(c.send(wire::hello{1, 1, 16, 0, "raw-test"}));
    // Half of a 100-byte frame, then the connection ends.
    ASSERT_TRUE(c.write({0x00, 0x00, 0x00, 0x64, 0x05, 0x01, 0x02}));
    c.close();
    c.read_until_closed();
  }
  EXPECT_TRUE(net_.log_shows(a, "connection closed inside a frame")) << cli::slurp(a.log);

  // The daemon is unharmed and still serves.
  auto& b = net_.add_node("node-b");
  net_.start(b);
  auto r = net_.get(b, id, {a.listen}, net_.dir() / "after-out");
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(transfer_test, killed_fetcher_resumes_without_fetching_verified_pieces_again) {
  auto& a = net_.add_node("node-a");
  auto& b = net_.add_node("node-b");
  const auto file = net_.dir() / "big.bin";
  const std::size_t size = 96 * 1024 * 1024 + 999;
  write_file(file, random_bytes(size, 8));
  const std::string id = net_.add(a, file);
  net_.start(a);
  net_.start(b);

  // Start the fetch in the background and kill B's daemon once some, not all, is stored.
  cli background(net_.dir() / "scratch");
  const pid_t getter = background.start({"--data-dir", b.dir.string(), "-q", "get", id, "--from",
                                         a.listen, "-o", (net_.dir() / "first").string()});
  std::uint64_t stored = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    auto s = net_.shoal(&b, {"--json", "status"}, std::chrono::seconds(10));
    if (s.exit_code == 0) {
      const auto st = json::parse(s.out);
      if (!st["fetches"].empty()) stored = st["fetches"][0].value("stored_bytes", 0ull);
      if (stored > 0) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_GT(stored, 0u) << "the fetch never started storing";
  ASSERT_LT(stored, size) << "the fetch finished before it could be interrupted";
  net_.stop(b, SIGKILL);
  auto first = background.wait(getter, std::chrono::seconds(30));
  EXPECT_NE(first.exit_code, 0) << "the CLI reports the daemon went away";
  EXPECT_FALSE(fs::exists(net_.dir() / "first"));

  auto ls = net_.shoal(&b, {"--json", "ls"});
  ASSERT_EQ(ls.exit_code, 0) << ls.err;
  const auto held = json::parse(ls.out);
  ASSERT_EQ(held.size(), 1u) << ls.out;

  net_.start(b);
  const auto out = net_.dir() / "resumed.bin";
  auto r = net_.get(b, id, {a.listen}, out);
  ASSERT_EQ(r.exit_code, 0) << r.err << "\nlog of b:\n" << cli::slurp(b.log);
  const json done = json::parse(r.out);
  const auto received = done.value("received_bytes", std::uint64_t{0});
  EXPECT_GT(received, 0u);
  EXPECT_LT(received, size) << "the verified pieces stored before the kill were fetched again";
  EXPECT_TRUE(read_file(out) == read_file(file));
}

TEST_F(transfer_test, malformed_control_requests_get_errors_and_the_daemon_carries_on) {
  auto& a = net_.add_node("node-a");
  write_file(net_.dir() / "small.bin", random_bytes(1000, 10));
  const std::string id = net_.add(a, net_.dir() / "small.bin");
  net_.start(a);
  const auto ask = [&](const std::string& line) {
    return raw_control(a.dir / "control.sock", line, 10).read_all();
  };
  EXPECT_NE(ask("not json\n").find("not JSON"), std::string::npos);
  EXPECT_NE(ask("{\"op\": 1}\n").find("wrong type"), std::string::npos);
  EXPECT_NE(ask("{\"op\": \"get\", \"id\": 7}\n").find("wrong type"), std::string::npos);
  EXPECT_NE(ask("{\"op\": \"get\", \"id\": \"sh1x\", \"from\": [1]}\n").find("\"error\""),
            std::string::npos);
  EXPECT_NE(ask("{\"op\": \"launch\"}\n").find("unknown control op"), std::string::npos);
  EXPECT_NE(ask("{\"op\": \"get\", \"id\": \"" + id + "\", \"from\": \"1.2.3.4:5\"}\n")
                .find("must be an array"),
            std::string::npos);
  // An ID with invalid UTF-8 is answered with an error about the ID, not a crash or a
  // confusing one about types.
  EXPECT_NE(ask("{\"op\": \"get\", \"id\": \"sh1\\u00e9\\u00e9\"}\n").find("\"error\""),
            std::string::npos);
  auto st = net_.shoal(&a, {"--json", "status"});
  EXPECT_EQ(st.exit_code, 0) << st.err << cli::slurp(a.log);
}

TEST_F(transfer_test, output_into_a_directory_and_a_taken_output_path) {
  auto& a = net_.add_node("node-a");
  auto& b = net_.add_node("node-b");
  const auto file = net_.dir() / "model.bin";
  const auto bytes = random_bytes(700000, 9);
  write_file(file, bytes);
  const std::string id = net_.add(a, file);
  net_.start(a);
  net_.start(b);

  // An output path taken by a file is refused before anything is fetched.
  const auto taken = net_.dir() / "taken.bin";
  write_file(taken, {1, 2, 3});
  auto r = net_.get(b, id, {a.listen}, taken);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("already exists"), std::string::npos) << r.err;
  EXPECT_TRUE(read_file(taken) == std::vector<std::uint8_t>({1, 2, 3}));
  auto st = net_.shoal(&b, {"--json", "ls"});
  EXPECT_EQ(json::parse(st.out).size(), 0u) << "nothing was fetched: " << st.out;

  // An existing directory receives the content inside it, under the name the origin added it
  // as (issue 22, item 5; it was the content ID), which the catalog keeps too; and nothing of
  // the daemon's temporary tree is left beside it.
  const auto dir = net_.dir() / "models";
  fs::create_directories(dir);
  r = net_.get(b, id, {a.listen}, dir);
  ASSERT_EQ(r.exit_code, 0) << r.err << cli::slurp(b.log);
  EXPECT_EQ(json::parse(r.out).value("output", ""), (dir / "model.bin").string());
  EXPECT_TRUE(read_file(dir / "model.bin") == bytes);
  st = net_.shoal(&b, {"--json", "ls"});
  EXPECT_EQ(json::parse(st.out).at(0).value("name", ""), "model.bin") << st.out;
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++entries;
  EXPECT_EQ(entries, 1u);
}

}  // namespace
}  // namespace shoal::testing

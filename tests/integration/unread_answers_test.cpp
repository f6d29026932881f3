// A certified member that asks and does not read what it asked for, against a running daemon
// (issue 18, findings 11 and 17): the daemon stops reading it instead of buffering every answer,
// and when it cuts the member off, the member still hears goodbye and why.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "core/merkle.hpp"
#include "support/rogue_peer.hpp"
#include "support/test_network.hpp"

namespace shoal::testing {
namespace {

using namespace std::chrono_literals;

content_id add_content(test_network& net, test_node& n);

// A daemon (node-a) holding a 16 MiB content, and a certified member (node-m) to misbehave.
class unread_answers_test : public ::testing::Test {
 protected:
  void SetUp() override {
    c_ = add_content(net_, a_);
    net_.start(a_);
    port_ = std::stoi(a_.listen.substr(a_.listen.rfind(':') + 1));
  }
  test_network net_;
  test_node& a_ = net_.add_node("node-a");
  test_node& m_ = net_.add_node("node-m");
  content_id c_;
  int port_ = 0;
};

// Resident memory of a process, in KiB (VmRSS in /proc).
std::uint64_t resident_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string key;
  while (in >> key) {
    if (key == "VmRSS:") {
      std::uint64_t kib = 0;
      in >> kib;
      return kib;
    }
    in.ignore(1 << 20, '\n');
  }
  return 0;
}

std::vector<std::uint8_t> requests(const content_id& c, std::uint64_t blocks, std::uint64_t from) {
  std::vector<std::uint8_t> out;
  constexpr std::uint64_t per_piece = merkle::piece_size / merkle::block_size;
  for (std::uint64_t i = from; i < from + blocks; ++i)
    wire::encode(wire::request{{c, piece_index(i / per_piece % 64),
                                static_cast<std::uint8_t>(i % per_piece)}},
                 out);
  return out;
}

// Adds a 16 MiB file (64 pieces of 16 blocks) to `n` and returns its ID.
content_id add_content(test_network& net, test_node& n) {
  const auto file = net.dir() / "big.bin";
  write_bytes(file, pattern_bytes(16u << 20, 11));
  auto id = content_id::parse(net.add(n, file));
  EXPECT_TRUE(id.ok());
  return *id;
}

TEST_F(unread_answers_test, a_member_that_never_reads_is_not_buffered_without_bound) {
  auto& a = a_;
  const content_id c = c_;
  const std::uint64_t before = resident_kib(a.daemon);
  ASSERT_GT(before, 0u);

  raw_member_client rogue(m_.dir, "127.0.0.1", port_);
  ASSERT_TRUE(rogue.send(wire::hello{1, 1, 16, 0, "never-reads"}));
  // 20,000 requests (312 MiB of answers) at a steady pace, 50 at a time: never more
  // outstanding than the daemon allows, and nothing read back. Once the daemon stops reading,
  // they wait in the kernel; a write that blocks past the client's timeout ends the loop.
  for (std::uint64_t sent = 0; sent < 20000; sent += 50) {
    if (!rogue.write(requests(c, 50, sent))) break;
    std::this_thread::sleep_for(10ms);
  }
  std::this_thread::sleep_for(1s);
  const std::uint64_t after = resident_kib(a.daemon);
  // Still connected: it kept to the bound on requests, and is held back, not cut off. A daemon
  // that fell far behind (a sanitizer build on a loaded machine) reads several batches at once,
  // finds more than twice the bound outstanding and cuts the member off: that bounds memory
  // too, so this run cannot tell, and says so (the optimised build's run makes the check).
  if (cli::slurp(a.log).find("kept sending requests over the limit") != std::string::npos)
    GTEST_SKIP() << "the daemon fell behind and cut the member off before backpressure:\n"
                 << cli::slurp(a.log);
  EXPECT_EQ(cli::slurp(a.log).find("disconnected"), std::string::npos) << cli::slurp(a.log);
  // Before the fix: 338 MiB more at 20,000 requests. Now the queued answers stop at 8 MiB.
  // AddressSanitizer keeps freed memory in quarantine and pads every allocation: 74 MiB more
  // was seen there, still well under what buffering every answer costs.
#if defined(__SANITIZE_ADDRESS__)
  constexpr std::uint64_t allowed_kib = 160 * 1024;
#else
  constexpr std::uint64_t allowed_kib = 64 * 1024;
#endif
  EXPECT_LT(after, before + allowed_kib) << "resident " << before << " KiB -> " << after << " KiB";

  // Meanwhile the daemon serves everyone else.
  auto& b = net_.add_node("node-b");
  net_.start(b);
  auto r = net_.get(b, c.str(), {a.listen}, net_.dir() / "out.bin");
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(unread_answers_test, a_member_cut_off_with_answers_backed_up_still_hears_goodbye) {
  auto& a = a_;
  const content_id c = c_;

  // Three times: before the fix the goodbye was lost in most runs, not all.
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    raw_member_client rogue(m_.dir, "127.0.0.1", port_);
    ASSERT_TRUE(rogue.send(wire::hello{1, 1, 16, 0, "floods"}));
    // 16 MiB of answers backed up (asked 200 at a time, under the bound of 256 outstanding),
    // then a DHT flood (over the burst of 200: cut off as overloaded), then more requests that
    // the daemon is left not to read.
    for (std::uint64_t sent = 0; sent < 1000; sent += 200) {
      ASSERT_TRUE(rogue.write(requests(c, 200, sent)));
      std::this_thread::sleep_for(20ms);
    }
    std::this_thread::sleep_for(300ms);
    std::vector<std::uint8_t> flood;
    for (std::uint32_t i = 0; i < 1000; ++i)
      wire::encode(wire::dht_query{i, wire::dht_kind::find_node, hash256{{1}}}, flood);
    ASSERT_TRUE(rogue.write(flood));
    for (std::uint64_t sent = 1000; sent < 3000; sent += 200) {
      if (!rogue.write(requests(c, 200, sent))) break;
      std::this_thread::sleep_for(20ms);
    }
    std::this_thread::sleep_for(500ms);

    const auto bytes = rogue.read_until_closed();
    wire::frame_reader reader;
    reader.append(bytes);
    std::optional<wire::message> last;
    while (true) {
      auto next = reader.next();
      ASSERT_TRUE(next.ok()) << next.err().message;
      if (!next->has_value()) break;
      last = std::move(**next);
    }
    ASSERT_TRUE(last.has_value()) << bytes.size() << " bytes";
    const auto* bye = std::get_if<wire::goodbye>(&*last);
    ASSERT_NE(bye, nullptr) << "the last of " << bytes.size() << " bytes was a "
                            << wire::type_name(wire::type_of(*last));
    EXPECT_EQ(bye->code, wire::reason::overloaded) << bye->text;
  }
  // Cut off for the DHT flood, or (on a loaded machine, where the daemon reads several batches
  // of requests at once) for requests over the bound: overloaded either way.
  EXPECT_TRUE(net_.log_shows(a, "(overloaded)")) << cli::slurp(a.log);
}

}  // namespace
}  // namespace shoal::testing

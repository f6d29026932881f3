// End-to-end tests through the `shoal` binary: what a user types, what they get back, and what
// is left on disk when things go wrong.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "support/cli.hpp"
#include "support/test_dir.hpp"

namespace shoal::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr std::size_t piece = 256 * 1024;

class cli_test : public ::testing::Test {
 protected:
  cli_test() : shoal_(dir_ / "scratch") { fs::create_directories(dir_ / "scratch"); }

  std::vector<std::string> in(const fs::path& data, std::vector<std::string> args) {
    args.insert(args.begin(), {"--data-dir", data.string()});
    return args;
  }
  // Adds and returns the ID, failing the test on error.
  std::string add(const fs::path& data, const fs::path& source) {
    auto r = shoal_.run(in(data, {"add", source.string()}));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return trim(r.out);
  }
  void make_tree(const fs::path& root) {
    write_bytes(root / "README", pattern_bytes(1234, 1));
    write_bytes(root / "empty.txt", {});
    write_bytes(root / "bin/tool", pattern_bytes(5000, 2));
    ::chmod((root / "bin/tool").c_str(), 0755);
    write_bytes(root / "data/odd.bin", pattern_bytes(3 * piece + 5, 3));
    write_bytes(root / "data/nested/deeper/leaf.bin", pattern_bytes(16384, 4));
    fs::create_directories(root / "data/empty_dir");
  }
  void expect_same_tree(const fs::path& a, const fs::path& b) {
    std::vector<std::string> names_a, names_b;
    for (const auto& e : fs::recursive_directory_iterator(a))
      names_a.push_back(fs::relative(e.path(), a).string());
    for (const auto& e : fs::recursive_directory_iterator(b))
      names_b.push_back(fs::relative(e.path(), b).string());
    std::sort(names_a.begin(), names_a.end());
    std::sort(names_b.begin(), names_b.end());
    ASSERT_EQ(names_a, names_b);
    for (const auto& n : names_a) {
      const auto pa = a / n, pb = b / n;
      ASSERT_EQ(fs::is_directory(pa), fs::is_directory(pb)) << n;
      if (fs::is_directory(pa)) continue;
      EXPECT_EQ(read_bytes(pa), read_bytes(pb)) << n;
      const bool exec_a = (fs::status(pa).permissions() & fs::perms::owner_exec) != fs::perms::none;
      const bool exec_b = (fs::status(pb).permissions() & fs::perms::owner_exec) != fs::perms::none;
      EXPECT_EQ(exec_a, exec_b) << n;
    }
  }
  // Starts `args`, waits until `ready` holds, then kills the process with SIGKILL. Returns true
  // if the kill landed before the process finished on its own. Bounded in attempts and time.
  bool kill_when(const std::vector<std::string>& args, const std::function<bool()>& ready) {
    const pid_t pid = shoal_.start(args);
    for (int i = 0; i < 20000 && !ready(); ++i)
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    ::kill(pid, SIGKILL);
    return shoal_.wait(pid).signal == SIGKILL;
  }
  static bool any_entry(const fs::path& dir, const std::string& prefix) {
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
      if (it->path().filename().string().rfind(prefix, 0) == 0) return true;
    return false;
  }

  temp_dir dir_;
  cli shoal_;
};

TEST_F(cli_test, add_and_export_a_tree) {
  make_tree(dir_ / "release");
  auto r = shoal_.run(in(dir_ / "d1", {"--json", "add", (dir_ / "release").string()}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = json::parse(r.out);
  const std::string id = j.at("id");
  EXPECT_EQ(j.at("files"), 5);
  EXPECT_EQ(j.at("size"), 1234 + 5000 + 3 * piece + 5 + 16384);
  EXPECT_TRUE(j.at("complete"));
  EXPECT_TRUE(j.at("pinned"));

  auto ls = shoal_.run(in(dir_ / "d1", {"ls"}));
  ASSERT_EQ(ls.exit_code, 0) << ls.err;
  EXPECT_NE(ls.out.find(id), std::string::npos);
  EXPECT_NE(ls.out.find("complete"), std::string::npos);
  EXPECT_NE(ls.out.find("release"), std::string::npos);

  auto ex = shoal_.run(in(dir_ / "d1", {"export", id, "-o", (dir_ / "out").string()}));
  ASSERT_EQ(ex.exit_code, 0) << ex.err;
  expect_same_tree(dir_ / "release", dir_ / "out");
  // The same export again does not nest a second copy inside the first (issue 22, item 5): a
  // tree goes inside an existing directory only when the path ends with a slash.
  auto again = shoal_.run(in(dir_ / "d1", {"export", id, "-o", (dir_ / "out").string()}));
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("end the path with a slash"), std::string::npos) << again.err;
  EXPECT_FALSE(fs::exists(dir_ / "out" / "release"));
  fs::create_directories(dir_ / "into");
  ASSERT_EQ(
      shoal_.run(in(dir_ / "d1", {"export", id, "-o", (dir_ / "into").string() + "/"})).exit_code,
      0);
  expect_same_tree(dir_ / "release", dir_ / "into" / "release");
  // A single file exports to a file.
  const std::string file_id = add(dir_ / "d1", dir_ / "release/data/odd.bin");
  ASSERT_EQ(shoal_.run(in(dir_ / "d1", {"export", file_id, "-o", (dir_ / "odd.copy").string()}))
                .exit_code,
            0);
  EXPECT_EQ(read_bytes(dir_ / "odd.copy"), read_bytes(dir_ / "release/data/odd.bin"));
}

TEST_F(cli_test, same_tree_same_id_in_two_data_directories) {
  make_tree(dir_ / "release");
  const std::string a = add(dir_ / "d1", dir_ / "release");
  const std::string b = add(dir_ / "d2", dir_ / "release");
  EXPECT_EQ(a, b);
  EXPECT_EQ(a.size(), 55u);
  // A copy under another name and path has the same ID: the top-level name is not content.
  fs::create_directories(dir_ / "copy");
  fs::copy(dir_ / "release", dir_ / "copy" / "renamed", fs::copy_options::recursive);
  EXPECT_EQ(add(dir_ / "d2", dir_ / "copy" / "renamed"), a);
  // One changed byte changes it.
  write_bytes(dir_ / "copy/renamed/README", pattern_bytes(1234, 99));
  EXPECT_NE(add(dir_ / "d2", dir_ / "copy" / "renamed"), a);
  // So does the executable bit.
  fs::copy(dir_ / "release", dir_ / "copy2", fs::copy_options::recursive);
  ::chmod((dir_ / "copy2/README").c_str(), 0755);
  EXPECT_NE(add(dir_ / "d2", dir_ / "copy2"), a);
}

TEST_F(cli_test, deepest_allowed_tree_and_top_level_links) {
  // An empty directory 128 levels down is the deepest path the format allows; 129 is refused.
  fs::path deep = dir_ / "deep";
  for (int i = 0; i < 128; ++i) deep /= "d";
  fs::create_directories(deep);
  const std::string id = add(dir_ / "d", dir_ / "deep");
  ASSERT_EQ(id.size(), 55u);
  ASSERT_EQ(
      shoal_.run(in(dir_ / "d", {"export", id, "-o", (dir_ / "deep.out").string()})).exit_code, 0);
  fs::path deep_out = dir_ / "deep.out";
  for (int i = 0; i < 128; ++i) deep_out /= "d";
  EXPECT_TRUE(fs::is_directory(deep_out));
  fs::create_directories(deep / "d");
  auto too_deep = shoal_.run(in(dir_ / "d", {"add", (dir_ / "deep").string()}));
  EXPECT_EQ(too_deep.exit_code, 1);
  EXPECT_NE(too_deep.err.find("deeper than 128"), std::string::npos) << too_deep.err;

  // A link named on the command line is followed, whether it points at a file or a directory.
  make_tree(dir_ / "release");
  fs::create_symlink(dir_ / "release", dir_ / "release-link");
  fs::create_symlink(dir_ / "release" / "README", dir_ / "readme-link");
  EXPECT_EQ(add(dir_ / "d", dir_ / "release-link"), add(dir_ / "d", dir_ / "release"));
  EXPECT_EQ(add(dir_ / "d", dir_ / "readme-link"), add(dir_ / "d", dir_ / "release" / "README"));
}

TEST_F(cli_test, killed_add_leaves_a_clean_store_and_can_be_redone) {
  write_bytes(dir_ / "big.bin", pattern_bytes(384u << 20, 5));
  const std::string expected = add(dir_ / "reference", dir_ / "big.bin");
  bool killed = false;
  for (int attempt = 0; attempt < 5 && !killed; ++attempt) {
    fs::remove_all(dir_ / "d");
    killed = kill_when(in(dir_ / "d", {"add", (dir_ / "big.bin").string()}),
                       [&] { return any_entry(dir_ / "d" / "tmp", "add-"); });
  }
  ASSERT_TRUE(killed) << "add always finished before it could be killed";
  EXPECT_TRUE(any_entry(dir_ / "d" / "tmp", "add-"));  // the interrupted import's leftovers

  auto ls = shoal_.run(in(dir_ / "d", {"--json", "ls"}));
  ASSERT_EQ(ls.exit_code, 0) << ls.err;
  EXPECT_EQ(json::parse(ls.out).size(), 0u) << "an interrupted add must not be listed";
  EXPECT_EQ(add(dir_ / "d", dir_ / "big.bin"), expected);
  EXPECT_FALSE(any_entry(dir_ / "d" / "tmp", "add-")) << "leftovers swept on the next write";
  auto ex = shoal_.run(in(dir_ / "d", {"export", expected, "-o", (dir_ / "big.out").string()}));
  ASSERT_EQ(ex.exit_code, 0) << ex.err;
  EXPECT_EQ(fs::file_size(dir_ / "big.out"), 384u << 20);
}

TEST_F(cli_test, killed_export_leaves_nothing_at_the_target) {
  write_bytes(dir_ / "big.bin", pattern_bytes(384u << 20, 6));
  const std::string id = add(dir_ / "d", dir_ / "big.bin");
  bool killed = false;
  for (int attempt = 0; attempt < 5 && !killed; ++attempt) {
    fs::remove_all(dir_ / "out.bin");
    killed = kill_when(in(dir_ / "d", {"export", id, "-o", (dir_ / "out.bin").string()}),
                       [&] { return any_entry(dir_.path(), ".out.bin.shoal-"); });
  }
  ASSERT_TRUE(killed) << "export always finished before it could be killed";
  EXPECT_FALSE(fs::exists(dir_ / "out.bin")) << "a partial export must never appear at the target";
  auto ex = shoal_.run(in(dir_ / "d", {"export", id, "-o", (dir_ / "out.bin").string()}));
  ASSERT_EQ(ex.exit_code, 0) << ex.err;
  EXPECT_EQ(read_bytes(dir_ / "out.bin"), read_bytes(dir_ / "big.bin"));
  EXPECT_FALSE(any_entry(dir_.path(), ".out.bin.shoal-"))
      << "the killed export's leftovers are swept";
}

TEST_F(cli_test, bad_inputs_get_clear_errors) {
  auto missing = shoal_.run(in(dir_ / "d", {"add", (dir_ / "nope").string()}));
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("nope"), std::string::npos) << missing.err;
  EXPECT_NE(missing.err.find("No such file"), std::string::npos) << missing.err;

  const std::string unknown = "sh1" + std::string(51, 'a') + "a";
  auto u = shoal_.run(in(dir_ / "d", {"export", unknown, "-o", (dir_ / "x").string()}));
  EXPECT_EQ(u.exit_code, 1);
  EXPECT_NE(u.err.find("no content " + unknown), std::string::npos) << u.err;

  auto bad = shoal_.run(in(dir_ / "d", {"--json", "rm", "sh1-not-an-id"}));
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_EQ(json::parse(bad.out).at("error").at("code"), "invalid_argument");

  // A link inside a tree is kept (below); one that leads out of it is refused, by name, before
  // anything is copied.
  write_bytes(dir_ / "tree/file", pattern_bytes(10));
  fs::create_symlink("../../outside", dir_ / "tree/link");
  auto link = shoal_.run(in(dir_ / "d", {"add", (dir_ / "tree").string()}));
  EXPECT_EQ(link.exit_code, 1);
  EXPECT_NE(link.err.find("\"link\""), std::string::npos) << link.err;
  EXPECT_NE(link.err.find("leads out of the tree"), std::string::npos) << link.err;

  write_bytes(dir_ / "f.bin", pattern_bytes(100));
  const std::string id = add(dir_ / "d", dir_ / "f.bin");
  write_bytes(dir_ / "taken", {});
  auto taken = shoal_.run(in(dir_ / "d", {"export", id, "-o", (dir_ / "taken").string()}));
  EXPECT_EQ(taken.exit_code, 1);
  EXPECT_NE(taken.err.find("already exists"), std::string::npos) << taken.err;
  auto no_parent =
      shoal_.run(in(dir_ / "d", {"export", id, "-o", (dir_ / "no/such/dir/x").string()}));
  EXPECT_EQ(no_parent.exit_code, 1);
  EXPECT_NE(no_parent.err.find("does not exist"), std::string::npos) << no_parent.err;

  std::ofstream(dir_ / "bad.toml") << "data_dir = \n";
  auto cfg = shoal_.run({"--config", (dir_ / "bad.toml").string(), "ls"});
  EXPECT_EQ(cfg.exit_code, 1);
  EXPECT_NE(cfg.err.find("bad.toml"), std::string::npos) << cfg.err;
}

TEST_F(cli_test, usage_errors_and_data_directory_hygiene) {
  EXPECT_EQ(shoal_.run({"export"}).exit_code, 2);
  EXPECT_EQ(shoal_.run({"add"}).exit_code, 2);
  EXPECT_EQ(shoal_.run({"--help"}).exit_code, 0);
  // Issue 22, items 1 and 2: global flags after the subcommand; unknown commands named.
  auto after = shoal_.run({"ls", "--data-dir", (dir_ / "never").string(), "--json"});
  EXPECT_EQ(after.exit_code, 0) << after.err;
  EXPECT_EQ(trim(after.out), "[]");
  for (const std::string word : {"foo", "pears", "cat"}) {
    auto unknown = shoal_.run({"--json", word});
    EXPECT_EQ(unknown.exit_code, 2);
    EXPECT_NE(unknown.err.find("unknown command '" + word + "'"), std::string::npos) << unknown.err;
    EXPECT_NE(unknown.err.find("add, ls, export"), std::string::npos) << unknown.err;
  }
  auto help = shoal_.run({"help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("Usage: shoal"), std::string::npos) << help.out;
  auto help_get = shoal_.run({"help", "get"});
  EXPECT_EQ(help_get.exit_code, 0);
  EXPECT_NE(help_get.out.find("--from"), std::string::npos) << help_get.out;
  EXPECT_NE(help_get.out.find("Global flags"), std::string::npos) << help_get.out;
  // Listing a directory where nothing was stored creates nothing.
  auto ls = shoal_.run(in(dir_ / "never", {"--json", "ls"}));
  EXPECT_EQ(ls.exit_code, 0) << ls.err;
  EXPECT_FALSE(fs::exists(dir_ / "never"));
  // An existing directory used as the data directory keeps its permissions.
  fs::create_directories(dir_ / "shared");
  fs::permissions(dir_ / "shared", fs::perms(0755));
  write_bytes(dir_ / "f.bin", pattern_bytes(10));
  add(dir_ / "shared", dir_ / "f.bin");
  EXPECT_EQ(fs::status(dir_ / "shared").permissions() & fs::perms::all, fs::perms(0755));
  EXPECT_EQ(fs::status(dir_ / "shared" / "data").permissions() & fs::perms::all, fs::perms(0700));
}

// Issue 22, item 11: files kept their executable bit alone, and trees with symbolic links were
// refused. Now the permission bits and the links come back out as they went in.
TEST_F(cli_test, modes_and_symbolic_links_come_back_out_as_they_went_in) {
  const auto t = dir_ / "app";
  fs::create_directories(t / "bin");
  fs::create_directories(t / "conf");
  fs::create_directories(t / "node_modules");
  write_bytes(t / "bin/tool", pattern_bytes(100, 1));
  write_bytes(t / "conf/secret.key", pattern_bytes(32, 2));
  write_bytes(t / "conf/app.toml", pattern_bytes(20, 3));
  ::chmod((t / "bin/tool").c_str(), 0750);
  ::chmod((t / "conf/secret.key").c_str(), 0600);
  ::chmod((t / "conf/app.toml").c_str(), 0644);
  ::chmod((t / "conf").c_str(), 0710);
  fs::create_symlink("../bin/tool", t / "node_modules/tool");
  fs::create_symlink("conf", t / "settings");
  fs::create_symlink("missing-for-now", t / "dangling");
  const std::string id = add(dir_ / "d", t);
  auto ex = shoal_.run(in(dir_ / "d", {"export", id, "-o", (dir_ / "copy").string()}));
  ASSERT_EQ(ex.exit_code, 0) << ex.err;
  const auto mode = [](const fs::path& p) {
    struct stat st {};
    EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
    return st.st_mode & 07777;
  };
  const auto c = dir_ / "copy";
  EXPECT_EQ(mode(c / "bin/tool"), 0750u);
  EXPECT_EQ(mode(c / "conf/secret.key"), 0600u);
  EXPECT_EQ(mode(c / "conf/app.toml"), 0644u);
  EXPECT_EQ(mode(c / "conf"), 0710u);
  EXPECT_TRUE(fs::is_symlink(c / "node_modules/tool"));
  EXPECT_EQ(fs::read_symlink(c / "node_modules/tool"), "../bin/tool");
  EXPECT_EQ(read_bytes(c / "node_modules/tool"), pattern_bytes(100, 1));  // through the link
  EXPECT_EQ(fs::read_symlink(c / "settings"), "conf");
  EXPECT_EQ(fs::read_symlink(c / "dangling"), "missing-for-now");
  // The same tree with other modes is another content.
  ::chmod((t / "conf/secret.key").c_str(), 0640);
  EXPECT_NE(add(dir_ / "d", t), id);
}

TEST_F(cli_test, unreadable_file_is_reported) {
  write_bytes(dir_ / "secret/ok.txt", pattern_bytes(10));
  write_bytes(dir_ / "secret/locked.txt", pattern_bytes(10));
  ::chmod((dir_ / "secret/locked.txt").c_str(), 0);
  std::vector<std::string> prefix;
  if (::geteuid() == 0) {
    // Root reads anything, so run as nobody, as a real user would be.
    if (std::system("command -v setpriv >/dev/null") != 0)
      GTEST_SKIP() << "running as root without setpriv";
    prefix = {"setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"};
    fs::permissions(dir_.path(), fs::perms::all);
    fs::permissions(dir_ / "secret", fs::perms::all);
    fs::permissions(dir_ / "secret/ok.txt", fs::perms::all);
  }
  auto r = shoal_.run(in(dir_ / "d", {"add", (dir_ / "secret").string()}), prefix);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("locked.txt"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("Permission denied"), std::string::npos) << r.err;
}

TEST_F(cli_test, damaged_data_file_is_caught_on_export) {
  make_tree(dir_ / "release");
  const std::string id = add(dir_ / "d", dir_ / "release");
  const fs::path data = dir_ / "d" / "data" / id;
  auto bytes = read_bytes(data);
  bytes[bytes.size() / 2] ^= 0xFF;
  write_bytes(data, bytes);

  auto r = shoal_.run(in(dir_ / "d", {"export", id, "-o", (dir_ / "out").string()}));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("failed verification"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir_ / "out"));
  // Issue 22, item 5: `-o -` of a tree is refused (a single file goes to stdout, below).
  auto to_stdout = shoal_.run(in(dir_ / "d", {"export", id, "-o", "-"}));
  EXPECT_EQ(to_stdout.exit_code, 1);
  EXPECT_NE(to_stdout.err.find("single file"), std::string::npos) << to_stdout.err;  // a tree
  EXPECT_FALSE(fs::exists(fs::current_path() / "-"));
  auto ls = shoal_.run(in(dir_ / "d", {"--json", "ls"}));
  EXPECT_FALSE(json::parse(ls.out).at(0).at("complete"))
      << "the damaged piece is no longer claimed";
  // Issue 22, item 6: a later verify passed with no word that the content is now partial.
  auto v = shoal_.run(in(dir_ / "d", {"verify", id}));
  EXPECT_EQ(v.exit_code, 1) << v.out;
  EXPECT_NE(v.out.find("incomplete"), std::string::npos) << v.out;
  EXPECT_NE(v.out.find("shoal get " + id), std::string::npos) << v.out;
  auto vj = shoal_.run(in(dir_ / "d", {"--json", "verify", id}));
  EXPECT_FALSE(json::parse(vj.out).at("complete")) << vj.out;
  // Adding the original again repairs the content.
  EXPECT_EQ(add(dir_ / "d", dir_ / "release"), id);
  ASSERT_EQ(shoal_.run(in(dir_ / "d", {"export", id, "-o", (dir_ / "out").string()})).exit_code, 0);
  expect_same_tree(dir_ / "release", dir_ / "out");
}

// Issue 22, item 5: `-o -` made a file named `-`. Now a file content's verified bytes go to
// stdout, and a damaged piece ends the stream with an error and a non-zero status.
TEST_F(cli_test, a_file_exported_to_stdout_is_its_verified_bytes) {
  const auto bytes = pattern_bytes(3 * piece + 77, 9);
  write_bytes(dir_ / "f.bin", bytes);
  const std::string id = add(dir_ / "d", dir_ / "f.bin");
  auto r = shoal_.run(in(dir_ / "d", {"export", id, "-o", "-"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(std::vector<std::uint8_t>(r.out.begin(), r.out.end()) == bytes);
  EXPECT_FALSE(fs::exists(fs::current_path() / "-"));
  auto data = read_bytes(dir_ / "d" / "data" / id);
  data[2 * piece + 5] ^= 0xFF;  // the third piece
  write_bytes(dir_ / "d" / "data" / id, data);
  r = shoal_.run(in(dir_ / "d", {"export", id, "-o", "-"}));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out.size(), 2 * piece) << "the two good pieces, then the stream ends";
  EXPECT_NE(r.err.find("verification"), std::string::npos) << r.err;
}

TEST_F(cli_test, rm_and_gc_reclaim_space) {
  write_bytes(dir_ / "a.bin", pattern_bytes(4u << 20, 7));
  write_bytes(dir_ / "b.bin", pattern_bytes(4u << 20, 8));
  const std::string a = add(dir_ / "d", dir_ / "a.bin");
  auto b_run = shoal_.run(in(dir_ / "d", {"add", "--no-pin", (dir_ / "b.bin").string()}));
  const std::string b = trim(b_run.out);
  auto pinned = shoal_.run(in(dir_ / "d", {"rm", a}));
  EXPECT_EQ(pinned.exit_code, 1);
  EXPECT_NE(pinned.err.find("pinned"), std::string::npos);
  auto gc = shoal_.run(in(dir_ / "d", {"gc"}));
  ASSERT_EQ(gc.exit_code, 0) << gc.err;
  EXPECT_NE(gc.out.find(b), std::string::npos);
  EXPECT_FALSE(fs::exists(dir_ / "d" / "data" / b));
  ASSERT_EQ(shoal_.run(in(dir_ / "d", {"unpin", a})).exit_code, 0);
  auto rm = shoal_.run(in(dir_ / "d", {"--json", "rm", a}));
  ASSERT_EQ(rm.exit_code, 0) << rm.err;
  EXPECT_GE(json::parse(rm.out).at("bytes_freed").get<std::uint64_t>(), 4u << 20);
  EXPECT_FALSE(fs::exists(dir_ / "d" / "data" / a));
}

TEST_F(cli_test, full_disk_is_reported_and_leaves_the_store_consistent) {
  if (::geteuid() != 0) GTEST_SKIP() << "mounting a small tmpfs needs root";
  fs::create_directories(dir_ / "small");
  if (::mount("tmpfs", (dir_ / "small").c_str(), "tmpfs", 0, "size=8m") != 0)
    GTEST_SKIP() << "cannot mount tmpfs here: " << std::strerror(errno);
  struct unmount {
    fs::path p;
    ~unmount() { ::umount2(p.c_str(), MNT_DETACH); }
  } guard{dir_ / "small"};

  write_bytes(dir_ / "big.bin", pattern_bytes(16u << 20, 9));
  auto r = shoal_.run(in(dir_ / "small/d", {"--json", "add", (dir_ / "big.bin").string()}));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(json::parse(r.out).at("error").at("code"), "disk_full") << r.err;
  // Refused before any copying: the free space is checked first (issue 18, finding 15).
  EXPECT_NE(r.err.find("bytes are free on its file system"), std::string::npos) << r.err;
  EXPECT_FALSE(any_entry(dir_ / "small/d/tmp", "add-")) << "the failed import is cleaned up";
  write_bytes(dir_ / "small.bin", pattern_bytes(100000, 10));
  const std::string id = add(dir_ / "small/d", dir_ / "small.bin");
  auto ls = shoal_.run(in(dir_ / "small/d", {"--json", "ls"}));
  ASSERT_EQ(json::parse(ls.out).size(), 1u);
  EXPECT_EQ(json::parse(ls.out).at(0).at("id"), id);
}

// Issue 22, item 9: a store on read-only media (a backup, a mounted image) can be listed and
// exported, and a data directory that is a file says so.
TEST_F(cli_test, a_store_on_a_read_only_mount_is_listed_and_exported) {
  if (::geteuid() != 0) GTEST_SKIP() << "a read-only bind mount needs root";
  write_bytes(dir_ / "f.bin", pattern_bytes(300000, 12));
  const std::string id = add(dir_ / "rw", dir_ / "f.bin");
  fs::create_directories(dir_ / "ro");
  if (::mount((dir_ / "rw").c_str(), (dir_ / "ro").c_str(), nullptr, MS_BIND, nullptr) != 0)
    GTEST_SKIP() << "cannot bind-mount here: " << std::strerror(errno);
  struct unmount {
    fs::path p;
    ~unmount() { ::umount2(p.c_str(), MNT_DETACH); }
  } guard{dir_ / "ro"};
  if (::mount(nullptr, (dir_ / "ro").c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr) !=
      0)
    GTEST_SKIP() << "cannot make the bind mount read-only: " << std::strerror(errno);
  auto ls = shoal_.run(in(dir_ / "ro", {"--json", "ls"}));
  ASSERT_EQ(ls.exit_code, 0) << ls.err;
  ASSERT_EQ(json::parse(ls.out).size(), 1u);
  EXPECT_EQ(json::parse(ls.out).at(0).at("id"), id);
  auto ex = shoal_.run(in(dir_ / "ro", {"export", id, "-o", (dir_ / "out.bin").string()}));
  ASSERT_EQ(ex.exit_code, 0) << ex.err;
  EXPECT_EQ(read_bytes(dir_ / "out.bin"), pattern_bytes(300000, 12));
  // A writing command says what is wrong with the directory, and changes nothing.
  auto add_ro = shoal_.run(in(dir_ / "ro", {"add", (dir_ / "f.bin").string()}));
  EXPECT_EQ(add_ro.exit_code, 1);
  EXPECT_NE(add_ro.err.find("Read-only file system"), std::string::npos) << add_ro.err;
}

TEST_F(cli_test, a_data_directory_that_is_a_file_is_named_as_such) {
  write_bytes(dir_ / "not-a-dir", pattern_bytes(10, 1));
  for (const char* cmd : {"ls", "gc"}) {
    auto r = shoal_.run(in(dir_ / "not-a-dir", {"--json", cmd}));
    EXPECT_EQ(r.exit_code, 1) << cmd;
    EXPECT_NE(r.err.find("is not a directory; give --data-dir"), std::string::npos) << r.err;
    EXPECT_EQ(json::parse(r.out).at("error").at("code"), "invalid_argument");
  }
}

}  // namespace
}  // namespace shoal::testing

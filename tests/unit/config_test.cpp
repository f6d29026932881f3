#include "host/config.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>

namespace shoal::host {
namespace {

namespace fs = std::filesystem;

class config_test : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("shoal-config-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    for (const char* v : {"SHOAL_DATA_DIR", "SHOAL_CONFIG", "XDG_CONFIG_HOME", "XDG_DATA_HOME"})
      ::unsetenv(v);
    ::setenv("HOME", dir_.c_str(), 1);
  }
  void TearDown() override { fs::remove_all(dir_); }
  void write(const fs::path& p, const std::string& text) {
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
  }
  fs::path dir_;
};

TEST_F(config_test, default_is_under_home) {
  auto c = load_config({});
  ASSERT_TRUE(c.ok()) << c.err().message;
  EXPECT_EQ(c->data_dir, dir_ / ".local" / "share" / "shoal");
  EXPECT_EQ(c->data_dir_source, "default");
}

TEST_F(config_test, precedence_flag_env_file_default) {
  write(dir_ / ".config" / "shoal" / "config.toml", "data_dir = \"/srv/from-file\"\n");
  auto from_file = load_config({});
  ASSERT_TRUE(from_file.ok()) << from_file.err().message;
  EXPECT_EQ(from_file->data_dir, "/srv/from-file");
  ::setenv("SHOAL_DATA_DIR", "/srv/from-env", 1);
  EXPECT_EQ(load_config({})->data_dir, "/srv/from-env");
  EXPECT_EQ(load_config({.data_dir = fs::path("/srv/from-flag"), .config_file = {}})->data_dir,
            "/srv/from-flag");
}

TEST_F(config_test, relative_data_dir_is_relative_to_the_file) {
  write(dir_ / "etc" / "shoal.toml", "data_dir = \"store\"\n");
  auto c = load_config({.data_dir = {}, .config_file = dir_ / "etc" / "shoal.toml"});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->data_dir, dir_ / "etc" / "store");
}

TEST_F(config_test, errors_name_the_problem) {
  EXPECT_EQ(load_config({.data_dir = {}, .config_file = dir_ / "missing.toml"}).err().code,
            errc::not_found);
  write(dir_ / "bad.toml", "data_dir = [1, 2\n");
  EXPECT_NE(
      load_config({.data_dir = {}, .config_file = dir_ / "bad.toml"}).err().message.find("line"),
      std::string::npos);
  write(dir_ / "typo.toml", "\n\ndatadir = \"x\"\n");
  auto typo = load_config({.data_dir = {}, .config_file = dir_ / "typo.toml"});
  ASSERT_FALSE(typo.ok());
  EXPECT_NE(typo.err().message.find("unknown key \"datadir\""), std::string::npos);
  EXPECT_NE(typo.err().message.find("line 3"), std::string::npos);
  write(dir_ / "type.toml", "data_dir = 5\n");
  EXPECT_FALSE(load_config({.data_dir = {}, .config_file = dir_ / "type.toml"}).ok());
  // Issue 22, item 12: max_swarm_peers had no config key.
  write(dir_ / "swarm.toml", "max_swarm_peers = 32\n");
  auto swarm = load_config({.data_dir = {}, .config_file = dir_ / "swarm.toml"});
  ASSERT_TRUE(swarm.ok()) << swarm.err().message;
  EXPECT_EQ(swarm->max_swarm_peers, 32u);
  write(dir_ / "swarm0.toml", "max_swarm_peers = 0\n");
  auto zero = load_config({.data_dir = {}, .config_file = dir_ / "swarm0.toml"});
  ASSERT_FALSE(zero.ok());
  EXPECT_NE(zero.err().message.find("max_swarm_peers must be"), std::string::npos);
}

TEST(parse_rate, units_of_bits_and_bytes) {
  EXPECT_EQ(*parse_rate("0", "upload"), 0u);
  EXPECT_EQ(*parse_rate("40mbit", "upload"), 5'000'000u);
  EXPECT_EQ(*parse_rate("40Mbit", "upload"), 5'000'000u);
  EXPECT_EQ(*parse_rate("1gbit", "upload"), 125'000'000u);
  EXPECT_EQ(*parse_rate("500kbit", "upload"), 62'500u);
  EXPECT_EQ(*parse_rate("5MB/s", "upload"), 5'000'000u);
  EXPECT_EQ(*parse_rate("512KiB", "upload"), 524'288u);
  EXPECT_EQ(*parse_rate("1.5MiB/s", "upload"), 1'572'864u);
  EXPECT_EQ(*parse_rate("100000", "upload"), 100'000u);
  EXPECT_EQ(rate_text(5'000'000), "40 Mbit/s (5 MB/s)");
  EXPECT_EQ(rate_text(1'000'000), "8 Mbit/s (1 MB/s)");  // issue 22, item 7: `--upload 1MB/s`
  EXPECT_EQ(rate_text(2048), "16.4 kbit/s (2.05 kB/s)");
  EXPECT_EQ(rate_text(0), "unlimited");
}

TEST(parse_rate, bad_rates_name_the_setting) {
  for (const char* bad : {"", "fast", "40 mbit", "mbit", "-5MB", "5 MB", "1e9"}) {
    auto r = parse_rate(bad, "--upload-limit");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.err().message.find("--upload-limit"), std::string::npos) << r.err().message;
  }
  auto tiny = parse_rate("100", "upload_limit");
  ASSERT_FALSE(tiny.ok());
  EXPECT_NE(tiny.err().message.find("below 1 KiB/s"), std::string::npos) << tiny.err().message;
}

TEST_F(config_test, rate_limits_from_the_config_file) {
  const fs::path f = dir_ / "rates.toml";
  const config_overrides o{.data_dir = {}, .config_file = f};
  write(f, "upload_limit = \"40mbit\"\ndownload_limit = \"10MB/s\"\n");
  auto c = load_config(o);
  ASSERT_TRUE(c.ok()) << c.err().message;
  EXPECT_EQ(c->upload_limit, 5'000'000u);
  EXPECT_EQ(c->download_limit, 10'000'000u);
  write(f, "upload_limit = 40\n");
  EXPECT_FALSE(load_config(o).ok());
  write(f, "upload_limit = \"lots\"\n");
  auto bad = load_config(o);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.err().message.find("upload_limit"), std::string::npos) << bad.err().message;
}

}  // namespace
}  // namespace shoal::host

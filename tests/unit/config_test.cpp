#include "node/config.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>

namespace shoal::node {
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
}

}  // namespace
}  // namespace shoal::node

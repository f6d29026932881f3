// Peer and listen addresses as users write them.
#include <gtest/gtest.h>

#include "net/address.hpp"

namespace shoal::net {
namespace {

TEST(address, parses_host_and_port) {
  auto a = parse_address("127.0.0.1:7420", "--from");
  ASSERT_TRUE(a) << a.err().message;
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 7420);
  EXPECT_EQ(a->str(), "127.0.0.1:7420");
}

TEST(address, ipv6_needs_brackets) {
  auto a = parse_address("[::1]:9", "--from");
  ASSERT_TRUE(a) << a.err().message;
  EXPECT_EQ(a->host, "::1");
  EXPECT_EQ(a->str(), "[::1]:9");
  auto bad = parse_address("::1:9", "--from");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.err().message.find("brackets"), std::string::npos) << bad.err().message;
}

TEST(address, errors_name_the_setting_and_the_problem) {
  for (const char* text : {"localhost", ":7420", "host:", "host:x", "host:65536", "host:-1"}) {
    auto a = parse_address(text, "--from");
    ASSERT_FALSE(a) << text;
    EXPECT_EQ(a.err().code, errc::invalid_argument);
    EXPECT_NE(a.err().message.find("--from"), std::string::npos) << a.err().message;
    EXPECT_NE(a.err().message.find(text), std::string::npos) << a.err().message;
  }
}

TEST(address, port_zero_only_where_any_port_is_meant) {
  EXPECT_FALSE(parse_address("127.0.0.1:0", "--from"));
  auto a = parse_address("127.0.0.1:0", "listen", port_zero::means_any);
  ASSERT_TRUE(a) << a.err().message;
  EXPECT_EQ(a->port, 0);
}

}  // namespace
}  // namespace shoal::net

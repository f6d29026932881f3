// host/http_range.hpp: the gateway's Range header (RFC 9110 section 14), content types and
// target paths.
#include "host/http_range.hpp"

#include <gtest/gtest.h>

namespace shoal::host {
namespace {

using kind = range_request::kind;

TEST(http_range, the_forms_of_rfc_9110_section_14_1_2) {
  auto r = parse_range("bytes=0-499", 10000);
  ASSERT_EQ(r.what, kind::partial);
  EXPECT_EQ(r.ranges, (std::vector<byte_range>{{0, 499}}));
  r = parse_range("bytes=9500-", 10000);
  EXPECT_EQ(r.ranges, (std::vector<byte_range>{{9500, 9999}}));
  r = parse_range("bytes=-500", 10000);
  EXPECT_EQ(r.ranges, (std::vector<byte_range>{{9500, 9999}}));
  r = parse_range("bytes=0-0, -1", 10000);
  EXPECT_EQ(r.ranges, (std::vector<byte_range>{{0, 0}, {9999, 9999}}));
  r = parse_range("Bytes = 1-2", 10);  // no space allowed around '=': ignored
  EXPECT_EQ(r.what, kind::whole);
  r = parse_range("BYTES=1-2", 10);
  EXPECT_EQ(r.ranges, (std::vector<byte_range>{{1, 2}}));
}

TEST(http_range, ends_past_the_size_are_clamped_and_starts_past_it_unsatisfiable) {
  auto r = parse_range("bytes=5-100", 10);
  EXPECT_EQ(r.ranges, (std::vector<byte_range>{{5, 9}}));
  r = parse_range("bytes=-100", 10);
  EXPECT_EQ(r.ranges, (std::vector<byte_range>{{0, 9}}));
  r = parse_range("bytes=10-", 10);
  EXPECT_EQ(r.what, kind::unsatisfiable);
  r = parse_range("bytes=10-20, 3-4", 10);  // the unsatisfiable one is dropped
  ASSERT_EQ(r.what, kind::partial);
  EXPECT_EQ(r.ranges, (std::vector<byte_range>{{3, 4}}));
  r = parse_range("bytes=-0", 10);
  EXPECT_EQ(r.what, kind::unsatisfiable);
  r = parse_range("bytes=0-", 0);  // nothing of an empty file can be satisfied
  EXPECT_EQ(r.what, kind::unsatisfiable);
}

TEST(http_range, bad_syntax_and_other_units_are_ignored) {
  for (const char* h : {"", "bytes=", "bytes=a-b", "bytes=5-3", "bytes=1", "items=0-1",
                        "bytes=+1-2", "bytes=1-2-3", "bytes=0x1-2"})
    EXPECT_EQ(parse_range(h, 100).what, kind::whole) << h;
  std::string many = "bytes=";
  for (int i = 0; i <= static_cast<int>(max_ranges); ++i)
    many += std::to_string(i) + "-" + std::to_string(i) + ",";
  EXPECT_EQ(parse_range(many, 100).what, kind::whole);
}

TEST(http_range, content_types_come_from_the_extension) {
  EXPECT_EQ(content_type_of("index.HTML"), "text/html; charset=utf-8");
  EXPECT_EQ(content_type_of("model.bin"), "application/octet-stream");
  EXPECT_EQ(content_type_of("layer.tar.gz"), "application/gzip");
  EXPECT_EQ(content_type_of("README"), "application/octet-stream");
}

TEST(http_range, gateway_targets_refuse_dot_segments_and_decode_escapes) {
  auto t = parse_gateway_target("/content/sh1abc");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->id, "sh1abc");
  EXPECT_EQ(t->path, "");
  t = parse_gateway_target("/content/sh1abc/dir/a%20b.txt?download=1");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->path, "dir/a b.txt");
  t = parse_gateway_target("/content/sh1abc/dir/");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->path, "dir");
  for (const char* bad :
       {"/content/", "/other/sh1", "/content/sh1/../x", "/content/sh1/a//b", "/content/sh1/./a",
        "/content/sh1/%2e%2e/x", "/content/sh1/a%2", "/content/sh1/a%zz", "/content/sh1/a%00b"})
    EXPECT_FALSE(parse_gateway_target(bad)) << bad;
}

}  // namespace
}  // namespace shoal::host

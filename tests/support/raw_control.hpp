// A raw connection to a daemon's control socket (docs/protocol/control.md): one request line
// sent as given, for tests of what the CLI never sends (malformed requests, overlapping ones).
#pragma once

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <string>

namespace shoal::testing {

// Sends `line` at once; read_all() takes every reply until the daemon closes the connection, or
// until `timeout_s` seconds pass without a byte.
struct raw_control {
  int fd = -1;
  raw_control(const std::filesystem::path& sock, const std::string& line, int timeout_s = 60) {
    fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    const std::string path = sock.string();
    std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
    timeval tv{timeout_s, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
    EXPECT_EQ(::write(fd, line.data(), line.size()), static_cast<ssize_t>(line.size()));
  }
  raw_control(const raw_control&) = delete;
  raw_control& operator=(const raw_control&) = delete;
  ~raw_control() { ::close(fd); }
  std::string read_all() {
    std::string reply;
    char buf[4096];
    for (int i = 0; i < 100000; ++i) {
      const ssize_t n = ::read(fd, buf, sizeof buf);
      if (n <= 0) break;
      reply.append(buf, static_cast<std::size_t>(n));
    }
    return reply;
  }
};

}  // namespace shoal::testing

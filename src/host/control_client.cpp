#include "host/control_client.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "host/daemon.hpp"

namespace shoal::host {
namespace {

constexpr int control_timeout_s = 30;

error timed_out(const std::filesystem::path& data_dir) {
  return error{errc::busy, "the daemon of data directory \"" + data_dir.string() +
                               "\" did not answer within " + std::to_string(control_timeout_s) +
                               " s; it may be overloaded or stuck (see its log)"};
}

}  // namespace

result<control_connection> control_connection::open(const std::filesystem::path& data_dir) {
  const std::string path = control_socket_path(data_dir).string();
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path))
    return error{errc::invalid_argument, "control socket path \"" + path + "\" is too long"};
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return system_error(errno, "socket");
  // A daemon that is stuck or flooded must not hang the CLI: connecting, each write and the
  // wait for each answer are bounded (a fetch being watched sends progress every 250 ms).
  timeval limit{};
  limit.tv_sec = control_timeout_s;
  (void)::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
  (void)::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    const int err = errno;
    ::close(fd);
    if (err == EAGAIN || err == EWOULDBLOCK || err == EINPROGRESS) return timed_out(data_dir);
    if (err == ENOENT || err == ECONNREFUSED)
      return error{errc::not_found, "no daemon is running for data directory \"" +
                                        data_dir.string() + "\" (start one with `shoal daemon`)"};
    return system_error(err, "connect to the daemon's control socket \"" + path + "\"");
  }
  return control_connection(fd, data_dir);
}

control_connection::control_connection(control_connection&& o) noexcept
    : fd_(std::exchange(o.fd_, -1)),
      data_dir_(std::move(o.data_dir_)),
      buffer_(std::move(o.buffer_)),
      interrupted_(o.interrupted_) {}

control_connection& control_connection::operator=(control_connection&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(o.fd_, -1);
    data_dir_ = std::move(o.data_dir_);
    buffer_ = std::move(o.buffer_);
    interrupted_ = o.interrupted_;
  }
  return *this;
}

control_connection::~control_connection() {
  if (fd_ >= 0) ::close(fd_);
}

result<void> control_connection::send(const nlohmann::json& request) {
  const std::string line = request.dump() + "\n";
  std::size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = ::send(fd_, line.data() + done, line.size() - done, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return timed_out(data_dir_);
      return system_error(errno, "write to the daemon");
    }
    done += static_cast<std::size_t>(n);
  }
  return {};
}

result<std::optional<nlohmann::json>> control_connection::next() {
  while (true) {
    // A signal that came between two reads is seen here (it interrupted no read).
    if (interrupted_ && *interrupted_) return error{errc::cancelled, "interrupted"};
    if (const auto nl = buffer_.find('\n'); nl != std::string::npos) {
      auto j = nlohmann::json::parse(buffer_.substr(0, nl), nullptr, false);
      buffer_.erase(0, nl + 1);
      if (j.is_discarded())
        return error{errc::invalid_argument, "the daemon sent a line that is not JSON"};
      return std::optional<nlohmann::json>(std::move(j));
    }
    char chunk[4096];
    const ssize_t n = ::read(fd_, chunk, sizeof chunk);
    if (n < 0) {
      if (errno == EINTR && interrupted_ && *interrupted_)
        return error{errc::cancelled, "interrupted"};
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return timed_out(data_dir_);
      return system_error(errno, "read from the daemon");
    }
    if (n == 0) return std::optional<nlohmann::json>();
    buffer_.append(chunk, static_cast<std::size_t>(n));
  }
}

}  // namespace shoal::host

// A small Shoal network on loopback for integration tests: network authorities, certified nodes
// (data directories made with the real CLI) and their daemons as child processes. Every wait is
// bounded, and the destructor kills whatever daemons are still running.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/cli.hpp"
#include "support/test_dir.hpp"

namespace shoal::testing {

struct test_node {
  std::string name;
  std::filesystem::path dir;  // its data directory
  std::filesystem::path log;  // the daemon's stderr
  pid_t daemon = 0;           // 0 when not running
  std::string listen;         // 127.0.0.1:PORT once the daemon runs
  std::string http;           // its HTTP server's 127.0.0.1:PORT, once it runs
};

class test_network {
 public:
  test_network() : cli_(dir_ / "scratch") { std::filesystem::create_directories(dir_ / "scratch"); }
  ~test_network() {
    for (auto& [_, n] : nodes_) stop(n, SIGKILL);
  }
  test_network(const test_network&) = delete;
  test_network& operator=(const test_network&) = delete;

  const temp_dir& dir() const { return dir_; }

  // Descriptor limits (soft and hard) for the daemons of these nodes, by name.
  std::map<std::string, rlim_t> file_limit;

  // Runs the CLI against a node's data directory (or none), bounded in time.
  run_result shoal(const test_node* n, std::vector<std::string> args,
                   std::chrono::seconds limit = std::chrono::seconds(120)) {
    if (n) args.insert(args.begin(), {"--data-dir", n->dir.string()});
    return cli_.wait(cli_.start(args), limit);
  }

  // A certified node of `network` (whose authority is made on first use), its certificate
  // valid for `expires_in` (as `shoal network sign --expires-in` takes it).
  test_node& add_node(const std::string& name, const std::string& network = "acme",
                      const std::string& expires_in = "1d") {
    const auto auth = dir_ / ("authority-" + network);
    if (!std::filesystem::exists(auth))
      must(shoal(nullptr, {"network", "create", network, "--out", auth.string()}));
    test_node n{name, dir_ / name, dir_ / (name + ".log"), 0, {}, {}};
    const auto csr = n.dir / "identity" / "node.csr";
    const auto cert = n.dir / "identity" / "node.cert";
    must(shoal(&n, {"init", "--network", (auth / (network + ".cert")).string(), "--name", name}));
    must(shoal(nullptr, {"network", "sign", csr.string(), "--authority",
                         (auth / (network + ".key")).string(), "--expires-in", expires_in, "-o",
                         cert.string()}));
    must(shoal(&n, {"init", "--certificate", cert.string()}));
    return nodes_[name] = n;
  }

  // Starts the node's daemon on a kernel-chosen loopback port (unless `extra` has --listen) and
  // waits until it serves. `extra` are more `shoal daemon` arguments (rate limits, bootstrap).
  void start(test_node& n, const std::vector<std::string>& extra = {}) {
    // Only what this run of the daemon logs counts (a restarted node appends to its log).
    const std::size_t log_start =
        std::filesystem::exists(n.log) ? std::filesystem::file_size(n.log) : 0;
    const auto limit = file_limit.find(n.name);
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // no daemon outlives a crashed test
      if (limit != file_limit.end()) {
        const rlimit r{limit->second, limit->second};  // soft and hard: it cannot raise it
        ::setrlimit(RLIMIT_NOFILE, &r);
      }
      const int fd = ::open(n.log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      ::dup2(fd, 2);
      ::dup2(fd, 1);
      std::vector<std::string> args{SHOAL_BINARY, "--data-dir", n.dir.string(), "daemon"};
      if (std::find(extra.begin(), extra.end(), "--listen") == extra.end())
        args.insert(args.end(), {"--listen", "127.0.0.1:0"});
      // Several daemons share the machine: each HTTP server on a port the kernel picks.
      if (std::find(extra.begin(), extra.end(), "--http-listen") == extra.end())
        args.insert(args.end(), {"--http-listen", "127.0.0.1:0"});
      args.insert(args.end(), extra.begin(), extra.end());
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(SHOAL_BINARY, argv.data());
      ::_exit(127);
    }
    n.daemon = pid;
    // The daemon logs "listening on 127.0.0.1:PORT" once its sockets are bound.
    static const std::regex listening("listening on (127\\.0\\.0\\.1:[0-9]+)");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      std::smatch m;
      const std::string all = cli::slurp(n.log);
      const std::string text = all.size() > log_start ? all.substr(log_start) : std::string();
      if (std::regex_search(text, m, listening)) {
        n.listen = m[1];
        static const std::regex http_at("HTTP on http://(127\\.0\\.0\\.1:[0-9]+)/");
        if (std::regex_search(text, m, http_at)) n.http = m[1];
        return;
      }
      int status = 0;
      if (::waitpid(pid, &status, WNOHANG) == pid) {
        n.daemon = 0;
        throw std::runtime_error("the daemon of " + n.name + " exited at start:\n" + text);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    throw std::runtime_error("the daemon of " + n.name + " did not start within 30 s:\n" +
                             cli::slurp(n.log));
  }

  // Sends `sig` to the node's daemon and reaps it (SIGKILL after 20 s if it lingers).
  // Returns the exit code, or -1 if it died by a signal.
  int stop(test_node& n, int sig = SIGTERM) {
    if (n.daemon == 0) return -1;
    ::kill(n.daemon, sig);
    int status = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (::waitpid(n.daemon, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        ::kill(n.daemon, SIGKILL);
        ::waitpid(n.daemon, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    n.daemon = 0;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  // Waits (bounded) for the node's daemon to exit by itself: its exit code, -1 if a signal
  // ended it, or nullopt if it still runs after `limit`.
  std::optional<int> wait_exit(test_node& n, std::chrono::seconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (n.daemon != 0) {
      int status = 0;
      if (::waitpid(n.daemon, &status, WNOHANG) == n.daemon) {
        n.daemon = 0;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      if (std::chrono::steady_clock::now() > deadline) return std::nullopt;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return std::nullopt;
  }

  // A loopback port that was free a moment ago (bound and released), for a daemon that others
  // must be told of before it starts.
  static std::uint16_t free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
      throw std::runtime_error("cannot find a free loopback port");
    ::close(fd);
    return ntohs(a.sin_port);
  }

  // `shoal add PATH` on the node; returns the content ID.
  std::string add(const test_node& n, const std::filesystem::path& p) {
    auto r = shoal(&n, {"-q", "add", p.string()});
    must(r);
    return trim(r.out);
  }

  // `shoal --json get ID --from ... -o OUT` on the node.
  run_result get(const test_node& n, const std::string& id, const std::vector<std::string>& from,
                 const std::filesystem::path& out,
                 std::chrono::seconds limit = std::chrono::seconds(120)) {
    std::vector<std::string> args{"--json", "get", id, "-o", out.string()};
    for (const auto& f : from) {
      args.push_back("--from");
      args.push_back(f);
    }
    return shoal(&n, args, limit);
  }

  // Waits (bounded) until the node's log contains `text`.
  bool log_shows(const test_node& n, const std::string& text,
                 std::chrono::seconds limit = std::chrono::seconds(10)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    do {
      if (cli::slurp(n.log).find(text) != std::string::npos) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    } while (std::chrono::steady_clock::now() < deadline);
    return false;
  }

 private:
  static void must(const run_result& r) {
    if (r.exit_code != 0)
      throw std::runtime_error("shoal failed (exit " + std::to_string(r.exit_code) + "): " + r.err);
  }

  temp_dir dir_;
  cli cli_;
  std::map<std::string, test_node> nodes_;
};

}  // namespace shoal::testing

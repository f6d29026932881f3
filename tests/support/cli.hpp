// Runs the real `shoal` binary as a child process, with a bounded wait, for integration tests.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace shoal::testing {

struct run_result {
  int exit_code = -1;  // -1 when killed by a signal
  int signal = 0;
  std::string out;
  std::string err;
};

class cli {
 public:
  explicit cli(std::filesystem::path scratch) : scratch_(std::move(scratch)) {}

  // Starts shoal with these arguments; stdout and stderr go to files in the scratch directory.
  pid_t start(const std::vector<std::string>& args, const std::vector<std::string>& prefix = {}) {
    const auto n = counter_++;
    out_ = scratch_ / ("out-" + std::to_string(n));
    err_ = scratch_ / ("err-" + std::to_string(n));
    std::vector<std::string> argv = prefix;
    argv.push_back(SHOAL_BINARY);
    argv.insert(argv.end(), args.begin(), args.end());
    const pid_t pid = ::fork();
    if (pid == 0) {
      const int o = ::open(out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      const int e = ::open(err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(o, 1);
      ::dup2(e, 2);
      std::vector<char*> raw;
      for (auto& a : argv) raw.push_back(a.data());
      raw.push_back(nullptr);
      ::execvp(raw[0], raw.data());
      ::_exit(127);
    }
    return pid;
  }

  // Waits for the child, killing it after `limit` so a hung test cannot hang CI.
  run_result wait(pid_t pid, std::chrono::seconds limit = std::chrono::seconds(120)) {
    run_result r;
    int status = 0;
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (::waitpid(pid, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
    r.out = slurp(out_);
    r.err = slurp(err_);
    return r;
  }

  run_result run(const std::vector<std::string>& args,
                 const std::vector<std::string>& prefix = {}) {
    return wait(start(args, prefix));
  }

  static std::string slurp(const std::filesystem::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

 private:
  std::filesystem::path scratch_;
  std::filesystem::path out_, err_;
  int counter_ = 0;
};

inline std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace shoal::testing

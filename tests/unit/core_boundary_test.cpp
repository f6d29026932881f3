// Keeps src/core I/O-free: no sockets, threads, files, clocks or ambient randomness, directly
// or through a project header that core includes. The core must run unchanged in the daemon and
// in the deterministic simulator, where time and randomness are inputs. The simulator (src/sim)
// is held to the same rules, or its runs would not replay from their seed.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
const fs::path source_root = SHOAL_SOURCE_DIR;

struct rule {
  std::regex pattern;
  const char* why;
};

const std::vector<rule>& rules() {
  static const std::vector<rule> r = {
      {std::regex(R"(#\s*include\s*[<"](boost/)?asio)"), "includes asio"},
      {std::regex(R"(#\s*include\s*[<"]openssl/)"), "includes OpenSSL"},
      {std::regex(R"(#\s*include\s*[<"]sqlite3)"), "includes SQLite"},
      {std::regex(R"(#\s*include\s*<(thread|mutex|condition_variable|future|fstream|filesystem)>)"),
       "includes a threading or file header"},
      {std::regex(R"(#\s*include\s*<(sys/socket|netinet/|arpa/|unistd|fcntl|sys/stat)\S*>)"),
       "includes a POSIX I/O header"},
      {std::regex(R"(\b(system_clock|steady_clock|high_resolution_clock|file_clock)\b)"),
       "reads a clock"},
      {std::regex(R"(\b(clock_gettime|gettimeofday|std::time|time\s*\(\s*(nullptr|NULL|0)\s*\)))"),
       "reads a clock"},
      {std::regex(R"(\b(random_device|std::rand|srand)\b)"), "uses ambient randomness"},
      {std::regex(R"(\b(fopen|popen|socket|connect|accept)\s*\()"), "does I/O"},
      // Their output differs between standard libraries, so a seed would not replay everywhere:
      // core/random.hpp has our own.
      {std::regex(R"(\b(std::shuffle|std::sample|std::\w+_distribution)\b)"),
       "uses a standard distribution or shuffle (use core/random.hpp)"},
  };
  return r;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Scans a file and every project header it includes, transitively.
void scan(const fs::path& file, std::set<fs::path>& seen, std::vector<std::string>& problems) {
  if (!seen.insert(file).second) return;
  const std::string text = read_file(file);
  std::istringstream lines(text);
  std::string line;
  int n = 0;
  static const std::regex project_include(R"(#\s*include\s*"([^"]+)\")");
  while (std::getline(lines, line)) {
    ++n;
    const auto comment = line.find("//");
    const std::string code = comment == std::string::npos ? line : line.substr(0, comment);
    for (const auto& r : rules())
      if (std::regex_search(code, r.pattern))
        problems.push_back(fs::relative(file, source_root).string() + ":" + std::to_string(n) +
                           " " + r.why + ": " + line);
    std::smatch m;
    if (std::regex_search(code, m, project_include)) {
      for (const fs::path& base : {source_root / "src", source_root / "include"}) {
        const fs::path candidate = base / m[1].str();
        if (fs::exists(candidate)) scan(candidate, seen, problems);
      }
    }
  }
}

// Every .cpp and .hpp under src/<dir>, and what they include; returns the files scanned.
std::size_t scan_dir(const char* dir) {
  const fs::path root = source_root / "src" / dir;
  EXPECT_TRUE(fs::is_directory(root)) << root;
  std::set<fs::path> seen;
  std::vector<std::string> problems;
  std::size_t files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    const auto ext = entry.path().extension();
    if (ext != ".cpp" && ext != ".hpp") continue;
    ++files;
    scan(entry.path(), seen, problems);
  }
  for (const auto& p : problems) ADD_FAILURE() << p;
  return files;
}

TEST(core_boundary, core_does_no_io_and_reads_no_clock) {
  EXPECT_GT(scan_dir("core"), 5u);
}

TEST(core_boundary, the_simulator_reads_no_clock_either) {
  EXPECT_GE(scan_dir("sim"), 4u);
}

// Small files of one concept each (issue 19): a file past this has grown a second concept.
TEST(source_layout, no_source_file_is_over_700_lines) {
  constexpr std::size_t max_lines = 700;
  std::size_t files = 0;
  for (const char* dir : {"src", "apps"})
    for (const auto& entry : fs::recursive_directory_iterator(source_root / dir)) {
      const auto ext = entry.path().extension();
      if (ext != ".cpp" && ext != ".hpp") continue;
      ++files;
      const std::string text = read_file(entry.path());
      const auto lines = static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
      EXPECT_LE(lines, max_lines) << entry.path().string() << " has " << lines << " lines";
    }
  EXPECT_GT(files, 50u);
}

// The checker must be able to fail: each rule fires on a line written to break it.
TEST(core_boundary, rules_catch_violations) {
  for (const char* bad :
       {"#include <boost/asio.hpp>", "#include <openssl/evp.h>", "#include <sqlite3.h>",
        "#include <thread>", "#include <sys/socket.h>",
        "auto t = std::chrono::steady_clock::now();", "time(nullptr);", "std::random_device rd;",
        "FILE* f = fopen(\"x\", \"r\");", "std::shuffle(v.begin(), v.end(), g);",
        "std::uniform_int_distribution<int> d(0, 9);"}) {
    bool caught = false;
    for (const auto& r : rules()) caught = caught || std::regex_search(std::string(bad), r.pattern);
    EXPECT_TRUE(caught) << bad;
  }
}

}  // namespace

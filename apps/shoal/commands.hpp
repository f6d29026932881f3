// The `shoal` subcommands. Each returns the process exit status: 0 on success, 1 on an error
// (printed to stderr, and as {"error": ...} on stdout with --json).
#pragma once

#include <filesystem>
#include <string>

#include "node/config.hpp"
#include "node/progress.hpp"

namespace shoal::cli {

struct context {
  node::config config;
  bool json = false;
  node::progress_style style = node::progress_style::lines;
};

int add(const context& c, const std::filesystem::path& source, bool pin);
int list(const context& c);
int export_content(const context& c, const std::string& id, const std::filesystem::path& out);
int remove(const context& c, const std::string& id);
int pin(const context& c, const std::string& id, bool pinned);
int gc(const context& c);
int verify(const context& c, const std::string& id);

// Prints an error the way every command does.
int fail(const context& c, const error& e);

}  // namespace shoal::cli

// The manual page and the shell completions, made from the command line's own definition (the
// CLI11 tree in main.cpp), so that they cannot drift from what the binary accepts. The package
// build runs `shoal manual` and `shoal completion bash|zsh` and installs what they print.
//
// Thread safety: plain functions.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace shoal::cli {

// roff for man(1): every command and subcommand with its arguments and flags, then the
// environment, files and exit statuses.
std::string manual_page(const CLI::App& app, const std::string& version);
// A bash completion script (complete -F) for commands, subcommands and flags; paths after the
// flags that take one.
std::string bash_completion(const CLI::App& app);
// A zsh completion function (#compdef shoal) with each command's and flag's description.
std::string zsh_completion(const CLI::App& app);

}  // namespace shoal::cli

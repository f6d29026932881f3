// Where and how the daemon's log lines go: always stderr (stdout is the commands' output, which
// scripts read); as text or as JSON lines (`--log-format`, `log_format`); from a level up
// (`--log-level`, `log_level`). Under systemd, when stderr is the journal's stream (the
// JOURNAL_STREAM variable names stderr's device and inode), each line starts with its syslog
// priority (`<3>` for errors, as sd-daemon(3) describes) and carries no timestamp of its own:
// journald records the priority and the time (docs/operations.md).
//
// Thread safety: configure_logging before other threads log; the sink then locks per line.
#pragma once

#include <spdlog/common.h>

#include <string>
#include <string_view>

#include "shoal/error.hpp"

namespace shoal::host {

enum class log_format { text, json };

struct log_settings {
  spdlog::level::level_enum level = spdlog::level::info;
  log_format format = log_format::text;
};

// "trace", "debug", "info", "warn", "error", "off"; `what` names the setting in errors.
result<spdlog::level::level_enum> parse_log_level(std::string_view text, std::string_view what);
// "text" or "json".
result<log_format> parse_log_format(std::string_view text, std::string_view what);
const char* log_level_name(spdlog::level::level_enum level);

// Whether stderr is connected to the journal (systemd set JOURNAL_STREAM for it).
bool stderr_is_journal();

// Makes the default logger write to stderr as `s` says; may be called again (SIGHUP).
void configure_logging(const log_settings& s);

}  // namespace shoal::host

// shoal: one binary, one subcommand per task. See `shoal --help` and README.md.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>

#include "commands.hpp"

int main(int argc, char** argv) {
  using shoal::node::progress_style;
  CLI::App app{"Shoal: a peer-to-peer data network for organizations"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "shoal 0.1.0");

  std::string data_dir, config_file;
  bool json = false, quiet = false;
  app.add_option(
      "--data-dir", data_dir,
      "Data directory (env SHOAL_DATA_DIR; default $XDG_DATA_HOME/shoal or ~/.local/share/shoal)");
  app.add_option("--config", config_file,
                 "TOML config file (env SHOAL_CONFIG; default ~/.config/shoal/config.toml)");
  app.add_flag("--json", json, "Machine-readable JSON on stdout");
  app.add_flag("-q,--quiet", quiet, "No progress output");

  std::string path, id, out;
  bool no_pin = false;
  auto* add = app.add_subcommand("add", "Import a file or directory; prints its content ID");
  add->add_option("path", path, "File or directory to import")->required();
  add->add_flag("--no-pin", no_pin, "Do not pin the content (it may then be garbage-collected)");

  auto* ls = app.add_subcommand("ls", "List the content this node holds");

  auto* exp = app.add_subcommand("export", "Write a content out (atomically, verified)");
  exp->add_option("id", id, "Content ID")->required();
  exp->add_option("-o,--output", out,
                  "Output path; an existing directory receives the content inside it")
      ->required();

  auto* rm = app.add_subcommand("rm", "Remove an unpinned content and reclaim its space");
  rm->add_option("id", id, "Content ID")->required();
  auto* pin = app.add_subcommand("pin", "Keep a content: rm and gc will not remove it");
  pin->add_option("id", id, "Content ID")->required();
  auto* unpin = app.add_subcommand("unpin", "Let a content be removed");
  unpin->add_option("id", id, "Content ID")->required();
  auto* gc =
      app.add_subcommand("gc", "Remove every content that is neither pinned nor being fetched");
  auto* verify = app.add_subcommand("verify", "Re-read and check every piece of a content");
  verify->add_option("id", id, "Content ID")->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    (void)app.exit(e);  // prints the problem and the usage
    return 2;           // usage errors are 2, like other Unix tools; failures are 1
  }

  shoal::cli::context c;
  c.json = json;
  c.style = (json || quiet)                                        ? progress_style::quiet
            : (::isatty(STDOUT_FILENO) && ::isatty(STDERR_FILENO)) ? progress_style::bar
                                                                   : progress_style::lines;
  shoal::node::config_overrides overrides;
  if (!data_dir.empty()) overrides.data_dir = data_dir;
  if (!config_file.empty()) overrides.config_file = config_file;
  auto cfg = shoal::node::load_config(overrides);
  if (!cfg) return shoal::cli::fail(c, cfg.err());
  c.config = *cfg;

  if (*add) return shoal::cli::add(c, path, !no_pin);
  if (*ls) return shoal::cli::list(c);
  if (*exp) return shoal::cli::export_content(c, id, out);
  if (*rm) return shoal::cli::remove(c, id);
  if (*pin) return shoal::cli::pin(c, id, true);
  if (*unpin) return shoal::cli::pin(c, id, false);
  if (*gc) return shoal::cli::gc(c);
  if (*verify) return shoal::cli::verify(c, id);
  return 2;
}

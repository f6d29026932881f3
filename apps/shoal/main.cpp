// shoal: one binary, one subcommand per task. See `shoal --help` and README.md.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>

#include "cli_docs.hpp"
#include "commands.hpp"
#include "host/logging.hpp"

int main(int argc, char** argv) {
  using shoal::host::progress_style;
  // Log lines (the store's warnings, the daemon's log) go to stderr: stdout is each command's
  // output, which scripts read.
  shoal::host::configure_logging({});
  CLI::App app{"Shoal: a peer-to-peer data network for organizations", "shoal"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "shoal " SHOAL_VERSION);
  // The global flags below work after the subcommand too (`shoal ls --json`): each subcommand,
  // created after this, inherits it and hands what it does not know to its parent.
  app.fallthrough();
  app.footer(
      "Global flags (before or after the subcommand): --data-dir DIR, --config FILE, --json, "
      "-q/--quiet. `shoal help COMMAND` or `shoal COMMAND --help` shows a command's flags.");

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

  auto* store_cmd = app.add_subcommand("store", "Look after the data directory itself");
  store_cmd->require_subcommand(1);
  auto* store_repair = store_cmd->add_subcommand(
      "repair",
      "Rebuild the catalog from the data files and their records, re-verifying every piece "
      "(the old catalog is kept beside it; stop the daemon first)");

  // Membership: the network authority, node identity and certificates.
  std::string network_name, node_name;
  std::string net_out = ".", network_cert, certificate;
  shoal::cli::sign_args sign_args;
  auto* network = app.add_subcommand("network", "Manage a network authority (its CA key)");
  network->require_subcommand(1);
  auto* net_create =
      network->add_subcommand("create", "Create a network authority: NAME.key and NAME.cert");
  net_create->add_option("name", network_name, "Network name")->required();
  net_create->add_option("--out", net_out, "Directory for NAME.key and NAME.cert (default .)");
  auto* net_sign =
      network->add_subcommand("sign", "Issue a node certificate for a certificate request");
  net_sign->add_option("request", sign_args.request, "Certificate request (node.csr)")->required();
  net_sign->add_option("--authority", sign_args.authority_key, "Authority key (NAME.key)")
      ->required();
  net_sign->add_option("--authority-cert", sign_args.authority_cert,
                       "Authority certificate (default: the key's path with .cert)");
  net_sign->add_option("--expires-in", sign_args.expires_in,
                       "Validity: a number and s, m, h or d (default 30d, at most 3650d)");
  net_sign->add_option("--label", sign_args.labels, "A label key=value (repeatable)");
  net_sign->add_option("-o,--output", sign_args.output,
                       "Certificate to write (default: the request's path with .cert)");
  shoal::cli::revoke_args revoke_args;
  auto* net_revoke = network->add_subcommand(
      "revoke",
      "Revoke a member: add it to the signed revocation list and hand the list to the local "
      "daemon, which spreads it to every member");
  net_revoke->add_option("member", revoke_args.target, "Node ID (nd1...) or its certificate file")
      ->required();
  net_revoke->add_option("--authority", revoke_args.authority_key, "Authority key (NAME.key)")
      ->required();
  net_revoke->add_option("--authority-cert", revoke_args.authority_cert,
                         "Authority certificate (default: the key's path with .cert)");
  net_revoke->add_option("--reason", revoke_args.reason,
                         "Why, in a few words (at most 128 bytes); shown to every member");
  net_revoke->add_option("--list", revoke_args.list,
                         "The list file to update (default: the key's path with .revocations)");
  std::string publish_path;
  auto* net_publish = network->add_subcommand(
      "publish", "Hand a revocation list to the running daemon, which spreads it if newer");
  net_publish->add_option("list", publish_path, "The list (NAME.revocations)")->required();
  auto* net_revocations =
      network->add_subcommand("revocations", "The revocation list the running daemon holds");
  auto* init = app.add_subcommand(
      "init",
      "Create this node's identity (--network), or install its certificate (--certificate)");
  auto* init_network =
      init->add_option("--network", network_cert, "The network certificate (NAME.cert)");
  auto* init_cert =
      init->add_option("--certificate", certificate, "A signed node certificate to install");
  auto* init_name = init->add_option("--name", node_name, "Node name (default: the host name)");
  init_network->excludes(init_cert);
  init_name->excludes(init_cert);
  std::string listen;
  std::vector<std::string> from;
  shoal::cli::rate_flags limits;
  bool origin_only = false;
  auto* daemon = app.add_subcommand("daemon", "Run this node: serve its content, fetch for `get`");
  daemon->add_option("--listen", listen,
                     "Address to accept peers on, HOST:PORT (config key `listen`; default "
                     "0.0.0.0:7420)");
  std::string http_listen;
  daemon->add_option("--http-listen", http_listen,
                     "Where to serve HTTP (API, gateway, /metrics), HOST:PORT or off (config key "
                     "`http_listen`; default 127.0.0.1:7421)");
  daemon->add_option("--upload-limit", limits.upload,
                     "Upload rate limit for the node, e.g. 40mbit or 5MB/s; 0 for none "
                     "(config key `upload_limit`)");
  daemon->add_option("--download-limit", limits.download,
                     "Download rate limit for the node (config key `download_limit`)");
  std::vector<std::string> bootstrap;
  daemon->add_option("--bootstrap", bootstrap,
                     "A member to join the DHT through, HOST:PORT (repeatable; config key "
                     "`bootstrap`). Without one the node finds others only through --from");
  shoal::cli::log_flags logs;
  daemon->add_option("--log-level", logs.level,
                     "Log from this level up: trace, debug, info, warn, error, off (config key "
                     "`log_level`; default info)");
  daemon->add_option("--log-format", logs.format,
                     "Log lines as text or json, on stderr (config key `log_format`; default "
                     "text)");
  std::size_t max_swarm_peers = 0;  // 0: not given, the config's
  daemon
      ->add_option("--max-swarm-peers", max_swarm_peers,
                   "Peers a fetch keeps in a content's swarm: it dials at most this many and "
                   "turns away dialers past it (config key `max_swarm_peers`; default 64)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{4096}));
  auto* get = app.add_subcommand(
      "get", "Fetch a content through the running daemon and write it out (atomically)");
  get->add_option("id", id, "Content ID")->required();
  get->add_option("--from", from, "A peer that holds it, HOST:PORT (repeatable)");
  get->add_option("-o,--output", out,
                  "Output path; an existing directory receives the content inside it")
      ->required();
  get->add_flag("--origin-only", origin_only,
                "Fetch from the --from peers alone: no swarm (for comparison)");
  bool detach = false;
  get->add_flag("--detach", detach,
                "Return once the daemon has the fetch; it goes on and writes the output without "
                "this command. Without it, Ctrl-C cancels the fetch (its verified pieces stay)");
  auto* cancel = app.add_subcommand(
      "cancel", "Stop the daemon's fetch of a content (its verified pieces stay; get resumes)");
  cancel->add_option("id", id, "Content ID")->required();
  auto* limit = app.add_subcommand(
      "limit", "Change the running daemon's rate limits at once (none given: show them)");
  // The daemon's own flag names work here too.
  limit->add_option("--upload,--upload-limit", limits.upload,
                    "Upload limit, e.g. 40mbit, 5MB/s; 0 for none");
  limit->add_option("--download,--download-limit", limits.download, "Download limit; 0 for none");
  auto* status = app.add_subcommand(
      "status", "What the running daemon is doing: peers, fetches; with an ID, that content alone");
  status->add_option("id", id, "Content ID: what is held, its fetch, its swarm and peers");
  auto* peers_cmd = app.add_subcommand(
      "peers", "The running daemon's peers: rates over a second, bytes, contents shared, labels");

  auto* id_cmd = app.add_subcommand("id", "Show this node's ID, name, network and certificate");

  auto* sim = app.add_subcommand("sim", "Run a deterministic simulation of the real protocol code");
  sim->require_subcommand(1);
  shoal::sim::dht_params dht_sim;
  auto* sim_dht = sim->add_subcommand(
      "dht", "Members join the DHT, then look each other up; again after a share crash");
  sim_dht->add_option("--seed", dht_sim.seed, "The seed: the same seed gives the same run");
  sim_dht->add_option("--nodes", dht_sim.nodes, "Members (default 1000)")
      ->check(CLI::Range(2, 1000000));
  sim_dht->add_option("--lookups", dht_sim.lookups, "Lookups in each phase (default 1000)");
  sim_dht
      ->add_option("--crash", dht_sim.crash,
                   "Share of members that crash before the second phase (default 0.2)")
      ->check(CLI::Range(0.0, 0.95));
  sim_dht
      ->add_option("--loss", dht_sim.loss,
                   "Share of packets lost, each costing a TCP retransmission (default 0)")
      ->check(CLI::Range(0.0, 0.5));
  sim_dht->add_flag("--restart", dht_sim.restart,
                    "After the crash phase, the crashed members restart with empty tables");
  sim_dht->add_flag("--revoke", dht_sim.revoke,
                    "After the crash phase, a member publishes a revocation list revoking "
                    "another; how fast it reaches every live member (and restarted ones)");
  sim_dht
      ->add_option("--partition", dht_sim.partition,
                   "Then split the network with this share of the members on one side "
                   "(default 0: no split), then heal it")
      ->check(CLI::Range(0.0, 0.95));
  shoal::sim::swarm_params swarm_sim;
  std::uint64_t swarm_mib = swarm_sim.size >> 20;
  auto* sim_swarm = sim->add_subcommand(
      "swarm", "One origin, N nodes fetching one content at once; last finish against the bound");
  sim_swarm->add_option("--seed", swarm_sim.seed, "The seed: the same seed gives the same run");
  sim_swarm->add_option("--nodes", swarm_sim.nodes, "Fetching nodes (default 100)")
      ->check(CLI::Range(1, 100000));
  sim_swarm->add_option("--mib", swarm_mib, "Content size in MiB (default 64)")
      ->check(CLI::Range(1, 1 << 20));
  sim_swarm
      ->add_option("--origin-up", swarm_sim.origin_up_mbps,
                   "The origin's upload, Mbit/s (default 100)")
      ->check(CLI::Range(1.0, 1e6));
  sim_swarm->add_option("--up", swarm_sim.up_mbps, "Each node's upload, Mbit/s (default 100)")
      ->check(CLI::Range(1.0, 1e6));
  sim_swarm->add_option("--down", swarm_sim.down_mbps, "Each node's download, Mbit/s (default 200)")
      ->check(CLI::Range(1.0, 1e6));
  sim_swarm->add_flag("--heterogeneous", swarm_sim.heterogeneous,
                      "Uploads drawn from 25, 50, 100 and 200 Mbit/s, downloads 4x the upload");
  sim_swarm->add_flag("--mixed", swarm_sim.mixed,
                      "Random faults from the seed: kills, power-offs, slowed links, liars");
  int swarm_pipeline_ms = static_cast<int>(swarm_sim.fetch.pipeline_time.count() / 1'000'000);
  sim_swarm
      ->add_option("--pipeline-ms", swarm_pipeline_ms,
                   "The fetch's pipeline_time: requests kept at each peer, in ms of its rate "
                   "(default: the daemon's)")
      ->check(CLI::Range(10, 60000));
  double swarm_min_latency_ms =
      std::chrono::duration<double, std::milli>(swarm_sim.min_latency).count();
  double swarm_max_latency_ms =
      std::chrono::duration<double, std::milli>(swarm_sim.max_latency).count();
  sim_swarm
      ->add_option("--min-latency-ms", swarm_min_latency_ms,
                   "Each node's one-way latency share is drawn in [min, max] ms; a pair's "
                   "latency is the sum of its two (default 2)")
      ->check(CLI::Range(0.0, 10000.0));
  sim_swarm->add_option("--max-latency-ms", swarm_max_latency_ms, "(default 20)")
      ->check(CLI::Range(0.0, 10000.0));
  sim_swarm
      ->add_option("--mtu", swarm_sim.mtu,
                   "Charge the links for TLS records and TCP/IP/Ethernet headers of packets of "
                   "this size, besides the block frames (default 1500; 0: block data alone)")
      ->check(CLI::Range(0, 65536));
  bool swarm_progress = false;
  sim_swarm->add_flag("--progress", swarm_progress,
                      "Print where the pieces are every virtual second, to stderr");
  sim_swarm
      ->add_option("--crash", swarm_sim.crash,
                   "Share of the nodes killed during the transfer (default 0)")
      ->check(CLI::Range(0.0, 0.9));

  std::string shell;
  auto* completion = app.add_subcommand(
      "completion", "Print a completion script: source <(shoal completion bash), or zsh");
  completion->add_option("shell", shell, "bash or zsh")
      ->required()
      ->check(CLI::IsMember({"bash", "zsh"}));
  auto* manual =
      app.add_subcommand("manual", "Print the manual page (roff): man -l <(shoal manual)");

  // The first word that is not a global flag names the command: an unknown one (or `help`) is
  // said so here, where CLI11 would only say that a subcommand is required.
  const auto command = [&](const std::string& name) -> CLI::App* {
    auto found = app.get_subcommands([&](CLI::App* sub) { return sub->check_name(name); });
    return found.empty() ? nullptr : found.front();
  };
  for (int i = 1; i < argc; ++i) {
    const std::string word = argv[i];
    if (word == "--data-dir" || word == "--config") {
      ++i;
      continue;
    }
    if (word.starts_with("-")) continue;
    if (word == "help") {
      CLI::App* topic = i + 1 < argc ? command(argv[i + 1]) : nullptr;
      std::fputs((topic ? topic->help() : app.help()).c_str(), stdout);
      return 0;
    }
    if (!command(word)) {
      std::string names;
      for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; }))
        names += (names.empty() ? "" : ", ") + sub->get_name();
      std::fprintf(stderr, "shoal: unknown command '%s'; the commands are: %s\n", word.c_str(),
                   names.c_str());
      return 2;
    }
    break;
  }

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

  if (*init && init_network->count() == 0 && init_cert->count() == 0) {
    std::fprintf(stderr,
                 "init: give --network NAME.cert (a new node) or --certificate FILE (install "
                 "this node's signed certificate)\nRun with --help for more information.\n");
    return 2;
  }

  // Made from the definitions above, and needing no config: before it is read.
  if (*completion) {
    std::fputs(
        (shell == "bash" ? shoal::cli::bash_completion(app) : shoal::cli::zsh_completion(app))
            .c_str(),
        stdout);
    return 0;
  }
  if (*manual) {
    std::fputs(shoal::cli::manual_page(app, "shoal " SHOAL_VERSION).c_str(), stdout);
    return 0;
  }

  shoal::cli::context c;
  c.json = json;
  c.style = (json || quiet)                                        ? progress_style::quiet
            : (::isatty(STDOUT_FILENO) && ::isatty(STDERR_FILENO)) ? progress_style::bar
                                                                   : progress_style::lines;
  shoal::host::config_overrides overrides;
  if (!data_dir.empty()) overrides.data_dir = data_dir;
  if (!config_file.empty()) overrides.config_file = config_file;
  auto cfg = shoal::host::load_config(overrides);
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
  if (*store_repair) return shoal::cli::repair_store(c);
  if (*net_create) return shoal::cli::network_create(c, network_name, net_out);
  if (*net_sign) return shoal::cli::network_sign(c, sign_args);
  if (*net_revoke) return shoal::cli::network_revoke(c, revoke_args);
  if (*net_publish) return shoal::cli::network_publish(c, publish_path);
  if (*net_revocations) return shoal::cli::network_revocations(c);
  if (*init && init_cert->count() > 0) return shoal::cli::install_certificate(c, certificate);
  if (*init) return shoal::cli::init_node(c, network_cert, node_name);
  if (*id_cmd) return shoal::cli::show_identity(c);
  if (*daemon)
    return shoal::cli::run_daemon(c, listen, http_listen, limits, logs, bootstrap, max_swarm_peers);
  if (*get) return shoal::cli::get(c, id, from, out, origin_only, detach);
  if (*cancel) return shoal::cli::cancel(c, id);
  if (*limit) return shoal::cli::limit(c, limits);
  if (*status) return id.empty() ? shoal::cli::status(c) : shoal::cli::content_status(c, id);
  if (*peers_cmd) return shoal::cli::peers(c);
  if (*sim_dht) return shoal::cli::simulate_dht(c, dht_sim);
  if (*sim_swarm) {
    swarm_sim.size = swarm_mib << 20;
    swarm_sim.fetch.pipeline_time = std::chrono::milliseconds(swarm_pipeline_ms);
    if (swarm_max_latency_ms < swarm_min_latency_ms) {
      std::fprintf(stderr, "--max-latency-ms (%g) is below --min-latency-ms (%g)\n",
                   swarm_max_latency_ms, swarm_min_latency_ms);
      return 2;
    }
    const auto ms = [](double v) {
      return std::chrono::duration_cast<shoal::duration>(
          std::chrono::duration<double, std::milli>(v));
    };
    swarm_sim.min_latency = ms(swarm_min_latency_ms);
    swarm_sim.max_latency = ms(swarm_max_latency_ms);
    if (swarm_progress) swarm_sim.progress_every = std::chrono::seconds(1);
    return shoal::cli::simulate_swarm(c, swarm_sim);
  }
  return 2;
}

#include "cli_docs.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

namespace shoal::cli {
namespace {

struct command {
  std::string path;  // "network sign"; "" for shoal itself
  const CLI::App* app = nullptr;
};

std::vector<const CLI::App*> children(const CLI::App& a) {
  return a.get_subcommands([](const CLI::App*) { return true; });
}

// Every command, parents before their subcommands, in the order they were defined.
void walk(const CLI::App& a, const std::string& path, std::vector<command>& out) {
  out.push_back({path, &a});
  for (const CLI::App* c : children(a))
    walk(*c, path.empty() ? c->get_name() : path + " " + c->get_name(), out);
}

std::vector<command> commands(const CLI::App& app) {
  std::vector<command> out;
  walk(app, "", out);
  return out;
}

// How the completion scripts name a command: "shoal", "shoal network sign".
std::string key(const command& c) {
  return c.path.empty() ? "shoal" : "shoal " + c.path;
}

bool takes_value(const CLI::Option& o) {
  return o.get_expected_max() > 0;
}

std::vector<const CLI::Option*> flags_of(const CLI::App& a) {
  return a.get_options([](const CLI::Option* o) { return o->nonpositional(); });
}

// The flags that a command takes: its own, then shoal's global ones (they work after a command
// too), but for the help flag, which each command has of its own.
std::vector<const CLI::Option*> all_flags_of(const command& c, const CLI::App& app) {
  auto out = flags_of(*c.app);
  if (!c.path.empty())
    for (const CLI::Option* o : flags_of(app))
      if (o != app.get_help_ptr()) out.push_back(o);
  return out;
}

std::vector<const CLI::Option*> positionals_of(const CLI::App& a) {
  return a.get_options([](const CLI::Option* o) { return !o->nonpositional(); });
}

// Every spelling of a flag: -o --output.
std::vector<std::string> spellings(const CLI::Option& o) {
  std::vector<std::string> out;
  for (const auto& s : o.get_snames()) out.push_back("-" + s);
  for (const auto& l : o.get_lnames()) out.push_back("--" + l);
  return out;
}

std::string joined(const std::vector<std::string>& words, const char* sep = " ") {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : sep) + w;
  return out;
}

// --- roff -----------------------------------------------------------------------------------

// Text safe in roff: backslashes and hyphens escaped, no line starting with a control character.
std::string roff(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '\\')
      out += "\\e";
    else if (c == '-')
      out += "\\-";
    else
      out += c;
  }
  if (!out.empty() && (out[0] == '.' || out[0] == '\'')) out.insert(0, "\\&");
  return out;
}

std::string flag_term(const CLI::Option& o) {
  std::vector<std::string> names;
  for (const auto& s : spellings(o)) names.push_back("\\fB" + roff(s) + "\\fR");
  std::string term = joined(names, ", ");
  if (takes_value(o))
    term += " \\fI" + roff(o.get_type_name().empty() ? "VALUE" : o.get_type_name()) + "\\fR";
  return term;
}

std::string usage_line(const command& c) {
  std::string line = "shoal" + (c.path.empty() ? "" : " " + c.path);
  for (const CLI::Option* p : positionals_of(*c.app))
    line += " " + std::string(p->get_required() ? "" : "[") + p->get_name() +
            (p->get_required() ? "" : "]");
  if (flags_of(*c.app).size() > 1) line += " [flags]";  // more than --help
  if (!children(*c.app).empty()) line += " COMMAND";
  return line;
}

}  // namespace

std::string manual_page(const CLI::App& app, const std::string& version) {
  std::string m;
  m += fmt::format(".TH SHOAL 1 \"\" \"{}\" \"Shoal\"\n", roff(version));
  m += ".SH NAME\nshoal \\- " + roff("a peer-to-peer data network for organizations") + "\n";
  m += ".SH SYNOPSIS\n.B shoal\n[\\fIglobal flags\\fR] \\fICOMMAND\\fR [\\fIARGS\\fR]\n";
  m += ".SH DESCRIPTION\n" +
       roff(
           "Every machine that runs Shoal is both client and server: its daemon fetches "
           "content from many members of its network at once and serves what it holds. Only "
           "machines certified by the network's authority connect; every block is verified "
           "against the content's Merkle tree before it is stored or served.") +
       "\n.PP\n" +
       roff(
           "Commands print their result on stdout (with --json, one JSON document) and "
           "progress, notes, warnings and errors on stderr.") +
       "\n";
  m += ".SH GLOBAL FLAGS\n" + roff("Before or after the command.") + "\n";
  for (const CLI::Option* o : flags_of(app))
    m += ".TP\n" + flag_term(*o) + "\n" + roff(o->get_description()) + "\n";
  m += ".SH COMMANDS\n";
  for (const command& c : commands(app)) {
    if (c.path.empty()) continue;
    m += ".SS \"" + roff(usage_line(c)) + "\"\n" + roff(c.app->get_description()) + "\n";
    for (const CLI::Option* p : positionals_of(*c.app))
      m += ".TP\n\\fI" + roff(p->get_name()) + "\\fR\n" + roff(p->get_description()) + "\n";
    for (const CLI::Option* o : flags_of(*c.app))
      if (o != c.app->get_help_ptr())
        m += ".TP\n" + flag_term(*o) + "\n" + roff(o->get_description()) + "\n";
  }
  m += ".SH ENVIRONMENT\n";
  m += ".TP\n.B SHOAL_DATA_DIR\n" + roff("The data directory, unless --data-dir is given.") + "\n";
  m += ".TP\n.B SHOAL_CONFIG\n" + roff("The config file, unless --config is given.") + "\n";
  m += ".SH FILES\n";
  m += ".TP\n.I ~/.config/shoal/config.toml\n" +
       roff("The config file when neither --config nor SHOAL_CONFIG names one.") + "\n";
  m += ".TP\n.I ~/.local/share/shoal\n" +
       roff(
           "The data directory by default; /var/lib/shoal for the packaged service, whose "
           "config file is /etc/shoal/config.toml.") +
       "\n";
  m += ".SH EXIT STATUS\n" +
       roff(
           "0 on success; 1 when the command fails (and when verify finds a damaged or "
           "incomplete content); 2 on a usage error.") +
       "\n";
  m += ".SH SEE ALSO\n" +
       roff(
           "The documentation in /usr/share/doc/shoal: configuration.md (every command and "
           "key), operations.md (running it as a service), protocol/ (the formats).") +
       "\n";
  return m;
}

std::string bash_completion(const CLI::App& app) {
  std::vector<std::string> value_flags;
  std::string words, groups;  // groups: the commands that have subcommands
  for (const command& c : commands(app)) {
    if (!children(*c.app).empty()) groups += fmt::format("  [\"{}\"]=1\n", key(c));
    std::vector<std::string> w;
    for (const CLI::App* s : children(*c.app)) w.push_back(s->get_name());
    for (const CLI::Option* o : all_flags_of(c, app)) {
      for (const auto& s : spellings(*o)) {
        w.push_back(s);
        if (takes_value(*o)) value_flags.push_back(s);
      }
    }
    words += fmt::format("  [\"{}\"]=\"{}\"\n", key(c), joined(w));
  }
  std::sort(value_flags.begin(), value_flags.end());
  value_flags.erase(std::unique(value_flags.begin(), value_flags.end()), value_flags.end());
  return fmt::format(
      R"(# bash completion for shoal, made by `shoal completion bash`.
declare -gA _shoal_words=(
{})
declare -gA _shoal_groups=(
{})
_shoal_value_flags=" {} "
_shoal() {{
  local cur=${{COMP_WORDS[COMP_CWORD]}} prev=${{COMP_WORDS[COMP_CWORD-1]}} cmd=shoal w i
  for ((i = 1; i < COMP_CWORD; i++)); do
    w=${{COMP_WORDS[i]}}
    if [[ $w == -* ]]; then
      [[ $_shoal_value_flags == *" $w "* ]] && ((i++))
    elif [[ -n ${{_shoal_words["$cmd $w"]+set}} ]]; then
      cmd="$cmd $w"
    fi
  done
  if [[ $_shoal_value_flags == *" $prev "* ]]; then
    COMPREPLY=($(compgen -f -- "$cur"))
  elif [[ $cur == -* || -n ${{_shoal_groups[$cmd]+set}} ]]; then
    COMPREPLY=($(compgen -W "${{_shoal_words[$cmd]}}" -- "$cur"))
  else
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
}}
complete -o default -F _shoal shoal
)",
      words, groups, joined(value_flags));
}

std::string zsh_completion(const CLI::App& app) {
  // Per command: its subcommands and flags as "word:description" for _describe.
  const auto item = [](const std::string& word, std::string desc) {
    std::string out;
    for (char c : word) out += (c == ':' ? std::string("\\:") : std::string(1, c));
    for (char& c : desc)
      if (c == '\'') c = '`';
    return "'" + out + ":" + desc + "'";
  };
  std::string tables;
  std::vector<std::string> values;
  for (const command& c : commands(app)) {
    std::vector<std::string> subs, flags;
    for (const CLI::App* s : children(*c.app))
      subs.push_back(item(s->get_name(), s->get_description()));
    for (const CLI::Option* o : all_flags_of(c, app))
      for (const auto& s : spellings(*o)) {
        flags.push_back(item(s, o->get_description()));
        if (takes_value(*o)) values.push_back(s);
      }
    tables +=
        fmt::format("    '{}') subs=({}); flags=({}) ;;\n", key(c), joined(subs), joined(flags));
  }
  return fmt::format(
      R"(#compdef shoal
# zsh completion for shoal, made by `shoal completion zsh`.
_shoal() {{
  local -a subs flags
  local cmd=shoal w i values=" {} "
  for (( i = 2; i < CURRENT; i++ )); do
    w=${{words[i]}}
    if [[ $w == -* ]]; then
      [[ $values == *" $w "* ]] && (( i++ ))
    else
      local next="$cmd $w"
      case $next in
{}        *) continue ;;
      esac
      cmd=$next
    fi
  done
  if [[ $values == *" ${{words[CURRENT-1]}} "* ]]; then
    _files
    return
  fi
  case $cmd in
{}  esac
  if [[ ${{words[CURRENT]}} == -* ]]; then
    _describe -t flags 'flag' flags
  elif (( ${{#subs}} )); then
    _describe -t commands 'command' subs
  else
    _files
  fi
}}
_shoal "$@"
)",
      [&] {
        std::sort(values.begin(), values.end());
        values.erase(std::unique(values.begin(), values.end()), values.end());
        return joined(values);
      }(),
      [&] {
        std::string known;
        for (const command& c : commands(app))
          if (!c.path.empty()) known += fmt::format("        '{}') ;;\n", key(c));
        return known;
      }(),
      tables);
}

}  // namespace shoal::cli

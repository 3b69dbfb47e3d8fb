// rftgate: the reference host. Loads librftgate.so through its C ABI exactly
// as a WMS would (never linked to it) and drives it from the command line.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "date/date.h"
#include "fmt/format.h"
#include "rftgate/host.hpp"

#ifndef RFTGATE_VERSION
#define RFTGATE_VERSION "0.0.0"
#endif

namespace {

using nlohmann::json;
using rftgate::host::View;

constexpr int kExitOk = 0;
constexpr int kExitRunFailed = 1;
constexpr int kExitUsage = 2;

std::string S(rft_str s) { return std::string(View(s)); }
json JsonOrNull(rft_str s) {
  return s.data == nullptr ? json(nullptr) : json(std::string(View(s)));
}

const char* VerdictName(int32_t v) {
  switch (v) {
    case RFT_VERDICT_PASS:
      return "pass";
    case RFT_VERDICT_WARN:
      return "warn";
    default:
      return "hold";
  }
}
const char* SeverityName(int32_t s) {
  switch (s) {
    case RFT_SEVERITY_BLOCK:
      return "block";
    case RFT_SEVERITY_WARN:
      return "warn";
    default:
      return "off";
  }
}

int ExitFor(rft_status st) {
  switch (st) {
    case RFT_ERR_CONFIG:
    case RFT_ERR_INVALID_ARGUMENT:
    case RFT_ERR_ABI:
    case RFT_ERR_ADAPTER:
      return kExitUsage;
    default:
      return kExitRunFailed;
  }
}

// Parses YYYY-MM-DD into an RFT_TIME_DATE.
std::optional<rft_time> ParseDate(const std::string& text) {
  std::istringstream in(text);
  date::year_month_day ymd{};
  in >> date::parse("%F", ymd);
  if (in.fail() || !ymd.ok()) return std::nullopt;
  auto days = date::sys_days(ymd).time_since_epoch().count();
  return rft_time{static_cast<int64_t>(days), RFT_TIME_DATE, 0};
}

struct Common {
  std::string plugin;
  std::string config;
};

std::string ConfigPath(const Common& c) {
  if (!c.config.empty()) return c.config;
  if (const char* env = std::getenv("RFTGATE_CONFIG"); env != nullptr && *env) {
    return env;
  }
  return "rftgate.yaml";
}

std::shared_ptr<rftgate::host::Plugin> LoadPlugin(const Common& c) {
  return rftgate::host::Plugin::Load(rftgate::host::FindPlugin(c.plugin));
}

// A progress bar on stdout when it is a terminal.
struct Progress {
  bool enabled = false;
  static void Callback(void* ctx, uint64_t done, uint64_t total) {
    auto* self = static_cast<Progress*>(ctx);
    if (!self->enabled || total == 0) return;
    int width = 40;
    int filled = static_cast<int>(width * done / total);
    std::string bar(static_cast<size_t>(filled), '#');
    bar.resize(static_cast<size_t>(width), '.');
    std::fprintf(stdout, "\r[%s] %llu/%llu orders", bar.c_str(),
                 static_cast<unsigned long long>(done),
                 static_cast<unsigned long long>(total));
    if (done == total) std::fprintf(stdout, "\n");
    std::fflush(stdout);
  }
};

json OrderJson(const rftgate::host::Result& result, uint64_t i) {
  rft_order_verdict o = result.Order(i);
  json findings = json::array();
  for (uint64_t j = 0; j < o.finding_count; ++j) {
    rft_finding_view f = result.Finding(i, j);
    json details = json::parse(View(f.details_json), nullptr, false);
    if (details.is_discarded()) details = S(f.details_json);
    findings.push_back(
        {{"line", f.line_no > 0 ? json(f.line_no) : json(nullptr)},
         {"line_ref", JsonOrNull(f.line_ref)},
         {"check", S(f.check_id)},
         {"severity", SeverityName(f.severity)},
         {"message", S(f.message)},
         {"details", details}});
  }
  return {{"ref", S(o.ref)},
          {"site", JsonOrNull(o.site)},
          {"customer", JsonOrNull(o.customer)},
          {"provider", JsonOrNull(o.provider)},
          {"verdict", VerdictName(o.verdict)},
          {"decided_by", o.decided_by == RFT_DECIDED_BY_FAILURE_POLICY
                             ? "failure_policy"
                             : "checks"},
          {"reason", JsonOrNull(o.reason)},
          {"findings", findings}};
}

// The JSON of a result without its orders (an empty "orders" array).
json ResultJson(const rftgate::host::Result& result) {
  rft_result_summary s = result.Summary();
  json notes = json::array();
  for (uint64_t i = 0; i < s.notes; ++i) {
    rft_note n = result.Note(i);
    notes.push_back(
        {{"check", JsonOrNull(n.check_id)}, {"message", S(n.message)}});
  }
  return {{"run_id", S(s.run_id)},
          {"ruleset", S(s.ruleset)},
          {"dry_run", s.dry_run != 0},
          {"written", s.written != 0},
          {"written_to", S(s.written_to)},
          {"orders", json::array()},
          {"notes", notes},
          {"summary",
           {{"orders", s.orders},
            {"passed", s.passed},
            {"warned", s.warned},
            {"held", s.held},
            {"by_policy", s.by_policy},
            {"findings", s.findings},
            {"duration_ms", static_cast<double>(s.duration_us) / 1000.0}}}};
}

// `rftgate --json` with the orders taken page by page: each order's JSON
// goes to a temporary file as its page comes, and is copied into the
// "orders" array of the result's JSON at the end, so that the memory of a
// large wave stays that of a page. Prints what json::dump(2) prints.
class JsonOut {
 public:
  JsonOut() : spool_(std::tmpfile()) {
    if (spool_ == nullptr) {
      throw std::runtime_error("cannot make a temporary file for the orders");
    }
  }
  ~JsonOut() { std::fclose(spool_); }
  JsonOut(const JsonOut&) = delete;
  JsonOut& operator=(const JsonOut&) = delete;

  void Page(const rftgate::host::Result& page) {
    const uint64_t n = page.Summary().orders;
    for (uint64_t i = 0; i < n; ++i) {
      // An element of the top object's "orders" array: 4 spaces deeper.
      std::string text = OrderJson(page, i).dump(2);
      std::string out = orders_ == 0 ? "    " : ",\n    ";
      for (char c : text) {
        out += c;
        if (c == '\n') out += "    ";
      }
      Write(out);
      ++orders_;
    }
  }

  void Finish(const rftgate::host::Result& totals) {
    std::string text = ResultJson(totals).dump(2);
    const std::string empty = "\n  \"orders\": []";
    size_t at = text.find(empty);
    if (orders_ == 0 || at == std::string::npos) {
      std::cout << text << "\n";
      return;
    }
    at += empty.size() - 1;  // the "]"
    std::cout << text.substr(0, at) << "\n";
    std::rewind(spool_);
    char buffer[1 << 16];
    size_t got;
    while ((got = std::fread(buffer, 1, sizeof buffer, spool_)) > 0) {
      std::cout.write(buffer, static_cast<std::streamsize>(got));
    }
    if (std::ferror(spool_)) {
      throw std::runtime_error("cannot read back the orders' temporary file");
    }
    std::cout << "\n  " << text.substr(at) << "\n";
  }

 private:
  void Write(const std::string& text) {
    if (std::fwrite(text.data(), 1, text.size(), spool_) != text.size()) {
      throw std::runtime_error("cannot write the orders' temporary file");
    }
  }
  std::FILE* spool_;
  uint64_t orders_ = 0;
};

// Where the adapter writes its records, in its own words (the "records"
// entry of describe), or empty when it does not say.
std::string RecordsWhere(const rftgate::host::Plugin& plugin,
                         const rftgate::host::Gate& gate) {
  std::string where;
  char message[2048] = {0};
  plugin.api().describe(
      gate.get(),
      [](void* ctx, rft_str k, rft_str v) {
        if (View(k) == "records") *static_cast<std::string*>(ctx) = S(v);
      },
      &where, message, sizeof message);
  return where;
}

// The readable output, taken page by page: the orders to show (at most
// `limit`) and the counts by check, then the totals.
class Readable {
 public:
  explicit Readable(size_t limit) : limit_(limit) {}

  void Page(const rftgate::host::Result& page) {
    const uint64_t n = page.Summary().orders;
    for (uint64_t i = 0; i < n; ++i) {
      rft_order_verdict o = page.Order(i);
      for (uint64_t j = 0; j < o.finding_count; ++j) {
        ++by_check_[S(page.Finding(i, j).check_id)];
      }
      if (o.verdict == RFT_VERDICT_PASS &&
          o.decided_by == RFT_DECIDED_BY_CHECKS) {
        continue;
      }
      if (shown_ >= limit_) {
        ++not_shown_;
        continue;
      }
      ++shown_;
      std::string who = o.customer.data ? " customer " + S(o.customer) : "";
      text_ += fmt::format("{:<5} {}{}", VerdictName(o.verdict), S(o.ref), who);
      if (o.decided_by == RFT_DECIDED_BY_FAILURE_POLICY) {
        text_ += fmt::format("  (failure policy: {})", S(o.reason));
      }
      text_ += "\n";
      for (uint64_t j = 0; j < o.finding_count; ++j) {
        rft_finding_view f = page.Finding(i, j);
        text_ +=
            fmt::format("      {:<5} {:<18} {}\n", SeverityName(f.severity),
                        S(f.check_id), S(f.message));
      }
    }
  }

  // `records_where`: where the records went, when known better than the
  // result's written_to.
  void Finish(const rftgate::host::Result& totals,
              const std::string& records_where) const {
    rft_result_summary s = totals.Summary();
    std::cout << text_;
    if (not_shown_ > 0) {
      std::cout << fmt::format(
          "... and {} more orders held or warned (--limit, or "
          "--json for all)\n",
          not_shown_);
    }
    for (uint64_t i = 0; i < s.notes; ++i) {
      rft_note n = totals.Note(i);
      std::string who = n.check_id.data ? S(n.check_id) + ": " : "";
      std::cout << fmt::format("note: {}{}\n", who, S(n.message));
    }
    auto pct = [&](uint64_t n) {
      return s.orders ? 100.0 * static_cast<double>(n) /
                            static_cast<double>(s.orders)
                      : 0.0;
    };
    std::cout << "\n"
              << fmt::format(
                     "{} orders checked{}: {} passed ({:.1f}%), {} warned, "
                     "{} held",
                     s.orders, s.dry_run ? " (dry run)" : "", s.passed,
                     pct(s.passed), s.warned, s.held);
    if (s.by_policy > 0) {
      std::cout << fmt::format(" ({} by the failure policy)", s.by_policy);
    }
    std::cout << fmt::format("; {} findings\n", s.findings);
    if (!by_check_.empty()) {
      std::vector<std::pair<std::string, uint64_t>> top(by_check_.begin(),
                                                        by_check_.end());
      std::stable_sort(
          top.begin(), top.end(),
          [](const auto& a, const auto& b) { return a.second > b.second; });
      std::cout << "top causes:\n";
      for (size_t i = 0; i < top.size() && i < 5; ++i) {
        std::cout << fmt::format("  {:<20} {}\n", top[i].first, top[i].second);
      }
    }
    std::cout << fmt::format(
        "records: {}\nrun {} · ruleset {} · {:.1f} ms\n",
        records_where.empty() ? S(s.written_to) : "written to " + records_where,
        S(s.run_id), S(s.ruleset), static_cast<double>(s.duration_us) / 1000.0);
  }

 private:
  size_t limit_;
  std::map<std::string, uint64_t> by_check_;
  size_t shown_ = 0, not_shown_ = 0;
  std::string text_;  // the orders shown
};

struct CheckArgs {
  std::vector<std::string> orders;
  std::string from, to;
  std::string run_id;
  bool json_out = false;
  bool quiet = false;
  size_t limit = 20;
};

int RunCheck(const Common& common, const CheckArgs& args, bool dry_run) {
  std::vector<rft_str> refs;
  for (const std::string& r : args.orders)
    refs.push_back(rftgate::host::Str(r));
  rft_check_request req{};
  req.struct_size = sizeof req;
  req.selection.struct_size = sizeof req.selection;
  if (!args.from.empty() || !args.to.empty()) {
    if (!dry_run) {
      std::cerr << "rftgate: --from/--to select past orders; use dry-run\n";
      return kExitUsage;
    }
    auto from = ParseDate(args.from.empty() ? args.to : args.from);
    auto to = ParseDate(args.to.empty() ? args.from : args.to);
    if (!from || !to) {
      std::cerr << "rftgate: --from and --to take dates as YYYY-MM-DD\n";
      return kExitUsage;
    }
    if (from->value > to->value) {
      std::cerr << "rftgate: --from " << args.from << " is after --to "
                << args.to << "\n";
      return kExitUsage;
    }
    req.selection.mode = RFT_SELECT_RANGE;
    req.selection.from = *from;
    req.selection.to = *to;
  } else if (!refs.empty()) {
    req.selection.mode = RFT_SELECT_REFS;
    req.selection.refs = refs.data();
    req.selection.ref_count = refs.size();
  } else {
    req.selection.mode = RFT_SELECT_READY;
  }
  req.run_id = args.run_id.empty() ? rft_str{nullptr, 0}
                                   : rftgate::host::Str(args.run_id);
  auto plugin = LoadPlugin(common);
  auto gate = plugin->OpenFile(ConfigPath(common));
  Progress progress;
  progress.enabled = !args.quiet && !args.json_out && isatty(STDOUT_FILENO);
  req.progress = &Progress::Callback;
  req.progress_ctx = &progress;
  // The verdicts come page by page: a large wave is never held whole.
  if (args.json_out) {
    JsonOut out;
    auto totals =
        gate.Run(req, dry_run,
                 [&](const rftgate::host::Result& page) { out.Page(page); });
    out.Finish(totals);
  } else {
    Readable out(args.limit);
    auto totals =
        gate.Run(req, dry_run,
                 [&](const rftgate::host::Result& page) { out.Page(page); });
    std::string where;
    if (totals.Summary().written != 0) where = RecordsWhere(*plugin, gate);
    out.Finish(totals, where);
  }
  return kExitOk;
}

int RunChecks(const Common& common, bool json_out) {
  auto plugin = LoadPlugin(common);
  std::optional<rftgate::host::Gate> gate;
  if (!common.config.empty()) gate.emplace(plugin->OpenFile(common.config));
  const rft_plugin_api& api = plugin->api();
  json all = json::array();
  for (uint64_t i = 0; i < api.catalogue_size(); ++i) {
    rft_check_info info{};
    info.struct_size = sizeof info;
    if (api.catalogue_entry(gate ? gate->get() : nullptr, i, &info) != RFT_OK) {
      continue;
    }
    if (json_out) {
      all.push_back({{"id", S(info.id)},
                     {"default_severity", SeverityName(info.default_severity)},
                     {"severity", SeverityName(info.severity)},
                     {"summary", S(info.summary)},
                     {"parameters", S(info.parameters)}});
    } else {
      std::cout << fmt::format("{:<20} {:<5} {}\n", S(info.id),
                               SeverityName(info.severity), S(info.summary));
      if (info.parameters.len > 0) {
        std::cout << fmt::format("{:<26} {}\n", "", S(info.parameters));
      }
    }
  }
  if (json_out) std::cout << all.dump(2) << "\n";
  return kExitOk;
}

int RunAdapters(const Common& common, bool json_out) {
  auto plugin = LoadPlugin(common);
  json all = json::array();
  std::string config = common.config;
  rft_open_params params{};
  params.struct_size = sizeof params;
  params.config_path = rftgate::host::Str(config);
  char message[2048] = {0};
  rft_status st = plugin->api().list_adapters(
      config.empty() ? nullptr : &params,
      [](void* ctx, const rft_adapter_info* info) {
        static_cast<json*>(ctx)->push_back(
            {{"name", S(info->name)},
             {"path", S(info->path)},
             {"version", JsonOrNull(info->version)},
             {"abi", fmt::format("{}.{}", info->abi_major, info->abi_minor)},
             {"loadable", info->loadable != 0},
             {"problem", JsonOrNull(info->problem)}});
      },
      &all, message, sizeof message);
  if (st != RFT_OK) {
    std::cerr << "rftgate: " << message << "\n";
    return ExitFor(st);
  }
  if (json_out) {
    std::cout << all.dump(2) << "\n";
    return kExitOk;
  }
  if (all.empty()) std::cout << "no adapters found\n";
  for (const json& a : all) {
    if (a["loadable"].get<bool>()) {
      std::cout << fmt::format(
          "{:<12} {:<10} ABI {:<6} {}\n", a["name"].get<std::string>(),
          a["version"].get<std::string>(), a["abi"].get<std::string>(),
          a["path"].get<std::string>());
    } else {
      std::cout << fmt::format(
          "{:<12} NOT LOADABLE  {}\n  {}\n", a["name"].get<std::string>(),
          a["path"].get<std::string>(), a["problem"].get<std::string>());
    }
  }
  return kExitOk;
}

int RunValidate(const Common& common, bool connect) {
  auto plugin = LoadPlugin(common);
  std::string path = ConfigPath(common);
  auto gate = plugin->OpenFile(path);
  std::cout << fmt::format("{}: valid\n", path);
  if (connect) {
    char message[2048] = {0};
    rft_status st = plugin->api().describe(
        gate.get(),
        [](void*, rft_str k, rft_str v) {
          std::cout << fmt::format("  {:<28} {}\n", View(k), View(v));
        },
        nullptr, message, sizeof message);
    if (st != RFT_OK) {
      std::cerr << "rftgate: cannot connect: " << message << "\n";
      return kExitRunFailed;
    }
  }
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "rftgate: the right-first-time gate for warehouse orders.\n"
      "Checks orders at release (stock, lots, units, locations, addresses,\n"
      "carriers, holds...), holds or warns, and writes findings into the "
      "WMS.\n\n"
      "Examples:\n"
      "  rftgate check --config /etc/rftgate/rftgate.yaml        # every order "
      "ready for release\n"
      "  rftgate check -c rftgate.yaml --order WH/OUT/00042 --json\n"
      "  rftgate dry-run -c rftgate.yaml                         # nothing "
      "written\n"
      "  rftgate dry-run -c rftgate.yaml --from 2026-10-01 --to 2026-10-31\n"
      "  rftgate checks                                          # the check "
      "catalogue\n"
      "  rftgate adapters                                        # installed "
      "adapters\n"
      "  rftgate config validate -c rftgate.yaml --connect\n\n"
      "Exit status: 0 every requested order got a verdict; 1 the run could "
      "not\n"
      "produce verdicts; 2 usage or configuration error.",
      "rftgate"};
  app.set_version_flag(
      "--version", std::string("rftgate ") + RFTGATE_VERSION + " (host ABI " +
                       std::to_string(RFT_HOST_ABI_MAJOR) + "." +
                       std::to_string(RFT_HOST_ABI_MINOR) + ")");
  app.require_subcommand(1);
  Common common;
  app.add_option("--plugin", common.plugin,
                 "path of librftgate.so (default: $RFTGATE_PLUGIN, then beside "
                 "this program)");

  auto add_config = [&](CLI::App* sub) {
    sub->add_option(
        "-c,--config", common.config,
        "config file (default: $RFTGATE_CONFIG, then ./rftgate.yaml)");
  };

  CheckArgs check_args;
  auto add_check_options = [&](CLI::App* sub, bool range) {
    add_config(sub);
    sub->add_option(
        "-o,--order", check_args.orders,
        "check only these orders (repeatable); default: every order "
        "ready for release");
    if (range) {
      sub->add_option(
          "--from", check_args.from,
          "past orders released on or after this date (YYYY-MM-DD)");
      sub->add_option(
          "--to", check_args.to,
          "past orders released on or before this date (YYYY-MM-DD)");
    }
    sub->add_option(
        "--run-id", check_args.run_id,
        "reuse the run id of a failed attempt (nothing is written twice)");
    sub->add_flag("--json", check_args.json_out, "print the result as JSON");
    sub->add_flag("-q,--quiet", check_args.quiet, "no progress bar");
    sub->add_option("--limit", check_args.limit,
                    "orders listed in the readable output (default 20)");
  };
  CLI::App* check = app.add_subcommand(
      "check", "check orders and write the findings back into the WMS");
  add_check_options(check, false);
  CLI::App* dry = app.add_subcommand(
      "dry-run", "check orders, now or in the past, with nothing written");
  add_check_options(dry, true);

  bool json_out = false;
  CLI::App* checks = app.add_subcommand("checks", "list the check catalogue");
  add_config(checks);
  checks->add_flag("--json", json_out, "print as JSON");
  CLI::App* adapters =
      app.add_subcommand("adapters", "list installed adapters with their ABI");
  add_config(adapters);
  adapters->add_flag("--json", json_out, "print as JSON");

  CLI::App* config = app.add_subcommand("config", "work with the config file");
  config->require_subcommand(1);
  CLI::App* validate = config->add_subcommand(
      "validate", "validate a config file (and connect)");
  add_config(validate);
  std::string positional_config;
  validate->add_option("file", positional_config, "config file");
  bool connect = false;
  validate->add_flag(
      "--connect", connect,
      "also open the adapter and the database, and say what it found");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : kExitUsage;
  }
  if (!positional_config.empty()) common.config = positional_config;

  try {
    if (check->parsed()) return RunCheck(common, check_args, false);
    if (dry->parsed()) return RunCheck(common, check_args, true);
    if (checks->parsed()) return RunChecks(common, json_out);
    if (adapters->parsed()) return RunAdapters(common, json_out);
    if (validate->parsed()) return RunValidate(common, connect);
  } catch (const rftgate::host::Error& e) {
    std::cerr << "rftgate: " << e.what() << "\n";
    return ExitFor(e.status());
  } catch (const std::exception& e) {
    std::cerr << "rftgate: " << e.what() << "\n";
    return kExitRunFailed;
  }
  return kExitUsage;
}

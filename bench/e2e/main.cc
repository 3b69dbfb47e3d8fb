// rftgate_bench_e2e: the end-to-end benchmark. Each command runs in its own
// process so that its peak memory is its own (scripts/bench drives them).
//
//   rftgate_bench_e2e generate --scale N [--sqlite PATH]
//   rftgate_bench_e2e run --what rftgate-pg|rftgate-pg-whole|rftgate-sqlite|
//                               sql|orm|floor
//                     --scale N [--reps R] [--singles K] [--sqlite PATH]
//                     [--findings FILE] [--records N] [--warmup 0|1]
//   rftgate_bench_e2e compare FILE_A FILE_B
//
// PostgreSQL: libpq parameters in $RFTGATE_TEST_PG; each scale gets its own
// database bench_<N>. `run` prints one JSON object on stdout: wall and CPU
// milliseconds of each repetition (after one warm-up), stages, latency
// percentiles and peak resident memory. --pages N checks the wave in pages
// of N orders; RFTGATE_BENCH_ADAPTER_OPTION ("key: value") adds one option
// to the SQL adapter's, RFTGATE_BENCH_TRACE=1 prints every log line.
#include <sqlite3.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "bench/e2e/baselines.h"
#include "bench/e2e/warehouse.h"
#include "rftgate/host.hpp"

namespace {

using rftgate::bench::Finding;
using rftgate::bench::FindingSet;
using rftgate::bench::Pg;
using Clock = std::chrono::steady_clock;

constexpr uint64_t kSeed = 20240917;
// 2026-06-01: the data is dated, not the run.
constexpr int64_t kToday = 20605;

struct Args {
  std::map<std::string, std::string> opt;
  std::vector<std::string> pos;
  std::string Get(const std::string& k, const std::string& def = "") const {
    auto it = opt.find(k);
    return it == opt.end() ? def : it->second;
  }
};

std::string PgBase() {
  const char* p = std::getenv("RFTGATE_TEST_PG");
  if (p == nullptr || *p == '\0') {
    throw std::runtime_error(
        "RFTGATE_TEST_PG is not set (run under "
        "tests/support/with-databases.sh)");
  }
  return p;
}
std::string PgFor(int64_t scale) {
  return PgBase() + " dbname=bench_" + std::to_string(scale);
}

double CpuMs() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return (u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1e3 +
         (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e3;
}
long MaxRssKb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}
double Ms(Clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

std::string JsonList(const std::vector<double>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%s%.2f", i ? "," : "", v[i]);
    s += buf;
  }
  return s + "]";
}

// ------------------------------------------------------------------ data

std::string CopyText(const std::string& v) {
  if (v == rftgate::bench::NullText()) return "\\N";
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '\t' || c == '\n') out += '\\';
    out += c;
  }
  return out;
}

void SqliteExec(sqlite3* db, const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string m = err ? err : "?";
    sqlite3_free(err);
    throw std::runtime_error("SQLite: " + m);
  }
}

int Generate(const Args& a) {
  const int64_t scale = std::stoll(a.Get("scale"));
  auto w = rftgate::bench::GenerateWarehouse(scale, kSeed, kToday);
  {
    Pg admin(PgBase());
    admin.Exec("DROP DATABASE IF EXISTS bench_" + std::to_string(scale));
    admin.Exec("CREATE DATABASE bench_" + std::to_string(scale));
  }
  Pg pg(PgFor(scale));
  pg.Exec(rftgate::bench::SchemaSql(true));
  for (const auto& t : w.tables) {
    std::string data, cols;
    for (const auto& c : t.columns) cols += (cols.empty() ? "" : ", ") + c;
    for (const auto& row : t.rows) {
      for (size_t i = 0; i < row.size(); ++i) {
        if (i) data += '\t';
        data += CopyText(row[i]);
      }
      data += '\n';
    }
    pg.CopyIn(t.name + " (" + cols + ")", data);
  }
  pg.Exec("VACUUM ANALYZE");
  std::string path = a.Get("sqlite");
  if (!path.empty()) {
    std::filesystem::remove(path);
    sqlite3* db = nullptr;
    if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) {
      throw std::runtime_error("cannot create " + path);
    }
    SqliteExec(db, rftgate::bench::SchemaSql(false));
    SqliteExec(db, "BEGIN");
    for (const auto& t : w.tables) {
      std::string sql = "INSERT INTO " + t.name + " VALUES (";
      for (size_t i = 0; i < t.columns.size(); ++i) sql += i ? ",?" : "?";
      sql += ")";
      sqlite3_stmt* st = nullptr;
      sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr);
      for (const auto& row : t.rows) {
        for (size_t i = 0; i < row.size(); ++i) {
          if (row[i] == rftgate::bench::NullText()) {
            sqlite3_bind_null(st, static_cast<int>(i + 1));
          } else {
            sqlite3_bind_text(st, static_cast<int>(i + 1), row[i].c_str(),
                              static_cast<int>(row[i].size()),
                              SQLITE_TRANSIENT);
          }
        }
        if (sqlite3_step(st) != SQLITE_DONE) {
          throw std::runtime_error(std::string("SQLite insert: ") +
                                   sqlite3_errmsg(db));
        }
        sqlite3_reset(st);
      }
      sqlite3_finalize(st);
    }
    SqliteExec(db, "COMMIT");
    SqliteExec(db, "ANALYZE");
    sqlite3_close(db);
  }
  std::printf(
      "{\"scale\":%lld,\"orders\":%lld,\"lines\":%lld,\"planted\":%lld}\n",
      static_cast<long long>(scale), static_cast<long long>(w.orders),
      static_cast<long long>(w.lines), static_cast<long long>(w.planted));
  return 0;
}

// ---------------------------------------------------------------- rftgate

void WriteFindings(const std::string& path, const FindingSet& f) {
  std::ofstream out(path);
  for (const auto& [o, l, c] : f) out << o << '\t' << l << '\t' << c << '\n';
}

FindingSet ReadFindings(const std::string& path) {
  FindingSet f;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    size_t a = line.find('\t'), b = line.find('\t', a + 1);
    f.emplace(line.substr(0, a), line.substr(a + 1, b - a - 1),
              line.substr(b + 1));
  }
  return f;
}

// Times the log lines that end each stage. A wave checked in pages
// interleaves the stages: the plugin's own sum of each stage over the
// pages is taken then.
struct StageLog {
  Clock::time_point loaded{}, written{};
  bool paged = false;
  double page_load_ms = 0, page_check_ms = 0, page_write_ms = 0;
  static void Callback(void* ctx, int32_t level, const char* msg, size_t len) {
    auto* self = static_cast<StageLog*>(ctx);
    std::string_view m(msg, len);
    // RFTGATE_BENCH_TRACE=1: every log line, with milliseconds since start.
    static const bool trace = std::getenv("RFTGATE_BENCH_TRACE") != nullptr;
    static const Clock::time_point start = Clock::now();
    if (trace) {
      std::fprintf(stderr, "%10.1f ms  %.*s\n", Ms(Clock::now() - start),
                   static_cast<int>(len), msg);
    }
    if (size_t at = m.find(" pages: load "); at != std::string_view::npos) {
      // "run <id>: <n> pages: load <ms> ms, check <ms> ms, write <ms> ms, ..."
      self->paged = std::sscanf(std::string(m.substr(at)).c_str(),
                                " pages: load %lf ms, check %lf ms, write %lf",
                                &self->page_load_ms, &self->page_check_ms,
                                &self->page_write_ms) == 3;
    } else if (m.find("sql adapter: loaded") != std::string_view::npos) {
      self->loaded = Clock::now();
    } else if (m.find("write-back: run") != std::string_view::npos) {
      self->written = Clock::now();
    } else if (level >= RFT_LOG_WARN) {
      std::cerr << m << "\n";
    }
  }
};

std::string ConfigYaml(const std::string& connection, bool whole,
                       const std::string& pages) {
  return "adapter:\n  name: sql\n  connection: \"" + connection +
         "\"\n  options:\n    mapping: " RFTGATE_BENCH_MAPPING "\n" +
         // More adapter options, e.g. "pipelined_pages: false".
         (std::getenv("RFTGATE_BENCH_ADAPTER_OPTION") != nullptr
              ? "    " +
                    std::string(std::getenv("RFTGATE_BENCH_ADAPTER_OPTION")) +
                    "\n"
              : std::string()) +
         "timezone:\n  default: Europe/Paris\nfailure_policy: hold\n"
         "timeouts:\n  open: 60s\n  load: 600s\n  write: 600s\n"
         "writeback:\n  apply_holds: true\n" +
         std::string(whole            ? "wave:\n  page_orders: 0\n"
                     : !pages.empty() ? "wave:\n  page_orders: " + pages + "\n"
                     : std::getenv("RFTGATE_BENCH_PAGE_ORDERS") != nullptr
                         ? std::string("wave:\n  page_orders: ") +
                               std::getenv("RFTGATE_BENCH_PAGE_ORDERS") + "\n"
                         : "") +
         std::string(std::getenv("RFTGATE_BENCH_TRACE") != nullptr
                         ? "logging:\n  level: debug\n"
                         : "") +
         "checks:\n  order.duplicate: off\n  qty.outlier: off\n"
         "  lot.fefo: off\n  lot.shelf_life: off\n";
}

void ResetRftgate(bool pg, int64_t scale, const std::string& sqlite_path) {
  const char* tables[] = {"rftgate_error_record", "rftgate_check_run",
                          "rftgate_run"};
  if (pg) {
    Pg db(PgFor(scale));
    std::string vacuum = "orders";
    for (const char* t : tables) {
      if (!db.Query(std::string("SELECT to_regclass('") + t + "')")
               .at(0)
               .at(0)
               .empty()) {
        db.Exec(std::string("DELETE FROM ") + t);
        vacuum += std::string(", ") + t;
      }
    }
    db.Exec("UPDATE orders SET on_hold = 0 WHERE on_hold <> 0");
    // Each repetition starts from the same tables: the rows this reset
    // deleted and the flags it cleared are vacuumed now, not by autovacuum
    // while the next repetition is measured (a WMS does not delete
    // rftgate's tables between waves).
    db.Exec("VACUUM (ANALYZE) " + vacuum);
    return;
  }
  sqlite3* db = nullptr;
  sqlite3_open(sqlite_path.c_str(), &db);
  for (const char* t : tables) {
    sqlite3_exec(db, (std::string("DELETE FROM ") + t).c_str(), nullptr,
                 nullptr, nullptr);
  }
  sqlite3_exec(db, "UPDATE orders SET on_hold = 0 WHERE on_hold <> 0", nullptr,
               nullptr, nullptr);
  sqlite3_close(db);
}

// Adds the (order, line, check) of each finding of `r` (a result, or a
// page of one) to *f.
void AddFindings(const rftgate::host::Result& r, FindingSet* f) {
  auto s = r.Summary();
  for (uint64_t i = 0; i < s.orders; ++i) {
    auto o = r.Order(i);
    for (uint64_t k = 0; k < o.finding_count; ++k) {
      auto v = r.Finding(i, k);
      f->emplace(std::string(rftgate::host::View(o.ref)),
                 v.line_no == 0 ? std::string()
                                : std::string(rftgate::host::View(v.line_ref)),
                 std::string(rftgate::host::View(v.check_id)));
    }
  }
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

int RunRftgate(const Args& a, bool pg, bool whole = false) {
  const int64_t scale = std::stoll(a.Get("scale"));
  const int reps = std::stoi(a.Get("reps", "3"));
  const int singles = std::stoi(a.Get("singles", "0"));
  const int warmup = std::stoi(a.Get("warmup", "1"));
  const std::string sqlite_path = a.Get("sqlite");
  // --stream 0: the verdicts come back in one result at the end, as from a
  // host of ABI 1.0; by default they are taken page by page (on_page) and
  // only the findings' keys are kept.
  const bool stream = a.Get("stream", "1") != "0";
  const std::string connection =
      pg ? "postgresql://" + PgFor(scale) : "sqlite3://db=" + sqlite_path;
  auto plugin = rftgate::host::Plugin::Load(rftgate::host::FindPlugin(""));
  StageLog log;
  // --pages N: pages of N orders (the memory of a wave in small pages).
  const std::string pages = a.Get("pages");
  const std::string yaml = ConfigYaml(connection, whole, pages);
  rft_open_params params{};
  params.struct_size = sizeof params;
  params.config_yaml = rftgate::host::Str(yaml);
  params.log = &StageLog::Callback;
  params.log_ctx = &log;
  auto gate = plugin->Open(params);

  rft_check_request req{};
  req.struct_size = sizeof req;
  req.selection.struct_size = sizeof req.selection;
  req.selection.mode = RFT_SELECT_READY;

  std::vector<double> wall, cpu, load, check, write, dry_wall;
  FindingSet findings;
  uint64_t orders = 0, held = 0, n_findings = 0;
  for (int r = -warmup; r < reps; ++r) {
    ResetRftgate(pg, scale, sqlite_path);
    // Load + check, nothing written.
    auto t0 = Clock::now();
    {
      log.paged = false;
      auto dry = stream
                     ? gate.Run(req, true, [](const rftgate::host::Result&) {})
                     : gate.Run(req, true);
      auto t1 = Clock::now();
      if (r >= 0) {
        dry_wall.push_back(Ms(t1 - t0));
        load.push_back(log.paged ? log.page_load_ms : Ms(log.loaded - t0));
        check.push_back(log.paged ? log.page_check_ms : Ms(t1 - log.loaded));
      }
    }
    ResetRftgate(pg, scale, sqlite_path);
    // Load + check + write back: the release call.
    double c0 = CpuMs();
    log.paged = false;
    const bool keep = r == reps - 1;
    if (keep) findings.clear();
    t0 = Clock::now();
    auto res = stream ? gate.Run(req, false,
                                 [&](const rftgate::host::Result& page) {
                                   if (keep) AddFindings(page, &findings);
                                 })
                      : gate.Run(req, false);
    auto t1 = Clock::now();
    double c1 = CpuMs();
    auto s = res.Summary();
    if (!s.written) {
      throw std::runtime_error("rftgate wrote nothing: " +
                               std::string(rftgate::host::View(s.written_to)));
    }
    if (r >= 0) {
      wall.push_back(Ms(t1 - t0));
      cpu.push_back(c1 - c0);
      // After the load of this call, less the check stage of the dry run.
      write.push_back(log.paged ? log.page_write_ms
                                : Ms(t1 - log.loaded) - check.back());
    }
    if (keep) {
      if (!stream) AddFindings(res, &findings);
      orders = s.orders;
      held = s.held;
      n_findings = s.findings;
    }
  }
  std::string fpath = a.Get("findings");
  if (!fpath.empty()) WriteFindings(fpath, findings);

  // Single-order release calls, one order each, written back, on the
  // tables the last wave wrote, vacuumed as after ResetRftgate.
  std::vector<double> lat, lat_load;
  if (singles > 0) {
    if (pg) {
      Pg(PgFor(scale))
          .Exec(
              "VACUUM (ANALYZE) orders, rftgate_error_record, "
              "rftgate_check_run, rftgate_run");
    }
    std::vector<std::string> refs;
    for (int i = 0; i < singles; ++i) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "SO-%07lld",
                    static_cast<long long>((i * 7919LL) % scale + 1));
      refs.push_back(buf);
    }
    for (int i = -5; i < singles; ++i) {
      const std::string& ref =
          refs[static_cast<size_t>(((i % singles) + singles) % singles)];
      rft_str one = rftgate::host::Str(ref);
      rft_check_request r1 = req;
      r1.selection.mode = RFT_SELECT_REFS;
      r1.selection.refs = &one;
      r1.selection.ref_count = 1;
      auto t0 = Clock::now();
      auto res = gate.Run(r1, false);
      auto t1 = Clock::now();
      if (res.Summary().orders != 1) throw std::runtime_error("single order");
      if (i >= 0) {
        lat.push_back(Ms(t1 - t0));
        lat_load.push_back(Ms(log.loaded - t0));
      }
    }
  }
  std::printf(
      "{\"what\":\"%s\",\"scale\":%lld,\"orders\":%llu,\"held\":%llu,"
      "\"findings\":%llu,\"wall_ms\":%s,\"cpu_ms\":%s,\"load_ms\":%s,"
      "\"check_ms\":%s,\"write_ms\":%s,\"single_n\":%zu,\"single_p50_ms\":%.3f,"
      "\"single_p99_ms\":%.3f,\"single_max_ms\":%.3f,"
      "\"single_load_p50_ms\":%.3f,\"maxrss_kb\":%ld,\"streamed\":%s}\n",
      !pg              ? "rftgate-sqlite"
      : whole          ? "rftgate-pg-whole"
      : !pages.empty() ? "rftgate-pg-small-pages"
                       : "rftgate-pg",
      static_cast<long long>(scale), static_cast<unsigned long long>(orders),
      static_cast<unsigned long long>(held),
      static_cast<unsigned long long>(n_findings), JsonList(wall).c_str(),
      JsonList(cpu).c_str(), JsonList(load).c_str(), JsonList(check).c_str(),
      JsonList(write).c_str(), lat.size(), Percentile(lat, 0.5),
      Percentile(lat, 0.99),
      lat.empty() ? 0.0 : *std::max_element(lat.begin(), lat.end()),
      Percentile(lat_load, 0.5), MaxRssKb(), stream ? "true" : "false");
  return 0;
}

// -------------------------------------------------------------- baselines

int RunBaseline(const Args& a, const std::string& what) {
  const int64_t scale = std::stoll(a.Get("scale"));
  const int reps = std::stoi(a.Get("reps", "3"));
  const int warmup = std::stoi(a.Get("warmup", "1"));
  Pg pg(PgFor(scale));
  rftgate::bench::PrepareSqlBaseline(pg);
  std::vector<double> wall, cpu;
  FindingSet findings;
  for (int r = -warmup; r < reps; ++r) {
    rftgate::bench::ResetSqlBaseline(pg);
    double c0 = CpuMs();
    auto t0 = Clock::now();
    if (what == "sql") {
      findings = rftgate::bench::RunSetBasedSql(pg);
    } else if (what == "orm") {
      findings = rftgate::bench::RunPerLine(pg);
    } else {
      int64_t records = std::stoll(a.Get("records", "0"));
      rftgate::bench::RunFloor(pg, scale, records);
    }
    auto t1 = Clock::now();
    if (r >= 0) {
      wall.push_back(Ms(t1 - t0));
      cpu.push_back(CpuMs() - c0);
    }
  }
  std::string fpath = a.Get("findings");
  if (!fpath.empty() && what != "floor") WriteFindings(fpath, findings);
  // The floor of a single-order call, on the same orders as rftgate's.
  std::vector<double> lat;
  const int singles = std::stoi(a.Get("singles", "0"));
  if (what == "floor") {
    if (singles > 0) pg.Exec("VACUUM (ANALYZE) orders");
    for (int i = -5; i < singles; ++i) {
      const int k = (i + singles) % std::max(singles, 1);
      char ref[32];
      std::snprintf(ref, sizeof ref, "SO-%07lld",
                    static_cast<long long>((k * 7919LL) % scale + 1));
      auto t0 = Clock::now();
      rftgate::bench::RunFloorSingle(pg, ref);
      if (i >= 0) lat.push_back(Ms(Clock::now() - t0));
    }
  }
  std::printf(
      "{\"what\":\"%s\",\"scale\":%lld,\"findings\":%zu,\"wall_ms\":%s,"
      "\"cpu_ms\":%s,\"single_n\":%zu,\"single_p50_ms\":%.3f,"
      "\"single_p99_ms\":%.3f,\"single_max_ms\":%.3f,\"maxrss_kb\":%ld}\n",
      what.c_str(), static_cast<long long>(scale), findings.size(),
      JsonList(wall).c_str(), JsonList(cpu).c_str(), lat.size(),
      Percentile(lat, 0.5), Percentile(lat, 0.99),
      lat.empty() ? 0.0 : *std::max_element(lat.begin(), lat.end()),
      MaxRssKb());
  return 0;
}

// Order by order: every order's findings in A and in B must be the same.
int Compare(const std::string& pa, const std::string& pb) {
  FindingSet a = ReadFindings(pa), b = ReadFindings(pb);
  std::map<std::string, std::pair<std::vector<Finding>, std::vector<Finding>>>
      diff;
  for (const auto& f : a) {
    if (!b.count(f)) diff[std::get<0>(f)].first.push_back(f);
  }
  for (const auto& f : b) {
    if (!a.count(f)) diff[std::get<0>(f)].second.push_back(f);
  }
  std::set<std::string> orders;
  for (const auto& f : a) orders.insert(std::get<0>(f));
  for (const auto& f : b) orders.insert(std::get<0>(f));
  if (diff.empty()) {
    std::printf(
        "agreement: %zu findings on %zu orders, identical order by order\n",
        a.size(), orders.size());
    return 0;
  }
  std::printf("DISAGREEMENT on %zu orders (of %zu with findings):\n",
              diff.size(), orders.size());
  int shown = 0;
  for (const auto& [order, d] : diff) {
    if (++shown > 20) break;
    for (const auto& f : d.first) {
      std::printf("  %s line %s %s: only in %s\n", order.c_str(),
                  std::get<1>(f).c_str(), std::get<2>(f).c_str(), pa.c_str());
    }
    for (const auto& f : d.second) {
      std::printf("  %s line %s %s: only in %s\n", order.c_str(),
                  std::get<1>(f).c_str(), std::get<2>(f).c_str(), pb.c_str());
    }
  }
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr,
                 "usage: rftgate_bench_e2e generate|run|compare ... (see "
                 "docs/benchmarks.md)\n");
    return 2;
  }
  Args a;
  for (int i = 2; i < argc; ++i) {
    std::string s = argv[i];
    if (s.rfind("--", 0) == 0 && i + 1 < argc) {
      a.opt[s.substr(2)] = argv[++i];
    } else {
      a.pos.push_back(s);
    }
  }
  try {
    std::string cmd = argv[1];
    if (cmd == "generate") return Generate(a);
    if (cmd == "compare" && a.pos.size() == 2) {
      return Compare(a.pos[0], a.pos[1]);
    }
    if (cmd == "run") {
      std::string what = a.Get("what");
      if (what == "rftgate-pg") return RunRftgate(a, true);
      if (what == "rftgate-pg-whole") return RunRftgate(a, true, true);
      if (what == "rftgate-sqlite") return RunRftgate(a, false);
      if (what == "sql" || what == "orm" || what == "floor") {
        return RunBaseline(a, what);
      }
    }
    std::fprintf(stderr, "rftgate_bench_e2e: bad usage\n");
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rftgate_bench_e2e: %s\n", e.what());
    return 1;
  }
}

// The demo warehouse against its ground truth. The generator plants one
// defect in about one order in five and records which (demo_ground_truth);
// the gate, loaded as a host loads it and reading the database through the
// generic SQL adapter and demo/mapping.yaml, must find every planted defect
// on the right order, line and check, and nothing it cannot explain. Also:
// checking twice leaves the same records, a retried run id changes nothing,
// fixing an order in the WMS resolves its records, a dry run writes nothing.
//
// The warehouse is generated for today's date (UTC): the gate judges orders
// against the clock (the adapter reads the order history of the last 90
// days), so a warehouse generated for another day would lose its history.
// For a given day the seed makes the warehouse identical; the expectations
// below hold for every day.
#include <sqlite3.h>

#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rftgate/host.hpp"

namespace {

namespace fs = std::filesystem;
using rftgate::host::Str;
using rftgate::host::View;
using ::testing::HasSubstr;

using Row = std::vector<std::string>;

// A read/write connection to the demo database (sqlite3 C API).
class Sqlite {
 public:
  explicit Sqlite(const fs::path& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr) !=
        SQLITE_OK) {
      ADD_FAILURE() << "cannot open " << path << ": " << sqlite3_errmsg(db_);
    }
  }
  ~Sqlite() { sqlite3_close(db_); }
  Sqlite(const Sqlite&) = delete;
  Sqlite& operator=(const Sqlite&) = delete;

  // Every row of `sql`, NULL as "<null>".
  std::vector<Row> Rows(const std::string& sql) {
    std::vector<Row> out;
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
      ADD_FAILURE() << sql << ": " << sqlite3_errmsg(db_);
      return out;
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
      Row row;
      for (int c = 0; c < sqlite3_column_count(st); ++c) {
        const unsigned char* v = sqlite3_column_text(st, c);
        row.push_back(v == nullptr ? "<null>"
                                   : reinterpret_cast<const char*>(v));
      }
      out.push_back(std::move(row));
    }
    sqlite3_finalize(st);
    return out;
  }
  std::string Value(const std::string& sql) {
    auto rows = Rows(sql);
    return rows.empty() || rows[0].empty() ? "" : rows[0][0];
  }
  long Count(const std::string& sql) { return std::stol(Value(sql)); }
  std::set<std::string> Column(const std::string& sql) {
    std::set<std::string> out;
    for (const auto& r : Rows(sql)) out.insert(r.at(0));
    return out;
  }
  void Exec(const std::string& sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      ADD_FAILURE() << sql << ": " << (err ? err : "?");
    }
    sqlite3_free(err);
  }

 private:
  sqlite3* db_ = nullptr;
};

struct Finding {
  std::string check;
  int line;
  bool block;
  std::string details;  // JSON
};

struct Verdict {
  std::string ref;
  std::string verdict;  // pass, warn, hold
  bool by_checks;
  std::vector<Finding> findings;
};

struct Outcome {
  rft_result_summary summary{};
  std::string run_id, written_to;
  std::vector<Verdict> orders;
  std::map<std::string, std::string> notes;  // check id -> message
};

Outcome Collect(const rftgate::host::Result& result) {
  Outcome run;
  run.summary = result.Summary();
  run.run_id = std::string(View(run.summary.run_id));
  run.written_to = std::string(View(run.summary.written_to));
  // A streamed result counts its orders but has none.
  const uint64_t orders = run.summary.streamed ? 0 : run.summary.orders;
  for (uint64_t i = 0; i < orders; ++i) {
    rft_order_verdict o = result.Order(i);
    Verdict v;
    v.ref = std::string(View(o.ref));
    v.verdict = o.verdict == RFT_VERDICT_PASS   ? "pass"
                : o.verdict == RFT_VERDICT_WARN ? "warn"
                                                : "hold";
    v.by_checks = o.decided_by == RFT_DECIDED_BY_CHECKS;
    for (uint64_t j = 0; j < o.finding_count; ++j) {
      rft_finding_view f = result.Finding(i, j);
      v.findings.push_back({std::string(View(f.check_id)), f.line_no,
                            f.severity == RFT_SEVERITY_BLOCK,
                            std::string(View(f.details_json))});
    }
    run.orders.push_back(std::move(v));
  }
  for (uint64_t i = 0; i < run.summary.notes; ++i) {
    rft_note n = result.Note(i);
    run.notes[std::string(View(n.check_id))] += std::string(View(n.message));
  }
  return run;
}

struct Planted {
  std::string check;
  int line;
  std::string variant;
};

// These planted defects leave their line without stock it may take (the
// assigned location holds none or may not be picked from; the only stock
// has no lot, is expired, or is too short dated for the customer). The
// finding that names the defect stands for the shortage as well: the line
// gets no stock.short, and the quantity it could not be given is in the
// finding's details ("unallocated").
const std::set<std::string> kStandsForStockShort = {
    "location.mismatch", "lot.missing", "lot.expired", "lot.shelf_life"};

// Checks that judge stock and lots: skipped on past orders, whose stock as
// it was the adapter cannot give.
const std::set<std::string> kStockChecks = {
    "stock.short",    "location.mismatch", "lot.missing",   "lot.expired",
    "lot.shelf_life", "lot.fefo",          "lot.quarantine"};

struct Agreement {
  // unallocated: planted defects of kStandsForStockShort whose finding
  // names the quantity the line could not be given.
  int planted = 0, found = 0, unallocated = 0, current_hold = 0;
  int orders_with_defects = 0, clean_orders = 0;
  std::vector<std::string> problems;
};

// Compares a run with the ground truth of `scope`, order by order.
// `customers_on_hold`: orders of these customers may carry customer.hold
// without a planted defect (past orders are judged against today's
// customers).
Agreement Compare(const Outcome& run,
                  const std::map<std::string, std::vector<Planted>>& truth,
                  const std::map<std::string, std::string>& customer_of,
                  const std::set<std::string>& customers_on_hold) {
  Agreement a;
  std::set<std::string> seen;
  for (const Verdict& v : run.orders) {
    seen.insert(v.ref);
    auto t = truth.find(v.ref);
    static const std::vector<Planted> kNone;
    const std::vector<Planted>& planted = t == truth.end() ? kNone : t->second;
    (planted.empty() ? a.clean_orders : a.orders_with_defects)++;
    if (!v.by_checks) a.problems.push_back(v.ref + ": decided by the policy");
    for (const Planted& p : planted) {
      ++a.planted;
      bool found = false, names_unallocated = false;
      for (const Finding& f : v.findings) {
        if (f.check != p.check || f.line != p.line) continue;
        found = true;
        names_unallocated |=
            f.details.find("\"unallocated\":") != std::string::npos;
      }
      if (names_unallocated && kStandsForStockShort.count(p.check) != 0) {
        ++a.unallocated;
      }
      if (found) {
        ++a.found;
      } else {
        a.problems.push_back(v.ref + ": planted " + p.check + " on line " +
                             std::to_string(p.line) + " (" + p.variant +
                             ") not found");
      }
    }
    bool any_block = false;
    for (const Finding& f : v.findings) {
      any_block |= f.block;
      bool explained = false;
      for (const Planted& p : planted) {
        if (f.check == p.check && f.line == p.line) explained = true;
      }
      if (!explained && f.check == "customer.hold" && f.line == 0) {
        auto c = customer_of.find(v.ref);
        if (c != customer_of.end() && customers_on_hold.count(c->second)) {
          explained = true;
          ++a.current_hold;
        }
      }
      if (!explained) {
        a.problems.push_back(v.ref + ": unexplained " + f.check + " on line " +
                             std::to_string(f.line));
      }
    }
    std::string expected = v.findings.empty() ? "pass"
                           : any_block        ? "hold"
                                              : "warn";
    if (v.verdict != expected) {
      a.problems.push_back(v.ref + ": verdict " + v.verdict + ", expected " +
                           expected);
    }
  }
  for (const auto& [ref, planted] : truth) {
    if (!seen.count(ref)) a.problems.push_back(ref + ": not checked");
  }
  return a;
}

std::string Today() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

std::string DaysBefore(const std::string& day, int days) {
  std::tm tm{};
  strptime(day.c_str(), "%Y-%m-%d", &tm);
  std::time_t t = timegm(&tm) - static_cast<std::time_t>(days) * 86400;
  gmtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

rft_time Date(const std::string& day) {
  std::tm tm{};
  strptime(day.c_str(), "%Y-%m-%d", &tm);
  return rft_time{static_cast<int64_t>(timegm(&tm) / 86400), RFT_TIME_DATE, 0};
}

class DemoWarehouseTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    suite_dir_ = new fs::path(fs::temp_directory_path() /
                              ("rftgate-demo-" + std::to_string(::getpid())));
    fs::remove_all(*suite_dir_);
    fs::create_directories(*suite_dir_);
    today_ = new std::string(Today());
    Generate(*suite_dir_ / "pristine.db");
  }
  static void TearDownTestSuite() {
    fs::remove_all(*suite_dir_);
    delete suite_dir_;
    delete today_;
  }

  static void Generate(const fs::path& db) {
    std::string cmd = std::string("'") + RFT_TEST_GENERATOR + "' --db '" +
                      db.string() + "' --today " + *today_ + " > '" +
                      db.string() + ".log' 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }

  void SetUp() override {
    dir_ = *suite_dir_ /
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::create_directories(dir_);
    db_path_ = dir_ / "demo.db";
    fs::copy_file(*suite_dir_ / "pristine.db", db_path_);
    plugin_ = rftgate::host::Plugin::Load(RFT_TEST_PLUGIN);
    OpenGate("");
    db_ = std::make_unique<Sqlite>(db_path_);
  }
  // The test's database as generated, and the gate opened on it again
  // with `extra`.
  void FreshDatabase(const std::string& extra) {
    db_.reset();
    fs::remove(db_path_);
    fs::copy_file(*suite_dir_ / "pristine.db", db_path_);
    db_ = std::make_unique<Sqlite>(db_path_);
    OpenGate(extra);
  }
  // (Re)opens the gate on the test's database; `extra` is more config.
  void OpenGate(const std::string& extra) {
    gate_.reset();
    std::ofstream config(dir_ / "rftgate.yaml");
    config << "adapter:\n"
           << "  name: sql\n"
           << "  library_dirs: [\"" << RFT_TEST_ADAPTER_DIR << "\"]\n"
           << "  connection: \"sqlite3://db=demo.db\"\n"
           << "  options:\n"
           << "    mapping: \"" << RFT_TEST_MAPPING << "\"\n"
           << "timezone:\n  default: Europe/Paris\n"
           << "failure_policy: hold\n"
           << "writeback:\n  apply_holds: true\n"
           << extra;
    config.close();
    gate_.emplace(plugin_->OpenFile((dir_ / "rftgate.yaml").string()));
  }
  void TearDown() override {
    db_.reset();
    gate_.reset();
  }

  Outcome Check(bool dry_run, const std::string& run_id = "") {
    rft_check_request req{};
    req.struct_size = sizeof req;
    req.selection.struct_size = sizeof req.selection;
    req.selection.mode = RFT_SELECT_READY;
    req.run_id = run_id.empty() ? rft_str{nullptr, 0} : Str(run_id);
    return Collect(gate_->Run(req, dry_run));
  }
  // The same check with the verdicts taken page by page (ABI 1.1): the
  // orders of the pages, in the sequence handed over, and the totals.
  Outcome CheckStreamed(bool dry_run, size_t* pages) {
    rft_check_request req{};
    req.struct_size = sizeof req;
    req.selection.struct_size = sizeof req.selection;
    req.selection.mode = RFT_SELECT_READY;
    std::vector<Verdict> orders;
    *pages = 0;
    Outcome run = Collect(
        gate_->Run(req, dry_run, [&](const rftgate::host::Result& page) {
          ++*pages;
          Outcome p = Collect(page);
          for (Verdict& v : p.orders) orders.push_back(std::move(v));
        }));
    EXPECT_EQ(run.summary.streamed, 1);
    EXPECT_TRUE(run.orders.empty());
    run.orders = std::move(orders);
    return run;
  }
  Outcome DryRunPast(const std::string& from, const std::string& to) {
    rft_check_request req{};
    req.struct_size = sizeof req;
    req.selection.struct_size = sizeof req.selection;
    req.selection.mode = RFT_SELECT_RANGE;
    req.selection.from = Date(from);
    req.selection.to = Date(to);
    return Collect(gate_->Run(req, true));
  }

  std::map<std::string, std::vector<Planted>> Truth(const std::string& scope) {
    std::map<std::string, std::vector<Planted>> truth;
    for (const Row& r :
         db_->Rows("SELECT order_no, check_id, line_no, COALESCE(variant, '') "
                   "FROM demo_ground_truth WHERE scope = '" +
                   scope + "'")) {
      truth[r[0]].push_back({r[1], std::stoi(r[2]), r[3]});
    }
    return truth;
  }
  std::map<std::string, std::string> CustomerOf() {
    std::map<std::string, std::string> out;
    for (const Row& r : db_->Rows("SELECT order_no, customer_code FROM orders"))
      out[r[0]] = r[1];
    return out;
  }
  std::set<std::string> CustomersOnHold() {
    return db_->Column(
        "SELECT code FROM customers WHERE credit_hold = 1 OR blocked = 1");
  }
  // The open records as (order, line, check) -> times seen.
  std::map<std::tuple<std::string, int, std::string>, std::string> Open() {
    std::map<std::tuple<std::string, int, std::string>, std::string> out;
    for (const Row& r :
         db_->Rows("SELECT order_ref, line_no, check_id, times_seen || ' ' || "
                   "first_seen_run || ' ' || last_seen_run FROM "
                   "rftgate_error_record WHERE status = 'open'")) {
      out[{r[0], std::stoi(r[1]), r[2]}] = r[3];
    }
    return out;
  }
  static std::set<std::tuple<std::string, int, std::string>> Keys(
      const Outcome& run) {
    std::set<std::tuple<std::string, int, std::string>> out;
    for (const Verdict& v : run.orders) {
      for (const Finding& f : v.findings) out.insert({v.ref, f.line, f.check});
    }
    return out;
  }
  static std::set<std::string> Held(const Outcome& run) {
    std::set<std::string> out;
    for (const Verdict& v : run.orders) {
      if (v.verdict == "hold") out.insert(v.ref);
    }
    return out;
  }
  // Everything rftgate writes, as text, to compare two moments.
  std::vector<Row> Written() {
    std::vector<Row> all;
    for (const char* sql :
         {"SELECT * FROM rftgate_run ORDER BY run_id",
          "SELECT * FROM rftgate_check_run ORDER BY id",
          "SELECT * FROM rftgate_error_record ORDER BY id",
          "SELECT * FROM rftgate_schema ORDER BY component",
          "SELECT order_no, on_hold FROM orders ORDER BY order_no"}) {
      auto rows = db_->Rows(sql);
      all.push_back({sql});
      all.insert(all.end(), rows.begin(), rows.end());
    }
    return all;
  }
  std::set<std::string> RftgateTables() {
    return db_->Column(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE "
        "'rftgate%'");
  }
  std::string FileBytes() {
    std::ifstream in(db_path_, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  static fs::path* suite_dir_;
  static std::string* today_;
  fs::path dir_, db_path_;
  std::shared_ptr<rftgate::host::Plugin> plugin_;
  std::optional<rftgate::host::Gate> gate_;
  std::unique_ptr<Sqlite> db_;
};

fs::path* DemoWarehouseTest::suite_dir_ = nullptr;
std::string* DemoWarehouseTest::today_ = nullptr;

TEST_F(DemoWarehouseTest, GroundTruthCoversTheCheckCatalogue) {
  std::set<std::string> catalogue;
  const rft_plugin_api& api = plugin_->api();
  for (uint64_t i = 0; i < api.catalogue_size(); ++i) {
    rft_check_info info{};
    info.struct_size = sizeof info;
    ASSERT_EQ(api.catalogue_entry(nullptr, i, &info), RFT_OK);
    std::string id(View(info.id));
    if (id.rfind("custom.", 0) != 0) catalogue.insert(id);
  }
  std::set<std::string> planted = db_->Column(
      "SELECT DISTINCT check_id FROM demo_ground_truth WHERE "
      "scope = 'ready'");
  EXPECT_EQ(planted, catalogue);
  // About one order in five ready for release carries a defect, one each.
  long ready = db_->Count(
      "SELECT COUNT(*) FROM orders WHERE status = "
      "'released'");
  long with_defect = db_->Count(
      "SELECT COUNT(DISTINCT order_no) FROM demo_ground_truth WHERE scope = "
      "'ready'");
  EXPECT_EQ(with_defect, db_->Count("SELECT COUNT(*) FROM demo_ground_truth "
                                    "WHERE scope = 'ready'"));
  EXPECT_EQ(ready, 300);
  EXPECT_EQ(with_defect, 60);
  // Every planted defect names what was planted.
  EXPECT_EQ(db_->Count("SELECT COUNT(*) FROM demo_ground_truth WHERE "
                       "COALESCE(variant, '') = ''"),
            0);
}

TEST_F(DemoWarehouseTest, GeneratorIsDeterministic) {
  fs::path again = dir_ / "again.db";
  Generate(again);
  Sqlite other(again);
  for (const char* sql : {
           "SELECT * FROM orders ORDER BY id",
           "SELECT * FROM order_lines ORDER BY id",
           "SELECT * FROM stock ORDER BY sku, location, lot_code",
           "SELECT * FROM lots ORDER BY sku, lot_code",
           "SELECT * FROM items ORDER BY sku",
           "SELECT * FROM customers ORDER BY code",
           "SELECT * FROM demo_ground_truth ORDER BY order_no, check_id",
       }) {
    EXPECT_EQ(db_->Rows(sql), other.Rows(sql)) << sql;
  }
}

TEST_F(DemoWarehouseTest, ReadyOrdersMatchTheGroundTruth) {
  Outcome run = Check(/*dry_run=*/true);
  auto truth = Truth("ready");
  Agreement a = Compare(run, truth, CustomerOf(), /*customers_on_hold=*/{});
  EXPECT_THAT(a.problems, ::testing::IsEmpty());
  EXPECT_EQ(run.summary.orders, 300u);
  EXPECT_EQ(a.planted, 60);
  EXPECT_EQ(a.found, a.planted);
  EXPECT_EQ(a.orders_with_defects, 60);
  // A planted defect that leaves its line without stock is one finding, not
  // two: no stock.short on its line (a.problems would name it), and the
  // quantity the line could not be given in the finding's details.
  int without_stock = 0;
  for (const auto& [ref, planted] : truth) {
    for (const Planted& p : planted)
      without_stock += kStandsForStockShort.count(p.check);
  }
  EXPECT_EQ(without_stock, 16);
  EXPECT_EQ(a.unallocated, without_stock);
  EXPECT_EQ(run.summary.passed, static_cast<uint64_t>(a.clean_orders));
  std::cout << "ready orders: " << run.summary.orders << " checked, " << a.found
            << " of " << a.planted
            << " planted defects found on the right order, line and check; "
            << a.unallocated
            << " of them leave their line short and say by how much; "
            << a.clean_orders << " clean orders passed; " << run.summary.warned
            << " warned, " << run.summary.held << " held\n";
}

TEST_F(DemoWarehouseTest, PastOrdersDryRunSkipsStockChecksAndMatches) {
  // The 90 days before today: every past order, none of today's.
  std::string from = DaysBefore(*today_, 90), to = DaysBefore(*today_, 1);
  Outcome run = DryRunPast(from, to);
  EXPECT_TRUE(run.summary.dry_run);
  EXPECT_FALSE(run.summary.written);
  EXPECT_THAT(run.written_to, HasSubstr("nothing written"));
  EXPECT_EQ(RftgateTables(), std::set<std::string>{});

  std::set<std::string> checked;
  for (const Verdict& v : run.orders) checked.insert(v.ref);
  EXPECT_EQ(checked, db_->Column("SELECT order_no FROM orders WHERE "
                                 "status IN ('shipped', 'cancelled')"));

  // Stock and lot checks are skipped, and say why.
  for (const std::string& id : kStockChecks) {
    ASSERT_TRUE(run.notes.count(id)) << id;
    EXPECT_THAT(run.notes[id], HasSubstr("skipped"));
    EXPECT_THAT(run.notes[id], HasSubstr("stock"));
  }
  for (const Verdict& v : run.orders) {
    for (const Finding& f : v.findings) {
      EXPECT_EQ(kStockChecks.count(f.check), 0u) << v.ref << " " << f.check;
    }
  }
  // Customers, like items and carriers, are judged as they are today: the
  // orders of a customer on hold today carry customer.hold.
  EXPECT_THAT(run.notes[""], HasSubstr("today"));

  auto truth = Truth("past");
  std::set<std::string> on_hold = CustomersOnHold();
  EXPECT_EQ(on_hold.size(), 1u);
  Agreement a = Compare(run, truth, CustomerOf(), on_hold);
  EXPECT_THAT(a.problems, ::testing::IsEmpty());
  EXPECT_GT(a.planted, 400);
  EXPECT_EQ(a.found, a.planted);
  EXPECT_EQ(a.unallocated, 0);  // stock is not judged on past orders
  std::cout << "past orders " << from << " to " << to << ": "
            << run.summary.orders << " checked, " << a.found << " of "
            << a.planted << " planted defects found; " << a.current_hold
            << " customer.hold on orders of a customer on hold today; "
            << a.clean_orders << " orders without a planted defect\n";
}

TEST_F(DemoWarehouseTest, CheckingTwiceLeavesTheSameRecords) {
  Outcome first = Check(/*dry_run=*/false);
  ASSERT_TRUE(first.summary.written) << first.written_to;
  EXPECT_EQ(RftgateTables(),
            (std::set<std::string>{"rftgate_check_run", "rftgate_error_record",
                                   "rftgate_run", "rftgate_schema"}));
  EXPECT_EQ(db_->Count("SELECT COUNT(*) FROM rftgate_check_run"), 300);
  EXPECT_EQ(db_->Count("SELECT COUNT(*) FROM rftgate_run"), 1);
  auto open = Open();
  std::set<std::tuple<std::string, int, std::string>> keys;
  for (const auto& [k, v] : open) {
    keys.insert(k);
    EXPECT_EQ(v, "1 " + first.run_id + " " + first.run_id);
  }
  EXPECT_EQ(keys, Keys(first));
  EXPECT_EQ(open.size(), first.summary.findings);
  EXPECT_EQ(db_->Count("SELECT COUNT(*) FROM rftgate_error_record"),
            static_cast<long>(first.summary.findings));
  EXPECT_EQ(db_->Column("SELECT order_no FROM orders WHERE on_hold = 1"),
            Held(first));

  Outcome second = Check(/*dry_run=*/false);
  ASSERT_TRUE(second.summary.written) << second.written_to;
  EXPECT_NE(second.run_id, first.run_id);
  EXPECT_EQ(Keys(second), Keys(first));
  // Check runs are appended; the records are the same ones, seen again.
  EXPECT_EQ(db_->Count("SELECT COUNT(*) FROM rftgate_check_run"), 600);
  EXPECT_EQ(db_->Count("SELECT COUNT(*) FROM rftgate_run"), 2);
  EXPECT_EQ(db_->Count("SELECT COUNT(*) FROM rftgate_error_record"),
            static_cast<long>(first.summary.findings));
  EXPECT_EQ(db_->Count("SELECT COUNT(*) FROM (SELECT 1 FROM "
                       "rftgate_error_record GROUP BY order_ref, line_no, "
                       "check_id HAVING COUNT(*) > 1)"),
            0);
  for (const auto& [k, v] : Open()) {
    EXPECT_EQ(v, "2 " + first.run_id + " " + second.run_id);
  }
  EXPECT_EQ(db_->Column("SELECT order_no FROM orders WHERE on_hold = 1"),
            Held(first));

  // A host retrying the second run with its run id changes nothing.
  auto before = Written();
  Outcome retry = Check(/*dry_run=*/false, second.run_id);
  EXPECT_EQ(retry.run_id, second.run_id);
  EXPECT_EQ(Written(), before);
}

TEST_F(DemoWarehouseTest, FixingOrdersInTheWmsResolvesTheirRecords) {
  Outcome first = Check(/*dry_run=*/false);
  ASSERT_TRUE(first.summary.written);
  std::set<std::string> hold_orders = db_->Column(
      "SELECT order_ref FROM rftgate_error_record WHERE check_id = "
      "'customer.hold'");
  ASSERT_FALSE(hold_orders.empty());
  // The customer pays: the credit hold is lifted in the WMS.
  db_->Exec("UPDATE customers SET credit_hold = 0, hold_reason = NULL");
  Outcome second = Check(/*dry_run=*/false);
  ASSERT_TRUE(second.summary.written);
  for (const Verdict& v : second.orders) {
    if (hold_orders.count(v.ref)) {
      EXPECT_EQ(v.verdict, "pass") << v.ref;
    }
  }
  EXPECT_EQ(db_->Column("SELECT order_ref FROM rftgate_error_record WHERE "
                        "status = 'resolved' AND resolved_run = '" +
                        second.run_id + "' AND open_key IS NULL"),
            hold_orders);
  EXPECT_EQ(db_->Count("SELECT COUNT(*) FROM rftgate_error_record WHERE "
                       "status = 'open'"),
            static_cast<long>(second.summary.findings));
  EXPECT_EQ(second.summary.held, first.summary.held - hold_orders.size());
  EXPECT_EQ(db_->Column("SELECT order_no FROM orders WHERE on_hold = 1"),
            Held(second));
}

// What a run wrote, without what differs from one run to the next (run ids,
// times, durations, row ids).
std::vector<Row> RecordsOfOneRun(Sqlite& db) {
  std::vector<Row> all;
  for (const char* sql :
       {"SELECT order_ref, verdict, decided_by, blocking_findings, "
        "warning_findings, site, provider, customer_ref, customer_order_ref, "
        "reason, ruleset FROM rftgate_check_run ORDER BY order_ref",
        "SELECT order_ref, line_no, line_ref, check_id, severity, message, "
        "details, status, times_seen, ruleset FROM rftgate_error_record "
        "ORDER BY order_ref, line_no, check_id",
        "SELECT orders, findings, ruleset FROM rftgate_run",
        "SELECT order_no, on_hold FROM orders ORDER BY order_no"}) {
    auto rows = db.Rows(sql);
    all.push_back({sql});
    all.insert(all.end(), rows.begin(), rows.end());
  }
  return all;
}

void PrintTo(const Verdict& v, std::ostream* os) {
  *os << v.ref << " " << v.verdict << (v.by_checks ? "" : " (policy)");
  for (const Finding& f : v.findings) {
    *os << " | line " << f.line << " " << f.check
        << (f.block ? " block " : " warn ") << f.details;
  }
}

bool operator==(const Finding& a, const Finding& b) {
  return std::tie(a.check, a.line, a.block, a.details) ==
         std::tie(b.check, b.line, b.block, b.details);
}
bool operator==(const Verdict& a, const Verdict& b) {
  return std::tie(a.ref, a.verdict, a.by_checks, a.findings) ==
         std::tie(b.ref, b.verdict, b.by_checks, b.findings);
}

// A wave checked a page at a time (wave.page_orders) gives the whole wave's
// verdicts and findings, in the same sequence, and writes the same records:
// stock taken by earlier pages is not available to later ones.
TEST_F(DemoWarehouseTest, WaveInPagesMatchesTheWholeWave) {
  OpenGate("wave:\n  page_orders: 0\n");
  Outcome whole = Check(/*dry_run=*/false);
  ASSERT_TRUE(whole.summary.written) << whole.written_to;
  ASSERT_EQ(whole.summary.orders, 300u);
  const std::vector<Row> whole_records = RecordsOfOneRun(*db_);
  for (int page : {1, 7, 64, 299}) {
    SCOPED_TRACE("page_orders " + std::to_string(page));
    FreshDatabase("wave:\n  page_orders: " + std::to_string(page) + "\n");
    Outcome paged = Check(/*dry_run=*/false);
    ASSERT_TRUE(paged.summary.written) << paged.written_to;
    EXPECT_EQ(paged.summary.orders, whole.summary.orders);
    EXPECT_EQ(paged.summary.held, whole.summary.held);
    EXPECT_EQ(paged.summary.findings, whole.summary.findings);
    ASSERT_EQ(paged.orders.size(), whole.orders.size());
    for (size_t i = 0; i < paged.orders.size(); ++i) {
      EXPECT_EQ(paged.orders[i], whole.orders[i]) << whole.orders[i].ref;
    }
    EXPECT_EQ(paged.notes, whole.notes);
    EXPECT_EQ(RecordsOfOneRun(*db_), whole_records);
    EXPECT_EQ(db_->Count("SELECT COUNT(*) FROM rftgate_run"), 1);

    // A dry run in pages gives the same verdicts and writes nothing more.
    auto before = Written();
    Outcome dry = Check(/*dry_run=*/true);
    EXPECT_EQ(Keys(dry), Keys(whole));
    EXPECT_EQ(Written(), before);
  }
}

// The same with the verdicts handed over page by page: every order once,
// in the whole wave's sequence, with the whole wave's totals and records.
TEST_F(DemoWarehouseTest, StreamedWaveMatchesTheWholeWave) {
  OpenGate("wave:\n  page_orders: 0\n");
  Outcome whole = Check(/*dry_run=*/false);
  ASSERT_TRUE(whole.summary.written) << whole.written_to;
  ASSERT_EQ(whole.summary.orders, 300u);
  const std::vector<Row> whole_records = RecordsOfOneRun(*db_);
  for (int page : {0, 7, 64, 300}) {
    SCOPED_TRACE("page_orders " + std::to_string(page));
    FreshDatabase("wave:\n  page_orders: " + std::to_string(page) + "\n");
    size_t pages = 0;
    Outcome streamed = CheckStreamed(/*dry_run=*/false, &pages);
    // 0 (not paged) and 300 (one page holds the wave) check it whole.
    EXPECT_EQ(pages, page == 0 ? 1u : (300u + page - 1) / page);
    ASSERT_TRUE(streamed.summary.written) << streamed.written_to;
    EXPECT_EQ(streamed.summary.orders, whole.summary.orders);
    EXPECT_EQ(streamed.summary.passed, whole.summary.passed);
    EXPECT_EQ(streamed.summary.warned, whole.summary.warned);
    EXPECT_EQ(streamed.summary.held, whole.summary.held);
    EXPECT_EQ(streamed.summary.findings, whole.summary.findings);
    ASSERT_EQ(streamed.orders.size(), whole.orders.size());
    for (size_t i = 0; i < streamed.orders.size(); ++i) {
      EXPECT_EQ(streamed.orders[i], whole.orders[i]) << whole.orders[i].ref;
    }
    EXPECT_EQ(streamed.notes, whole.notes);
    EXPECT_EQ(RecordsOfOneRun(*db_), whole_records);
    EXPECT_EQ(db_->Count("SELECT COUNT(*) FROM rftgate_run"), 1);

    auto before = Written();
    Outcome dry = CheckStreamed(/*dry_run=*/true, &pages);
    EXPECT_EQ(Keys(dry), Keys(whole));
    EXPECT_EQ(Written(), before);
  }
}

TEST_F(DemoWarehouseTest, DryRunWritesNothing) {
  std::string pristine = FileBytes();
  Outcome dry = Check(/*dry_run=*/true);
  EXPECT_TRUE(dry.summary.dry_run);
  EXPECT_FALSE(dry.summary.written);
  EXPECT_GT(dry.summary.held, 0u);
  EXPECT_EQ(RftgateTables(), std::set<std::string>{});
  EXPECT_EQ(db_->Count("SELECT COUNT(*) FROM orders WHERE on_hold <> 0"), 0);
  EXPECT_TRUE(FileBytes() == pristine) << "the database file changed";

  // After a real check, a dry run leaves every record as it was.
  Outcome real = Check(/*dry_run=*/false);
  ASSERT_TRUE(real.summary.written);
  auto before = Written();
  std::string bytes = FileBytes();
  Outcome again = Check(/*dry_run=*/true);
  EXPECT_EQ(Keys(again), Keys(real));
  EXPECT_EQ(Written(), before);
  EXPECT_TRUE(FileBytes() == bytes) << "the database file changed";
}

}  // namespace

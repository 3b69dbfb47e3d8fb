// Integration tests of the SQL adapter, loaded through the adapter ABI,
// against real databases: a SQLite file, and PostgreSQL and MariaDB servers
// when tests/support/with-databases.sh provides them.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <future>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <thread>

#include "adapters/common/record_store.h"
#include "tests/adapters/sql/test_wms.h"
#include "tests/support/adapter_harness.h"

namespace rftgate::testing {
namespace {

bool ServersRequired() {
  const char* v = std::getenv("RFTGATE_REQUIRE_SERVERS");
  return v != nullptr && std::string(v) == "1";
}

const AdapterLibrary& Library() {
  static const AdapterLibrary* lib =
      new AdapterLibrary(RFTGATE_SQL_ADAPTER_PATH);
  return *lib;
}

std::string MappingFile(const TestWms& wms, const std::string& text,
                        const std::string& name = "mapping.yaml") {
  std::string path = wms.dir() + "/" + wms.db_name() + name;
  std::ofstream(path) << text;
  return path;
}

// `more`: further options, e.g. "\"pipelined_pages\": false".
std::string Options(const std::string& mapping_path, bool trace = false,
                    const std::string& more = "") {
  return std::string("{\"mapping\": \"") + mapping_path + "\"" +
         (trace ? ", \"trace_statements\": true" : "") +
         (more.empty() ? "" : ", " + more) + "}";
}

std::string MappingWith(const std::string& from, const std::string& to) {
  std::string m = TestWms::Mapping();
  size_t pos = m.find(from);
  if (pos == std::string::npos) return m;
  return m.replace(pos, from.size(), to);
}

// Three orders: O1 held by two findings, O2 warned, O3 passed.
SyntheticRun FirstRun();

class SqlAdapterTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    std::string reason;
    wms_ = TestWms::Create(GetParam(), &reason, ExtraParams());
    if (!wms_) {
      if (ServersRequired()) FAIL() << reason;
      GTEST_SKIP() << reason;
    }
    mapping_path_ = MappingFile(*wms_, TestWms::Mapping());
  }
  virtual std::string ExtraParams() const { return ""; }

  std::unique_ptr<AdapterHandle> Open(LogCapture* log = nullptr,
                                      bool trace = false,
                                      const std::string& more = "") {
    rft_status status;
    std::string message;
    auto h = OpenAdapter(Library(), wms_->connection(),
                         Options(mapping_path_, trace, more), wms_->dir(), log,
                         &status, &message);
    EXPECT_EQ(status, RFT_OK) << message;
    return h;
  }

  rft_status Load(AdapterHandle& h, const rft_selection& sel,
                  RecordingSink& sink, std::string* message = nullptr) {
    TestCall call;
    rft_status s = Library().api().load(h.get(), &sel, sink.get(), call.get());
    if (message != nullptr) *message = call.message();
    EXPECT_EQ(s, RFT_OK) << call.message();
    return s;
  }

  static rft_selection Ready() {
    rft_selection s{};
    s.struct_size = sizeof s;
    s.mode = RFT_SELECT_READY;
    return s;
  }
  // The orders named in `refs` (borrowed: keep it alive while in use).
  static rft_selection ByRefs(const std::vector<rft_str>& refs) {
    rft_selection s{};
    s.struct_size = sizeof s;
    s.mode = RFT_SELECT_REFS;
    s.refs = refs.data();
    s.ref_count = refs.size();
    return s;
  }

  // Every row of rftgate's tables and the hold flags, for before/after
  // comparisons (of the test's database, or of `other`).
  std::vector<std::string> Snapshot(TestWms* other = nullptr) {
    TestWms& wms = other != nullptr ? *other : *wms_;
    std::vector<std::string> all;
    auto add = [&](const std::string& table, const std::string& cols,
                   size_t n) {
      for (auto& r : wms.Rows(
               "SELECT " + cols + " FROM " + table + " ORDER BY 1, 2, 3", n)) {
        all.push_back(table + ": " + r);
      }
    };
    // In this test's database only: MySQL's information_schema shows the
    // tables of every database on the server (other tests' too).
    std::string exists = wms.Value(
        wms.dialect() == Dialect::kSqlite
            ? "SELECT COUNT(*) FROM sqlite_master WHERE name = 'rft_errors'"
        : wms.dialect() == Dialect::kMysql
            ? "SELECT COUNT(*) FROM information_schema.tables WHERE "
              "table_name = 'rft_errors' AND table_schema = DATABASE()"
            : "SELECT COUNT(*) FROM information_schema.tables WHERE "
              "table_name = 'rft_errors'");
    if (exists == "0") return all;
    auto t = [&](const char* c) { return wms.T(c); };
    add("rftgate_run",
        t("run_id") + ", " + t("ruleset") + ", " + t("orders") + ", " +
            t("findings") + ", " + t("started_at") + ", " + t("finished_at"),
        6);
    add("rftgate_check_run",
        t("run_id") + ", " + t("order_ref") + ", " + t("verdict") + ", " +
            t("decided_by") + ", " + t("blocking_findings"),
        5);
    add("rft_errors",
        t("order_ref") + ", " + t("line_no") + ", " + t("check_id") + ", " +
            t("status") + ", " + t("times_seen") + ", " + t("first_seen_run") +
            ", " + t("last_seen_run") + ", " + t("resolved_run") + ", " +
            t("message"),
        9);
    for (auto& r : wms.Rows("SELECT " + t("ref") + ", " + t("hold_flag") +
                                " FROM wms_order ORDER BY 1",
                            2)) {
      all.push_back("hold: " + r);
    }
    return all;
  }

  // `orders` released orders, a handle, and FirstRun() written through it
  // (rftgate's tables then exist).
  std::unique_ptr<AdapterHandle> OpenAfterFirstRun(int orders) {
    wms_->AddOrders(1, orders, "released");
    auto h = Open();
    if (!h) return h;
    std::string msg;
    EXPECT_EQ(FirstRun().Write(Library().api(), h->get(), &msg), RFT_OK) << msg;
    return h;
  }

  // PostgreSQL: a trigger `name` that runs `body` (PL/pgSQL; NEW is the
  // row) before each check-run row is inserted.
  void BeforeCheckRunInsert(const std::string& name, const std::string& body) {
    wms_->Exec("CREATE FUNCTION " + name +
               "() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN " + body +
               " RETURN NEW; END $$");
    wms_->Exec("CREATE TRIGGER " + name +
               " BEFORE INSERT ON rftgate_check_run FOR EACH ROW EXECUTE "
               "FUNCTION " +
               name + "()");
  }

  // PostgreSQL: the test's connection string for a new role `role` that
  // may hold `limit` connections and use the test's tables; empty when the
  // connection string names no user. Drop it with DROP OWNED BY and DROP
  // ROLE.
  std::string ConnectionAsRole(const std::string& role, int limit) {
    wms_->Exec("DROP ROLE IF EXISTS " + role);
    wms_->Exec("CREATE ROLE " + role + " LOGIN CONNECTION LIMIT " +
               std::to_string(limit));
    wms_->Exec("GRANT ALL ON ALL TABLES IN SCHEMA public TO " + role);
    wms_->Exec("GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO " + role);
    wms_->Exec("GRANT ALL ON SCHEMA public TO " + role);
    std::string connection = wms_->connection();
    const size_t user = connection.find("user=");
    if (user == std::string::npos) return "";
    const size_t end = connection.find(' ', user);
    return connection.replace(
        user, end == std::string::npos ? std::string::npos : end - user,
        "user=" + role);
  }

  // PostgreSQL: a function `name`() that returns true, first running
  // `when_on` (PL/pgSQL) while the switch is on (SetSwitch), for a source's
  // query to call (`WHERE (SELECT name())`).
  void SwitchedFunction(const std::string& name, const std::string& when_on) {
    wms_->Exec(
        "CREATE TABLE IF NOT EXISTS rft_switch (refuse BOOLEAN NOT NULL)");
    if (wms_->Value("SELECT COUNT(*) FROM rft_switch") == "0") {
      wms_->Exec("INSERT INTO rft_switch VALUES (false)");
    }
    wms_->Exec("CREATE FUNCTION " + name +
               "() RETURNS boolean LANGUAGE plpgsql AS $$ BEGIN IF (SELECT "
               "refuse FROM rft_switch) THEN " +
               when_on + " END IF; RETURN true; END $$");
  }
  void SetSwitch(bool on) {
    wms_->Exec(std::string("UPDATE rft_switch SET refuse = ") +
               (on ? "true" : "false"));
  }

  // SingleOrderWaveStatementsArePinned, with `pipelined_pages` on or off.
  void SingleOrderWaveStatements(bool pipelined);

  size_t OpenRecords() {
    return std::stoul(
        wms_->Value("SELECT COUNT(*) FROM rft_errors WHERE status = 'open'"));
  }

  std::unique_ptr<TestWms> wms_;
  std::string mapping_path_;
};

TEST_P(SqlAdapterTest, LoadsTheReadyWaveWithExactValues) {
  wms_->AddOrders(1, 4, "released");
  wms_->AddOrders(100, 2, "shipped", 5);
  wms_->AddOrders(200, 1, "cancelled", 3);
  auto h = Open();
  ASSERT_TRUE(h);
  RecordingSink sink;
  ASSERT_EQ(Load(*h, Ready(), sink), RFT_OK);

  EXPECT_EQ(sink.capability_calls, 1);
  for (uint64_t cap :
       {RFT_CAP_ITEMS, RFT_CAP_UNITS, RFT_CAP_STOCK, RFT_CAP_LOTS,
        RFT_CAP_LOCATIONS, RFT_CAP_CUSTOMERS, RFT_CAP_CARRIERS, RFT_CAP_HISTORY,
        RFT_CAP_WEIGHTS, RFT_CAP_ADDRESSES}) {
    EXPECT_NE(sink.capabilities & cap, 0u) << cap;
  }
  EXPECT_EQ(sink.capabilities & RFT_CAP_STOCK_AS_OF, 0u);
  EXPECT_EQ(sink.capabilities & RFT_CAP_RESERVATIONS, 0u);

  ASSERT_EQ(sink.orders.size(), 4u);
  std::set<std::string> refs;
  for (const auto& o : sink.orders) refs.insert(o.ref);
  EXPECT_EQ(refs, (std::set<std::string>{"O1", "O2", "O3", "O4"}));
  const OrderRec& o1 =
      *std::find_if(sink.orders.begin(), sink.orders.end(),
                    [](const OrderRec& o) { return o.ref == "O1"; });
  EXPECT_EQ(o1.stable_id, "1");
  EXPECT_EQ(o1.customer_ref, "C2");
  EXPECT_EQ(o1.postcode, "75001");
  EXPECT_EQ(o1.status_text, "released");
  EXPECT_EQ(o1.priority, 1);
  EXPECT_FALSE(o1.street.has_value());
  EXPECT_EQ(o1.ship_date.kind, RFT_TIME_DATE);
  int64_t today = adapters::NowUnixUs() / 86400000000LL;
  EXPECT_EQ(o1.ship_date.value, today + 1);
  EXPECT_EQ(o1.created_at.kind, RFT_TIME_LOCAL);
  EXPECT_EQ(o1.created_at.value,
            (today * 86400LL + 10 * 3600 + 15 * 60) * 1000000LL);

  ASSERT_EQ(sink.lines.size(), 12u);
  for (const auto& l : sink.lines) {
    EXPECT_EQ(DecimalText(l.qty), l.line_no == 2 ? "2.5" : "4");
    if (l.line_no == 1) {
      EXPECT_EQ(l.location, "A-01");
    } else {
      EXPECT_FALSE(l.location.has_value());
    }
    EXPECT_EQ(l.uom, l.line_no == 3 ? "CS" : "EA");
  }
  // Only the SKUs on the wave's lines.
  std::set<std::string> wave_skus;
  for (const auto& l : sink.lines) wave_skus.insert(*l.sku);
  std::set<std::string> item_skus;
  for (const auto& i : sink.items) {
    item_skus.insert(i.sku);
    EXPECT_EQ(DecimalText(i.unit_weight_kg), "0.125");
    EXPECT_EQ(i.active, i.sku == "S9" ? RFT_FLAG_NO : RFT_FLAG_YES);
  }
  EXPECT_EQ(item_skus, wave_skus);
  for (const auto& s : sink.stock) {
    EXPECT_EQ(DecimalText(s.on_hand), "1000.5");
    EXPECT_EQ(DecimalText(s.reserved_qty), "3");
  }
  for (const auto& l : sink.lots) {
    EXPECT_EQ(l.expiry.kind, RFT_TIME_DATE);
    EXPECT_EQ(l.status, l.sku == "S4" ? RFT_LOT_QUARANTINE : RFT_LOT_RELEASED);
  }
  std::set<std::string> customers;
  for (const auto& c : sink.customers) customers.insert(c.ref);
  EXPECT_EQ(customers, (std::set<std::string>{"C2", "C3", "C4", "C5"}));
  ASSERT_EQ(sink.carriers.size(), 2u);
  for (const auto& c : sink.carriers) {
    if (c.code == "PARCEL") {
      EXPECT_EQ(c.cutoff_minute, 16 * 60 + 30);
      EXPECT_EQ(DecimalText(c.max_parcel_weight_kg), "31.5");
      EXPECT_EQ(c.hazmat_allowed, RFT_FLAG_NO);
    } else {
      EXPECT_EQ(c.cutoff_minute, -1);
      EXPECT_EQ(DecimalText(c.max_parcel_weight_kg), "null");
    }
  }
  // History: shipped orders of the wave's customers (O100 is C1's, outside
  // the wave), cancelled left out.
  std::set<std::string> history_orders;
  for (const auto& hl : sink.history) history_orders.insert(hl.order_ref);
  EXPECT_EQ(history_orders, (std::set<std::string>{"O101"}));
}

TEST_P(SqlAdapterTest, LoadsOrdersByRefsAndByDateRange) {
  wms_->AddOrders(1, 6, "released");
  wms_->AddOrders(50, 3, "shipped", 20);
  auto h = Open();
  ASSERT_TRUE(h);
  std::vector<std::string> wanted = {"O2", "O5", "O50", "nope", "O'1"};
  std::vector<rft_str> refs;
  for (const auto& w : wanted) refs.push_back(Borrow(w));
  rft_selection sel = ByRefs(refs);
  RecordingSink by_refs;
  ASSERT_EQ(Load(*h, sel, by_refs), RFT_OK);
  std::set<std::string> got;
  for (const auto& o : by_refs.orders) got.insert(o.ref);
  EXPECT_EQ(got, (std::set<std::string>{"O2", "O5", "O50"}));
  EXPECT_EQ(by_refs.lines.size(), 9u);

  int64_t today = adapters::NowUnixUs() / 86400000000LL;
  rft_selection range{};
  range.struct_size = sizeof range;
  range.mode = RFT_SELECT_RANGE;
  range.from = rft_time{today - 25, RFT_TIME_DATE, 0};
  range.to = rft_time{today - 20, RFT_TIME_DATE, 0};
  RecordingSink past;
  ASSERT_EQ(Load(*h, range, past), RFT_OK);
  got.clear();
  for (const auto& o : past.orders) got.insert(o.ref);
  EXPECT_EQ(got, (std::set<std::string>{"O50", "O51", "O52"}));
  EXPECT_EQ(past.capabilities & RFT_CAP_STOCK_AS_OF, 0u);

  range.max_orders = 2;
  RecordingSink limited;
  ASSERT_EQ(Load(*h, range, limited), RFT_OK);
  EXPECT_EQ(limited.orders.size(), 2u);
  EXPECT_EQ(limited.lines.size(), 6u);
}

// A WMS whose columns have a collation of their own (not the server's or
// the connection's): refs still select their orders, few or many.
TEST_P(SqlAdapterTest, RefsMatchColumnsOfAnyCollation) {
  if (wms_->dialect() != Dialect::kMysql) {
    GTEST_SKIP() << "collations per column are MariaDB's";
  }
  wms_->Exec(
      "ALTER TABLE wms_order MODIFY ref VARCHAR(40) CHARACTER SET utf8mb4 "
      "COLLATE utf8mb4_swedish_ci");
  wms_->AddOrders(1, 700, "released");
  auto h = Open();
  ASSERT_TRUE(h);
  for (size_t n : {size_t{3}, size_t{650}}) {
    std::vector<std::string> wanted;
    for (size_t i = 1; i <= n; ++i) wanted.push_back("O" + std::to_string(i));
    wanted.push_back("nope");
    std::vector<rft_str> refs;
    for (const auto& w : wanted) refs.push_back(Borrow(w));
    rft_selection sel = ByRefs(refs);
    RecordingSink sink;
    ASSERT_EQ(Load(*h, sel, sink), RFT_OK) << n << " refs";
    EXPECT_EQ(sink.orders.size(), n);
  }
}

TEST_P(SqlAdapterTest, BatchesRecordsIntoTheSink) {
  wms_->AddOrders(1, 1500, "released");
  auto h = Open();
  ASSERT_TRUE(h);
  RecordingSink sink;
  ASSERT_EQ(Load(*h, Ready(), sink), RFT_OK);
  EXPECT_EQ(sink.orders.size(), 1500u);
  EXPECT_EQ(sink.lines.size(), 4500u);
  EXPECT_EQ(sink.max_batch, 1024u);
}

SyntheticRun FirstRun() {
  SyntheticRun run;
  run.run_id = "run-1";
  run.rows = {{"O1", RFT_VERDICT_HOLD},
              {"O2", RFT_VERDICT_WARN},
              {"O3", RFT_VERDICT_PASS}};
  run.findings = {{"O1", 1, "stock.short"},
                  {"O1", 0, "customer.hold"},
                  {"O2", 2, "qty.outlier", RFT_SEVERITY_WARN}};
  return run;
}

TEST_P(SqlAdapterTest, WriteBackUpsertsAndResolves) {
  wms_->AddOrders(1, 3, "released");
  auto h = Open();
  ASSERT_TRUE(h);
  std::string msg;
  SyntheticRun run1 = FirstRun();
  run1.apply_holds = true;
  ASSERT_EQ(run1.Write(Library().api(), h->get(), &msg), RFT_OK) << msg;
  EXPECT_EQ(OpenRecords(), 3u);
  EXPECT_EQ(wms_->Value("SELECT COUNT(*) FROM rftgate_check_run"), "3");
  EXPECT_EQ(wms_->Value("SELECT " + wms_->T("hold_flag") +
                        " FROM wms_order WHERE ref = 'O1'"),
            "1");
  EXPECT_EQ(wms_->Value("SELECT " + wms_->T("hold_flag") +
                        " FROM wms_order WHERE ref = 'O2'"),
            "0");
  EXPECT_EQ(wms_->Value("SELECT " + wms_->T("details") +
                        " FROM rft_errors WHERE check_id = 'stock.short'"),
            "{\"observed\": 1}");

  // The same run id again: nothing changes.
  auto before = Snapshot();
  ASSERT_EQ(run1.Write(Library().api(), h->get(), &msg), RFT_OK) << msg;
  EXPECT_EQ(Snapshot(), before);

  // A second run sees the same findings: no new rows, times_seen grows.
  SyntheticRun run2 = FirstRun();
  run2.run_id = "run-2";
  ASSERT_EQ(run2.Write(Library().api(), h->get(), &msg), RFT_OK) << msg;
  EXPECT_EQ(wms_->Value("SELECT COUNT(*) FROM rft_errors"), "3");
  EXPECT_EQ(wms_->Value("SELECT MIN(times_seen) FROM rft_errors"), "2");
  EXPECT_EQ(wms_->Value("SELECT COUNT(*) FROM rftgate_check_run"), "6");
  EXPECT_EQ(wms_->Value("SELECT " + wms_->T("first_seen_run") +
                        " FROM rft_errors WHERE check_id = 'stock.short'"),
            "run-1");

  // Run 3: O1 passes; O2 still has a finding, but another one; O3 was
  // decided by the failure policy and is left alone.
  SyntheticRun run3;
  run3.run_id = "run-3";
  run3.rows = {{"O1", RFT_VERDICT_PASS},
               {"O2", RFT_VERDICT_WARN},
               {"O3", RFT_VERDICT_HOLD, RFT_DECIDED_BY_FAILURE_POLICY}};
  run3.findings = {{"O2", 3, "uom.mismatch", RFT_SEVERITY_WARN}};
  ASSERT_EQ(run3.Write(Library().api(), h->get(), &msg), RFT_OK) << msg;
  EXPECT_EQ(wms_->Value("SELECT COUNT(*) FROM rft_errors WHERE status = "
                        "'resolved' AND resolved_run = 'run-3'"),
            "3");
  EXPECT_EQ(OpenRecords(), 1u);
  EXPECT_EQ(wms_->Value("SELECT " + wms_->T("check_id") +
                        " FROM rft_errors WHERE status = 'open'"),
            "uom.mismatch");

  // The finding comes back after being resolved: a new open record.
  SyntheticRun run4 = FirstRun();
  run4.run_id = "run-4";
  ASSERT_EQ(run4.Write(Library().api(), h->get(), &msg), RFT_OK) << msg;
  EXPECT_EQ(OpenRecords(), 3u);
  EXPECT_EQ(wms_->Value("SELECT COUNT(*) FROM rft_errors"), "7");
}

// Values that mean something in SQL or in a PostgreSQL array literal are
// written as they are.
// A release call of a few orders binds its values as text; a wave of more
// (on PostgreSQL, in binary form): both keep every character.
TEST_P(SqlAdapterTest, WriteBackKeepsValuesExactly) {
  wms_->AddOrders(1, 200, "released");
  auto h = Open();
  ASSERT_TRUE(h);
  const std::string odd =
      "say \"hi\" \\ back\\slash {a,b} NULL 'quoted' ; -- \u00e9t\u00e9";
  for (int orders : {2, 200}) {
    SCOPED_TRACE(std::to_string(orders) + " orders");
    const std::string ref = orders == 2 ? "O1" : "O150";
    SyntheticRun run;
    run.run_id = "odd-values-" + std::to_string(orders);
    for (int i = 1; i <= orders; ++i) {
      const std::string r = "O" + std::to_string(i);
      run.rows.push_back({r, r == ref ? RFT_VERDICT_HOLD : RFT_VERDICT_PASS});
      if (r == ref) run.rows.back().customer = "NULL";
    }
    run.findings = {{ref, 1, "stock.short"}, {ref, 2, "lot.expired"}};
    run.findings[0].message = odd;
    run.findings[0].details = "{\"path\": \"C:\\\\x\", \"q\": \"\\\"\"}";
    run.findings[1].message = "";
    std::string msg;
    ASSERT_EQ(run.Write(Library().api(), h->get(), &msg), RFT_OK) << msg;
    const std::string where = " FROM rft_errors WHERE order_ref = '" + ref +
                              "' AND status = 'open' AND line_no = ";
    EXPECT_EQ(wms_->Value("SELECT " + wms_->T("message") + where + "1"), odd);
    EXPECT_EQ(wms_->Value("SELECT " + wms_->T("details") + where + "1"),
              run.findings[0].details);
    EXPECT_EQ(wms_->Value("SELECT " + wms_->T("message") + where + "2"), "");
    EXPECT_EQ(wms_->Value("SELECT " + wms_->T("details") + where + "2"),
              run.findings[1].details);
    const std::string runs =
        " FROM rftgate_check_run WHERE run_id = '" + run.run_id + "'";
    EXPECT_EQ(wms_->Value("SELECT " + wms_->T("customer_ref") + runs +
                          " AND order_ref = '" + ref + "'"),
              "NULL");
    EXPECT_EQ(
        wms_->Value("SELECT COUNT(*)" + runs + " AND customer_ref IS NULL"),
        "0");
    EXPECT_EQ(wms_->Value("SELECT COUNT(*)" + runs + " AND provider IS NULL"),
              std::to_string(orders));
    EXPECT_EQ(wms_->Value("SELECT COUNT(*)" + runs), std::to_string(orders));
  }
}

TEST_P(SqlAdapterTest, FailurePolicyOrdersKeepTheirOpenRecords) {
  wms_->AddOrders(1, 3, "released");
  auto h = Open();
  ASSERT_TRUE(h);
  std::string msg;
  ASSERT_EQ(FirstRun().Write(Library().api(), h->get(), &msg), RFT_OK) << msg;
  SyntheticRun down;
  down.run_id = "run-down";
  down.rows = {{"O1", RFT_VERDICT_HOLD, RFT_DECIDED_BY_FAILURE_POLICY},
               {"O2", RFT_VERDICT_HOLD, RFT_DECIDED_BY_FAILURE_POLICY}};
  ASSERT_EQ(down.Write(Library().api(), h->get(), &msg), RFT_OK) << msg;
  EXPECT_EQ(OpenRecords(), 3u);
  EXPECT_EQ(wms_->Value("SELECT COUNT(*) FROM rftgate_check_run WHERE "
                        "decided_by = 'failure_policy'"),
            "2");
}

TEST_P(SqlAdapterTest, WritesLargeRunsInChunks) {
  wms_->AddOrders(1, 1200, "released");
  auto h = Open();
  ASSERT_TRUE(h);
  SyntheticRun run;
  run.run_id = "big";
  for (int i = 1; i <= 1200; ++i) {
    std::string ref = "O" + std::to_string(i);
    run.rows.push_back({ref, RFT_VERDICT_HOLD});
    run.findings.push_back({ref, 1, "stock.short"});
  }
  run.findings.push_back({"O1", 1, "stock.short"});  // a repeat in the batch
  std::string msg;
  ASSERT_EQ(run.Write(Library().api(), h->get(), &msg), RFT_OK) << msg;
  EXPECT_EQ(OpenRecords(), 1200u);
  run.run_id = "big-2";
  ASSERT_EQ(run.Write(Library().api(), h->get(), &msg), RFT_OK) << msg;
  EXPECT_EQ(OpenRecords(), 1200u);
  EXPECT_EQ(wms_->Value("SELECT MAX(times_seen) FROM rft_errors"), "2");
}

// PostgreSQL builds the next statement of a large run while the server
// runs this one: a statement that fails in the middle of the run leaves
// nothing written, stops the statement built ahead, and the run can be
// written again.
TEST_P(SqlAdapterTest, LargeRunFailingHalfWayWritesNothing) {
  if (wms_->dialect() != Dialect::kPostgres) {
    GTEST_SKIP() << "statements built ahead: PostgreSQL only";
  }
  wms_->AddOrders(1, 16000, "released");
  auto h = Open();
  ASSERT_TRUE(h);
  std::string msg;
  ASSERT_EQ(FirstRun().Write(Library().api(), h->get(), &msg), RFT_OK) << msg;
  // Orders in ref order, 1,000 in the first statement and 5,000 in each
  // other: O12699 is in the second of four, when the third waits built and
  // the fourth is being built.
  BeforeCheckRunInsert("rft_refuse_one",
                       "IF NEW.order_ref = 'O12699' THEN RAISE EXCEPTION "
                       "'order O12699 refused'; END IF;");
  SyntheticRun run;
  run.run_id = "big";
  for (int i = 1; i <= 16000; ++i) {
    const std::string ref = "O" + std::to_string(i);
    run.rows.push_back({ref, i % 3 == 0 ? RFT_VERDICT_HOLD : RFT_VERDICT_PASS});
    if (i % 3 == 0) run.findings.push_back({ref, 1, "stock.short"});
  }
  const auto before = Snapshot();
  EXPECT_EQ(run.Write(Library().api(), h->get(), &msg), RFT_ERR_DATABASE);
  EXPECT_NE(msg.find("order O12699 refused"), std::string::npos) << msg;
  EXPECT_EQ(Snapshot(), before);
  wms_->Exec("DROP TRIGGER rft_refuse_one ON rftgate_check_run");
  ASSERT_EQ(run.Write(Library().api(), h->get(), &msg), RFT_OK) << msg;
  EXPECT_EQ(wms_->Value("SELECT COUNT(*) FROM rftgate_check_run WHERE "
                        "run_id = 'big'"),
            "16000");
  EXPECT_EQ(wms_->Value("SELECT COUNT(*) FROM rft_errors WHERE "
                        "last_seen_run = 'big'"),
            "5333");
}

TEST_P(SqlAdapterTest, DescribeReportsBackendOrdersAndSchemaVersion) {
  wms_->AddOrders(1, 7, "released");
  wms_->AddOrders(10, 2, "ready");
  auto h = Open();
  ASSERT_TRUE(h);
  auto describe = [&] {
    std::map<std::string, std::string> kv;
    TestCall call;
    auto emit = [](void* ctx, rft_str k, rft_str v) {
      (*static_cast<std::map<std::string, std::string>*>(ctx))[*Own(k)] =
          *Own(v);
    };
    EXPECT_EQ(Library().api().describe(h->get(), emit, &kv, call.get()), RFT_OK)
        << call.message();
    return kv;
  };
  auto kv = describe();
  EXPECT_EQ(kv["backend"], GetParam());
  EXPECT_EQ(kv["orders ready for release"], "9");
  EXPECT_NE(kv["rftgate schema version"].find("none"), std::string::npos);
  EXPECT_EQ(kv.count("rftgate records written"), 0u);
  EXPECT_NE(kv["sources"].find("orders=wms_order"), std::string::npos);
  EXPECT_NE(kv["records"].find("rft_errors"), std::string::npos);
  EXPECT_NE(kv["records"].find("rftgate_check_run"), std::string::npos);
  std::string msg;
  ASSERT_EQ(FirstRun().Write(Library().api(), h->get(), &msg), RFT_OK) << msg;
  kv = describe();
  EXPECT_EQ(kv["rftgate schema version"], "2");
  EXPECT_EQ(kv["rftgate records written"],
            "1 runs, 3 check-run rows, 3 findings");
  EXPECT_EQ(wms_->Value("SELECT " + wms_->T("version") +
                        " FROM rftgate_schema WHERE component = 'records'"),
            "2");
}

TEST_P(SqlAdapterTest, RefusesANewerSchemaVersion) {
  wms_->AddOrders(1, 3, "released");
  auto h = Open();
  ASSERT_TRUE(h);
  std::string msg;
  ASSERT_EQ(FirstRun().Write(Library().api(), h->get(), &msg), RFT_OK) << msg;
  wms_->Exec("UPDATE rftgate_schema SET version = 99");
  auto before = Snapshot();
  SyntheticRun run = FirstRun();
  run.run_id = "after-upgrade";
  EXPECT_EQ(run.Write(Library().api(), h->get(), &msg), RFT_ERR_DATABASE);
  EXPECT_NE(msg.find("schema version 99"), std::string::npos) << msg;
  EXPECT_EQ(Snapshot(), before);
}

// Schema 1 had a primary key on the check-run table's id on every backend;
// schema 2 drops it on PostgreSQL (one index entry less per order checked),
// in the first write after the upgrade, and keeps every row.
TEST_P(SqlAdapterTest, MigratesSchemaOneToTwo) {
  wms_->AddOrders(1, 3, "released");
  auto h = Open();
  ASSERT_TRUE(h);
  std::string msg;
  ASSERT_EQ(FirstRun().Write(Library().api(), h->get(), &msg), RFT_OK) << msg;
  const bool pg = wms_->dialect() == Dialect::kPostgres;
  const std::string pk_count =
      "SELECT COUNT(*) FROM pg_constraint WHERE conrelid = "
      "'rftgate_check_run'::regclass AND contype = 'p'";
  if (pg) {
    EXPECT_EQ(wms_->Value(pk_count), "0");
    // The tables as schema 1 left them.
    wms_->Exec("ALTER TABLE rftgate_check_run ADD PRIMARY KEY (id)");
    EXPECT_EQ(wms_->Value(pk_count), "1");
  }
  wms_->Exec("UPDATE rftgate_schema SET version = 1");
  SyntheticRun run = FirstRun();
  run.run_id = "after-upgrade";
  ASSERT_EQ(run.Write(Library().api(), h->get(), &msg), RFT_OK) << msg;
  EXPECT_EQ(wms_->Value("SELECT " + wms_->T("version") +
                        " FROM rftgate_schema WHERE component = 'records'"),
            "2");
  EXPECT_EQ(wms_->Value("SELECT COUNT(*) FROM rftgate_check_run"), "6");
  EXPECT_EQ(wms_->Value("SELECT COUNT(DISTINCT id) FROM rftgate_check_run"),
            "6");
  if (pg) {
    EXPECT_EQ(wms_->Value(pk_count), "0");
    // (run_id, order_ref) is still unique, order_ref still has its index.
    EXPECT_THROW(wms_->Exec("INSERT INTO rftgate_check_run (run_id, order_ref, "
                            "verdict, decided_by, blocking_findings, "
                            "warning_findings, duration_us, checked_at) SELECT "
                            "run_id, order_ref, verdict, decided_by, 0, 0, 0, "
                            "checked_at FROM rftgate_check_run LIMIT 1"),
                 std::exception);
    EXPECT_EQ(
        wms_->Value("SELECT COUNT(*) FROM pg_indexes WHERE tablename = "
                    "'rftgate_check_run' AND indexdef LIKE '%(order_ref)'"),
        "1");
  }
}

// A check-run table published for logical replication keeps its key (its
// replica identity); the step is done all the same, and writes go on.
TEST_P(SqlAdapterTest, MigrationKeepsTheKeyOfAPublishedTable) {
  if (wms_->dialect() != Dialect::kPostgres) {
    GTEST_SKIP() << "schema 2 changes nothing elsewhere";
  }
  wms_->AddOrders(1, 3, "released");
  auto h = Open();
  ASSERT_TRUE(h);
  std::string msg;
  ASSERT_EQ(FirstRun().Write(Library().api(), h->get(), &msg), RFT_OK) << msg;
  wms_->Exec("ALTER TABLE rftgate_check_run ADD PRIMARY KEY (id)");
  wms_->Exec("UPDATE rftgate_schema SET version = 1");
  wms_->Exec("DROP PUBLICATION IF EXISTS rft_reports");
  wms_->Exec("CREATE PUBLICATION rft_reports FOR TABLE rftgate_check_run");
  SyntheticRun run = FirstRun();
  run.run_id = "published";
  const bool written = run.Write(Library().api(), h->get(), &msg) == RFT_OK;
  wms_->Exec("DROP PUBLICATION rft_reports");
  ASSERT_TRUE(written) << msg;
  EXPECT_EQ(wms_->Value("SELECT version FROM rftgate_schema WHERE component "
                        "= 'records'"),
            "2");
  EXPECT_EQ(wms_->Value("SELECT COUNT(*) FROM pg_constraint WHERE conrelid = "
                        "'rftgate_check_run'::regclass AND contype = 'p'"),
            "1");
}

// Counts the statements the database runs for a load, on the database's
// side: SQLite's trace hook, pg_stat_statements, MariaDB's general log.
class StatementCounter {
 public:
  explicit StatementCounter(TestWms& wms) : wms_(wms) {}

  // Returns false (with a reason) when counting is not available.
  bool Start(std::string* reason) {
    switch (wms_.dialect()) {
      case Dialect::kSqlite:
        return true;
      case Dialect::kPostgres:
        try {
          wms_.Exec("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
          wms_.Value("SELECT CAST(pg_stat_statements_reset() AS text)");
        } catch (const std::exception& e) {
          *reason = std::string("pg_stat_statements unavailable: ") + e.what();
          return false;
        }
        return true;
      case Dialect::kMysql:
        wms_.admin()->Exec("SET GLOBAL log_output = 'TABLE'");
        wms_.admin()->Exec("SET GLOBAL general_log = 1");
        wms_.admin()->Exec("TRUNCATE TABLE mysql.general_log");
        return true;
    }
    return false;
  }

  // Statements run since Start() by sessions other than the counter's own.
  size_t Count(LogCapture& log) {
    switch (wms_.dialect()) {
      case Dialect::kSqlite:
        return log.CountPrefix("sqlite statement: ");
      case Dialect::kPostgres:
        return std::stoul(wms_.Value(
            "SELECT " + wms_.T("COALESCE(SUM(s.calls), 0)") +
            " FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid "
            "WHERE d.datname = current_database() AND s.toplevel AND "
            "s.query NOT LIKE "
            "'%pg_stat_statements%' AND s.query NOT LIKE '%EXTENSION%'"));
      case Dialect::kMysql: {
        auto n = std::stoul(
            wms_.admin()
                ->QueryValue("SELECT CAST(COUNT(*) AS CHAR) FROM "
                             "mysql.general_log WHERE command_type = "
                             "'Query' AND thread_id <> CONNECTION_ID() "
                             "AND argument NOT LIKE '%general_log%'")
                .value_or("0"));
        return n;
      }
    }
    return 0;
  }
  void Stop() {
    if (wms_.dialect() == Dialect::kMysql) {
      wms_.admin()->Exec("SET GLOBAL general_log = 0");
    }
  }

 private:
  TestWms& wms_;
};

TEST_P(SqlAdapterTest, LoadQueriesDoNotGrowWithTheWave) {
  wms_->AddOrders(1, 5, "released");
  wms_->AddOrders(1000, 20, "shipped", 10);
  LogCapture log;
  auto h = Open(&log, /*trace=*/true);
  ASSERT_TRUE(h);
  // The first load opens the second connection (PostgreSQL): not counted.
  RecordingSink warm;
  ASSERT_EQ(Load(*h, Ready(), warm), RFT_OK);
  StatementCounter counter(*wms_);
  std::string reason;
  if (!counter.Start(&reason)) {
    if (ServersRequired()) FAIL() << reason;
    GTEST_SKIP() << reason;
  }
  log.Clear();
  size_t base = counter.Count(log);
  RecordingSink small;
  ASSERT_EQ(Load(*h, Ready(), small), RFT_OK);
  size_t small_count = counter.Count(log) - base;
  ASSERT_EQ(small.orders.size(), 5u);

  wms_->AddOrders(5000, 2000, "released");
  ASSERT_TRUE(counter.Start(&reason)) << reason;
  log.Clear();
  base = counter.Count(log);
  RecordingSink large;
  ASSERT_EQ(Load(*h, Ready(), large), RFT_OK);
  size_t large_count = counter.Count(log) - base;
  counter.Stop();
  ASSERT_EQ(large.orders.size(), 2005u);
  ASSERT_EQ(large.lines.size(), 6015u);

  EXPECT_GT(small_count, 0u);
  EXPECT_EQ(small_count, large_count);
  // One query per source, and on PostgreSQL the transaction statements of
  // two connections (BEGIN, its SET LOCALs, the exported snapshot, COMMIT).
  EXPECT_LE(large_count, wms_->dialect() == Dialect::kPostgres ? 20u : 16u);
  RecordProperty("statements_per_load", std::to_string(large_count));
}

// A wave naming many SKUs (on PostgreSQL, more than the adapter binds as
// one `= ANY` array: there the stock, lots and units are read through a
// join with the unnested array) reads every stock row, lot and unit of
// each of them, outside a wave and inside one, and nothing of the SKUs it
// does not name.
TEST_P(SqlAdapterTest, WaveOfManySkusReadsEachOnesStockLotsAndUnits) {
  constexpr int kSkus = 600;
  std::string items = "INSERT INTO wms_item VALUES ";
  std::string packs = "INSERT INTO wms_pack VALUES ";
  std::string stock = "INSERT INTO wms_stock VALUES ";
  std::string lots = "INSERT INTO wms_lot VALUES ";
  std::string order =
      "INSERT INTO wms_order (id, ref, customer, state, ship_date, created, "
      "released, prio, service, postcode, country) VALUES (9000, 'MANY', 'C1', "
      "'released', '" +
      TestWms::DaysAgo(-1) + "', '" + TestWms::DaysAgo(0) + " 10:00:00', '" +
      TestWms::DaysAgo(0) + " 11:00:00', 1, 'PARCEL', '75001', 'FR')";
  std::string lines =
      "INSERT INTO wms_line (id, order_id, pos, sku, qty, "
      "uom, loc, lot) VALUES ";
  for (int i = 0; i < kSkus + 50; ++i) {
    const std::string sku = "M" + std::to_string(1000 + i);
    const std::string sep = i > 0 ? ", " : "";
    items += sep + "('" + sku + "', 1, 1, 0.5, 'EA')";
    packs += sep + "('" + sku + "', 'CS', 6), ('" + sku + "', 'PL', 480)";
    stock += sep + "('" + sku + "', 'A-01', 'LA" + std::to_string(i) +
             "', 10, 0), ('" + sku + "', 'BULK', 'LB" + std::to_string(i) +
             "', 20, 1)";
    lots += sep + "('" + sku + "', 'LA" + std::to_string(i) +
            "', '2031-12-31', 'released'), ('" + sku + "', 'LB" +
            std::to_string(i) + "', '2032-06-30', 'released')";
    // The last 50 SKUs are on no line of the wave.
    if (i < kSkus) {
      lines += sep + "(" + std::to_string(90000 + i) + ", 9000, " +
               std::to_string(i + 1) + ", '" + sku + "', 1, 'EA', NULL, NULL)";
    }
  }
  for (const std::string* sql :
       {&items, &packs, &stock, &lots, &order, &lines}) {
    wms_->Exec(*sql);
  }
  auto h = Open();
  ASSERT_TRUE(h);
  auto check = [&](const RecordingSink& sink, const char* where) {
    SCOPED_TRACE(where);
    std::map<std::string, int> stock_rows, lot_rows;
    for (const auto& s : sink.stock) {
      if (s.sku[0] == 'M') ++stock_rows[s.sku];
    }
    for (const auto& l : sink.lots) {
      if (l.sku[0] == 'M')
        ++lot_rows[l.lot.substr(0, 2) == "LA" ? l.sku : l.sku + "/b"];
    }
    size_t items_read = 0;
    for (const auto& it : sink.items) items_read += it.sku[0] == 'M';
    EXPECT_EQ(items_read, size_t{kSkus});
    EXPECT_EQ(stock_rows.size(), size_t{kSkus});
    EXPECT_EQ(lot_rows.size(), size_t{2 * kSkus});
    for (int i = 0; i < kSkus; ++i) {
      const std::string sku = "M" + std::to_string(1000 + i);
      EXPECT_EQ(stock_rows[sku], 2) << sku;
      EXPECT_EQ(lot_rows[sku], 1) << sku;
      EXPECT_EQ(lot_rows[sku + "/b"], 1) << sku;
    }
    EXPECT_EQ(stock_rows.count("M" + std::to_string(1000 + kSkus)), 0u);
    // Two units per SKU (CS, PL) besides the tiny WMS's own.
    EXPECT_GE(sink.counts.at(RFT_REC_ITEM_UNIT), size_t{2 * kSkus});
  };
  std::vector<std::string> wanted = {"MANY"};
  std::vector<rft_str> refs = {Borrow(wanted[0])};
  RecordingSink outside;
  ASSERT_EQ(Load(*h, ByRefs(refs), outside), RFT_OK);
  check(outside, "outside a wave");
  RecordingSink ready;
  ASSERT_EQ(Load(*h, Ready(), ready), RFT_OK);
  check(ready, "the ready wave");

  // Inside an open wave, the first load of the SKUs reads them the same.
  const rft_adapter_api& api = Library().api();
  SyntheticRun run = FirstRun();
  run.run_id = "many-skus";
  const SyntheticRun::Abi abi = run.ToAbi();
  std::string msg;
  ASSERT_EQ(SyntheticRun::WriteBegin(api, h->get(), abi.run, &msg), RFT_OK)
      << msg;
  RecordingSink inside;
  ASSERT_EQ(Load(*h, ByRefs(refs), inside), RFT_OK);
  check(inside, "inside a wave");
  TestCall abort;
  ASSERT_EQ(api.write_abort(h->get(), abort.get()), RFT_OK) << abort.message();
}

// PostgreSQL: a wave's SKUs find the stock rows the SKU column's own
// equality finds, whatever the number of SKUs (below and above the size
// from which they are looked up through the unnested array): here a
// case-insensitive column (citext) holding the SKUs in lower case.
TEST_P(SqlAdapterTest, ManySkusCompareAsTheColumnDoes) {
  if (wms_->dialect() != Dialect::kPostgres) GTEST_SKIP() << "PostgreSQL";
  wms_->Exec("CREATE EXTENSION IF NOT EXISTS citext");
  wms_->Exec("ALTER TABLE wms_stock ALTER COLUMN sku TYPE citext");
  auto add_wave = [&](int first_order, int skus, const std::string& prefix) {
    std::string items = "INSERT INTO wms_item VALUES ";
    std::string stock = "INSERT INTO wms_stock VALUES ";
    std::string lines =
        "INSERT INTO wms_line (id, order_id, pos, sku, qty, "
        "uom, loc, lot) VALUES ";
    for (int i = 0; i < skus; ++i) {
      const std::string sku = prefix + std::to_string(1000 + i);
      std::string lower = sku;
      for (char& c : lower) c = static_cast<char>(std::tolower(c));
      const std::string sep = i > 0 ? ", " : "";
      items += sep + "('" + sku + "', 1, 0, 0.5, 'EA')";
      stock += sep + "('" + lower + "', 'A-01', NULL, 7, 0)";
      lines += sep + "(" + std::to_string(first_order * 1000 + i) + ", " +
               std::to_string(first_order) + ", " + std::to_string(i + 1) +
               ", '" + sku + "', 1, 'EA', NULL, NULL)";
    }
    wms_->Exec(items);
    wms_->Exec(stock);
    wms_->Exec(
        "INSERT INTO wms_order (id, ref, customer, state, ship_date, created, "
        "released, prio, service, postcode, country) VALUES (" +
        std::to_string(first_order) + ", 'W" + std::to_string(first_order) +
        "', 'C1', 'released', '" + TestWms::DaysAgo(-1) + "', '" +
        TestWms::DaysAgo(0) + " 10:00:00', '" + TestWms::DaysAgo(0) +
        " 11:00:00', 1, 'PARCEL', '75001', 'FR')");
    wms_->Exec(lines);
  };
  auto h = Open();
  ASSERT_TRUE(h);
  // The ready wave: 20 SKUs, then 420.
  for (int wave = 0; wave < 2; ++wave) {
    SCOPED_TRACE(wave);
    if (wave == 0) add_wave(7001, 20, "FEW");
    if (wave == 1) add_wave(7002, 400, "MANY");
    RecordingSink sink;
    ASSERT_EQ(Load(*h, Ready(), sink), RFT_OK);
    ASSERT_EQ(sink.orders.size(), wave == 0 ? 1u : 2u);
    std::set<std::string> stocked;
    for (const auto& st : sink.stock) stocked.insert(st.sku);
    std::set<std::string> named;
    for (const auto& l : sink.lines) named.insert(*l.sku);
    ASSERT_EQ(named.size(), wave == 0 ? 20u : 420u);
    for (const std::string& sku : named) {
      std::string lower = sku;
      for (char& c : lower) c = static_cast<char>(std::tolower(c));
      EXPECT_EQ(stocked.count(lower), 1u) << sku;
    }
  }
}

// Database::Stream (COPY on PostgreSQL) gives every value as Query does:
// tabs, line breaks, backslashes, the text "\N", quotes, empty text apart
// from NULL, UTF-8, long text, in batches of any size.
TEST_P(SqlAdapterTest, StreamedRowsKeepEveryCharacter) {
  const std::vector<std::optional<std::string>> values = {
      "",
      "tab\there",
      "line\nbreak\r\n",
      "back\\slash\\",
      "\\N",
      "N",
      std::nullopt,
      "quote'd \"dq\" ;--",
      "\xC3\xBC\xC3\xB1 \xE4\xB8\xAD \xE2\x82\xAC",
      std::string(5000, 'x') + "\t\\\n",
      "\x01\x07\x1f"};
  adapters::Database& db = wms_->session();
  adapters::SqlBuilder b;
  for (size_t i = 0; i < values.size(); ++i) {
    b << (i > 0 ? " UNION ALL " : "") << "SELECT " << wms_->T(std::to_string(i))
      << ", "
      << (values[i] ? wms_->T(b.Bind(adapters::Text(*values[i])))
                    : wms_->T(b.Bind(adapters::Null())))
      << ", " << wms_->T("NULL");
  }
  auto collect = [&](bool stream, size_t batch_rows) {
    std::map<int, std::optional<std::string>> got;
    size_t batches = 0;
    auto on_batch = [&](const adapters::TextBatch& batch) {
      ++batches;
      EXPECT_LE(batch.rows(), batch_rows);
      EXPECT_EQ(batch.columns(), 3u);
      for (size_t r = 0; r < batch.rows(); ++r) {
        EXPECT_TRUE(batch.IsNull(r, 2));
        got[std::stoi(std::string(batch.At(r, 0)))] =
            batch.IsNull(r, 1)
                ? std::nullopt
                : std::optional<std::string>(std::string(batch.At(r, 1)));
      }
    };
    if (stream) {
      db.Stream(b.sql, b.params, 3, batch_rows, on_batch);
    } else {
      db.Query(b.sql, b.params, 3, batch_rows, on_batch);
    }
    EXPECT_EQ(batches, (values.size() + batch_rows - 1) / batch_rows);
    return got;
  };
  for (size_t batch_rows : {size_t{2}, size_t{4}, size_t{64}}) {
    SCOPED_TRACE(batch_rows);
    auto streamed = collect(true, batch_rows);
    ASSERT_EQ(streamed.size(), values.size());
    for (size_t i = 0; i < values.size(); ++i) {
      EXPECT_EQ(streamed[static_cast<int>(i)], values[i]) << "value " << i;
    }
    EXPECT_EQ(streamed, collect(false, batch_rows));
  }

  // A refused batch stops the statement; the next call reconnects and the
  // connection works as before.
  if (wms_->dialect() != Dialect::kPostgres) return;
  size_t seen = 0;
  EXPECT_THROW(db.Stream("SELECT CAST(g AS text) FROM generate_series(1, "
                         "500000) g",
                         {}, 1, 1000,
                         [&](const adapters::TextBatch& batch) {
                           seen += batch.rows();
                           throw std::runtime_error("refused");
                         }),
               std::runtime_error);
  EXPECT_EQ(seen, 1000u);
  EXPECT_FALSE(db.Healthy());
  db.EnsureConnected();
  EXPECT_EQ(collect(true, 4).size(), values.size());
  // A statement the server refuses is an error, and so is a width other
  // than the query's.
  EXPECT_THROW(db.Stream("SELECT CAST(1 AS text) FROM no_such_table", {}, 1, 8,
                         [](const adapters::TextBatch&) {}),
               std::exception);
  db.EnsureConnected();
  EXPECT_THROW(
      db.Stream("SELECT 'a', 'b'", {}, 1, 8, [](const adapters::TextBatch&) {}),
      std::exception);
  db.EnsureConnected();
  EXPECT_EQ(collect(true, 64).size(), values.size());
}

TEST_P(SqlAdapterTest, LeavesOutTheInputsTheChecksDoNotRead) {
  wms_->AddOrders(1, 4, "released");
  wms_->AddOrders(100, 2, "shipped", 5);
  LogCapture log;
  auto h = Open(&log, /*trace=*/true);
  ASSERT_TRUE(h);
  // The first load opens the second connection (PostgreSQL): not counted.
  RecordingSink warm;
  ASSERT_EQ(Load(*h, Ready(), warm), RFT_OK);
  StatementCounter counter(*wms_);
  std::string reason;
  if (!counter.Start(&reason)) {
    if (ServersRequired()) FAIL() << reason;
    GTEST_SKIP() << reason;
  }
  auto statements = [&](RecordingSink& sink) {
    log.Clear();
    size_t base = counter.Count(log);
    EXPECT_EQ(Load(*h, Ready(), sink), RFT_OK);
    return counter.Count(log) - base;
  };
  RecordingSink all;  // needs 0: everything
  const size_t all_statements = statements(all);
  ASSERT_FALSE(all.history.empty());
  ASSERT_FALSE(all.customers.empty());
  ASSERT_FALSE(all.carriers.empty());

  // Only what the item, stock and address checks read.
  RecordingSink some;
  some.SetNeeds(RFT_CAP_ITEMS | RFT_CAP_UNITS | RFT_CAP_STOCK | RFT_CAP_LOTS |
                RFT_CAP_LOCATIONS | RFT_CAP_RESERVATIONS | RFT_CAP_ADDRESSES);
  const size_t some_statements = statements(some);
  counter.Stop();
  EXPECT_TRUE(some.history.empty());
  EXPECT_TRUE(some.customers.empty());
  EXPECT_TRUE(some.carriers.empty());
  // What was left out is not announced: its checks are not applicable.
  EXPECT_EQ(some.capabilities & RFT_CAP_HISTORY, 0u);
  EXPECT_EQ(some.capabilities & RFT_CAP_CUSTOMERS, 0u);
  EXPECT_EQ(some.capabilities & RFT_CAP_CARRIERS, 0u);
  for (uint64_t cap : {RFT_CAP_ITEMS, RFT_CAP_UNITS, RFT_CAP_STOCK,
                       RFT_CAP_LOTS, RFT_CAP_LOCATIONS, RFT_CAP_ADDRESSES}) {
    EXPECT_NE(some.capabilities & cap, 0u) << cap;
  }
  EXPECT_EQ(some.orders.size(), all.orders.size());
  EXPECT_EQ(some.lines.size(), all.lines.size());
  EXPECT_EQ(some.items.size(), all.items.size());
  EXPECT_EQ(some.stock.size(), all.stock.size());
  EXPECT_EQ(some.lots.size(), all.lots.size());
  EXPECT_EQ(some_statements + 3, all_statements);

  // A plugin built for ABI 1.0 passes a shorter sink: everything is loaded,
  // whatever lies beyond its end.
  RecordingSink old;
  old.SetNeeds(RFT_CAP_ITEMS);
  old.AsAbi10();
  ASSERT_EQ(Load(*h, Ready(), old), RFT_OK);
  EXPECT_EQ(old.capabilities, all.capabilities);
  EXPECT_EQ(old.history.size(), all.history.size());
  EXPECT_EQ(old.customers.size(), all.customers.size());
  EXPECT_EQ(old.carriers.size(), all.carriers.size());
}

// A release call for one order: on PostgreSQL the load is one statement
// inside its read-only snapshot (three round trips); the records are those
// of the same orders loaded as a wave.
TEST_P(SqlAdapterTest, LoadOfAFewOrdersByRefTakesFewStatements) {
  wms_->AddOrders(1, 4, "released");
  wms_->AddOrders(100, 2, "shipped", 5);
  LogCapture log;
  auto h = Open(&log, /*trace=*/true);
  ASSERT_TRUE(h);
  RecordingSink wave;
  ASSERT_EQ(Load(*h, Ready(), wave), RFT_OK);
  ASSERT_EQ(wave.orders.size(), 4u);
  std::vector<std::string> wanted = {"O1", "O2", "O3", "O4"};
  std::vector<rft_str> refs;
  for (const auto& w : wanted) refs.push_back(Borrow(w));
  {
    // The connection's first load by refs also sets its time limit.
    RecordingSink first;
    ASSERT_EQ(Load(*h, ByRefs(refs), first), RFT_OK);
  }

  StatementCounter counter(*wms_);
  std::string reason;
  if (!counter.Start(&reason)) {
    if (ServersRequired()) FAIL() << reason;
    GTEST_SKIP() << reason;
  }
  log.Clear();
  size_t base = counter.Count(log);
  RecordingSink four;
  ASSERT_EQ(Load(*h, ByRefs(refs), four), RFT_OK);
  const size_t four_statements = counter.Count(log) - base;

  refs.resize(1);
  log.Clear();
  base = counter.Count(log);
  RecordingSink one;
  ASSERT_EQ(Load(*h, ByRefs(refs), one), RFT_OK);
  const size_t one_statements = counter.Count(log) - base;
  counter.Stop();

  EXPECT_EQ(four.capabilities, wave.capabilities);
  EXPECT_EQ(four.counts, wave.counts);
  EXPECT_EQ(four.lines.size(), wave.lines.size());
  ASSERT_EQ(one.orders.size(), 1u);
  EXPECT_EQ(one.orders[0].ref, "O1");
  EXPECT_EQ(one.lines.size(), 3u);
  EXPECT_FALSE(one.items.empty());
  EXPECT_FALSE(one.history.empty());
  EXPECT_EQ(one_statements, four_statements);
  if (wms_->dialect() == Dialect::kPostgres) {
    // BEGIN READ ONLY, the time limit and the generic plan for this
    // transaction (SET LOCAL), the load, COMMIT: one round trip (pipeline).
    EXPECT_EQ(one_statements, 5u);
  } else {
    EXPECT_LE(one_statements, 16u);
  }
  RecordProperty("statements_per_single_order_load",
                 std::to_string(one_statements));

  // The same statement again (prepared once on PostgreSQL) with other
  // values: each load gets its own order.
  for (const char* ref : {"O3", "O2", "O3"}) {
    std::string r = ref;
    std::vector<rft_str> other = {Borrow(r)};
    RecordingSink again;
    ASSERT_EQ(Load(*h, ByRefs(other), again), RFT_OK);
    ASSERT_EQ(again.orders.size(), 1u) << ref;
    EXPECT_EQ(again.orders[0].ref, ref);
    EXPECT_EQ(again.lines.size(), 3u) << ref;
    for (const auto& l : again.lines) EXPECT_EQ(l.order_ref, ref);
    EXPECT_EQ(again.counts[RFT_REC_ITEM], one.counts[RFT_REC_ITEM]) << ref;
  }
}

// The statements of a single-order write-back once rftgate's tables exist,
// counted on the database's side. On PostgreSQL the count is pinned: the
// transaction, its limits, the lock, the schema table and its version go in
// one round trip (BEGIN, SET LOCAL client_min_messages, SET LOCAL
// statement_timeout, pg_advisory_xact_lock, CREATE TABLE IF NOT EXISTS,
// SELECT version), everything of the order in one statement, then COMMIT:
// eight statements in three round trips.
TEST_P(SqlAdapterTest, SingleOrderWriteBackStatementsArePinned) {
  wms_->AddOrders(1, 2, "released");
  LogCapture log;
  auto h = Open(&log, /*trace=*/true);
  ASSERT_TRUE(h);
  std::string msg;
  SyntheticRun first;
  first.run_id = "single-1";
  first.apply_holds = true;
  first.rows = {{"O1", RFT_VERDICT_HOLD}};
  first.findings = {{"O1", 1, "stock.short"}, {"O1", 0, "customer.hold"}};
  ASSERT_EQ(first.Write(Library().api(), h->get(), &msg), RFT_OK) << msg;

  StatementCounter counter(*wms_);
  std::string reason;
  if (!counter.Start(&reason)) {
    if (ServersRequired()) FAIL() << reason;
    GTEST_SKIP() << reason;
  }
  log.Clear();
  size_t base = counter.Count(log);
  // Seen again on line 1, fixed on the order (resolved), still held: every
  // part of the write-back has something to do.
  SyntheticRun again;
  again.run_id = "single-2";
  again.apply_holds = true;
  again.rows = {{"O1", RFT_VERDICT_HOLD}};
  again.findings = {{"O1", 1, "stock.short"}};
  TestCall call;
  call.call.deadline_unix_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count() +
      60000;
  ASSERT_EQ(again.Write(Library().api(), h->get(), &msg, &call), RFT_OK)
      << call.message();
  size_t statements = counter.Count(log) - base;
  counter.Stop();

  EXPECT_EQ(OpenRecords(), 1u);
  EXPECT_EQ(wms_->Value("SELECT COUNT(*) FROM rft_errors WHERE status = "
                        "'resolved' AND resolved_run = 'single-2' AND "
                        "check_id = 'customer.hold'"),
            "1");
  EXPECT_EQ(wms_->Value("SELECT " + wms_->T("times_seen") +
                        " FROM rft_errors WHERE check_id = 'stock.short'"),
            "2");
  EXPECT_EQ(wms_->Value("SELECT COUNT(*) FROM rftgate_check_run WHERE run_id "
                        "= 'single-2'"),
            "1");
  EXPECT_EQ(wms_->Value("SELECT " + wms_->T("hold_flag") +
                        " FROM wms_order WHERE ref = 'O1'"),
            "1");
  EXPECT_GT(statements, 0u);
  if (wms_->dialect() == Dialect::kPostgres) {
    // Three round trips: BEGIN and its SET LOCALs, the advisory lock, the
    // schema table and its version; the one prepared statement; COMMIT.
    EXPECT_EQ(statements, 9u);
  }
  RecordProperty("statements_per_single_order_write_back",
                 std::to_string(statements));
}

// A WMS that audits its orders with a rule (PostgreSQL refuses rules on a
// table that a data-modifying WITH part updates): the hold and release
// flags are still set, through the rule, and the run is written.
TEST_P(SqlAdapterTest, HoldTableWithAnAuditRuleIsFlagged) {
  if (GetParam() != "postgresql") GTEST_SKIP() << "rules are PostgreSQL's";
  wms_->AddOrders(1, 3, "released");
  wms_->Exec("UPDATE wms_order SET hold_flag = 1 WHERE ref = 'O3'");
  wms_->Exec(
      "CREATE TABLE order_audit (ref TEXT, old_flag INTEGER, "
      "new_flag INTEGER)");
  wms_->Exec(
      "CREATE RULE audit_hold AS ON UPDATE TO wms_order DO ALSO "
      "INSERT INTO order_audit VALUES (NEW.ref, OLD.hold_flag, "
      "NEW.hold_flag)");
  const std::string hold = "hold: {column: hold_flag, value: \"1\"";
  ASSERT_NE(TestWms::Mapping().find(hold), std::string::npos);
  mapping_path_ = MappingFile(
      *wms_, MappingWith(hold, hold + ", release_value: \"0\""), "rule.yaml");
  auto h = Open();
  ASSERT_TRUE(h);
  SyntheticRun run = FirstRun();
  run.apply_holds = true;
  std::string msg;
  ASSERT_EQ(run.Write(Library().api(), h->get(), &msg), RFT_OK) << msg;
  EXPECT_EQ(wms_->Value("SELECT COUNT(*) FROM rftgate_check_run"), "3");
  EXPECT_EQ(OpenRecords(), 3u);
  EXPECT_EQ(wms_->Rows("SELECT ref, hold_flag FROM wms_order ORDER BY ref", 2),
            (std::vector<std::string>{"O1|1", "O2|0", "O3|0"}));
  EXPECT_EQ(wms_->Rows("SELECT ref, old_flag, new_flag FROM order_audit "
                       "ORDER BY ref",
                       3),
            (std::vector<std::string>{"O1|0|1", "O3|1|0"}));
}

// More orders than one PostgreSQL statement takes (RecordStore::kPgChunkRows)
// with their findings handed over in reverse order: every order's records
// are upserted and resolved with the right orders, whichever chunk they
// land in.
TEST_P(SqlAdapterTest, LargeRunsResolveAndHoldAcrossChunks) {
  constexpr int kOrders = 6200;
  wms_->AddOrders(1, kOrders, "released");
  const std::string hold = "hold: {column: hold_flag, value: \"1\"";
  ASSERT_NE(TestWms::Mapping().find(hold), std::string::npos);
  mapping_path_ = MappingFile(
      *wms_, MappingWith(hold, hold + ", release_value: \"0\""), "wide.yaml");
  auto h = Open();
  ASSERT_TRUE(h);
  SyntheticRun run1;
  run1.run_id = "wide-1";
  run1.apply_holds = true;
  for (int i = 1; i <= kOrders; ++i) {
    run1.rows.push_back({"O" + std::to_string(i), RFT_VERDICT_HOLD});
  }
  for (int i = kOrders; i >= 1; --i) {
    run1.findings.push_back({"O" + std::to_string(i), 1, "stock.short"});
    run1.findings.push_back({"O" + std::to_string(i), 0, "customer.hold"});
  }
  std::string msg;
  ASSERT_EQ(run1.Write(Library().api(), h->get(), &msg), RFT_OK) << msg;
  ASSERT_EQ(OpenRecords(), 2u * kOrders);
  ASSERT_EQ(wms_->Value("SELECT COUNT(*) FROM wms_order WHERE hold_flag = 1"),
            std::to_string(kOrders));

  // Even orders pass; odd orders keep their line finding only.
  SyntheticRun run2;
  run2.run_id = "wide-2";
  run2.apply_holds = true;
  for (int i = 1; i <= kOrders; ++i) {
    run2.rows.push_back(
        {"O" + std::to_string(i), i % 2 ? RFT_VERDICT_HOLD : RFT_VERDICT_PASS});
  }
  for (int i = kOrders - 1; i >= 1; i -= 2) {
    run2.findings.push_back({"O" + std::to_string(i), 1, "stock.short"});
  }
  ASSERT_EQ(run2.Write(Library().api(), h->get(), &msg), RFT_OK) << msg;
  EXPECT_EQ(OpenRecords(), static_cast<size_t>(kOrders / 2));
  EXPECT_EQ(
      wms_->Value("SELECT COUNT(*) FROM rft_errors WHERE status = "
                  "'open' AND check_id = 'stock.short' AND times_seen = 2"),
      std::to_string(kOrders / 2));
  EXPECT_EQ(wms_->Value("SELECT COUNT(*) FROM rft_errors WHERE status = "
                        "'resolved' AND resolved_run = 'wide-2'"),
            std::to_string(kOrders / 2 * 3));
  // Held: the odd orders; released: the even ones.
  EXPECT_EQ(wms_->Value("SELECT COUNT(*) FROM wms_order WHERE hold_flag = 1"),
            std::to_string(kOrders / 2));
  EXPECT_EQ(wms_->Value("SELECT COUNT(*) FROM wms_order WHERE hold_flag = 1 "
                        "AND id % 2 = 0"),
            "0");
  EXPECT_EQ(wms_->Value("SELECT " + wms_->T("orders") +
                        " FROM rftgate_run WHERE run_id = 'wide-2'"),
            std::to_string(kOrders));
  EXPECT_EQ(wms_->Value("SELECT " + wms_->T("findings") +
                        " FROM rftgate_run WHERE run_id = 'wide-2'"),
            std::to_string(kOrders / 2));
}

// Runs a write-back in a child process that is SIGKILLed after the first
// chunk of findings is in the database (inside the transaction).
TEST_P(SqlAdapterTest, ProcessKilledMidWriteLeavesTablesAsTheyWere) {
  wms_->AddOrders(1, 1200, "released");
  {
    auto h = Open();
    ASSERT_TRUE(h);
    std::string msg;
    ASSERT_EQ(FirstRun().Write(Library().api(), h->get(), &msg), RFT_OK) << msg;
  }
  auto before = Snapshot();
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(fds[0]);
    LogCapture log;
    log.hook = [&](const std::string& line) {
      if (line.find("findings written") != std::string::npos) {
        char c = 'x';
        if (write(fds[1], &c, 1) != 1) _exit(3);
        for (;;) pause();
      }
    };
    rft_status status;
    std::string message;
    auto h = OpenAdapter(Library(), wms_->connection(), Options(mapping_path_),
                         wms_->dir(), &log, &status, &message);
    if (!h) _exit(4);
    SyntheticRun run;
    run.run_id = "killed";
    run.apply_holds = true;
    for (int i = 1; i <= 1200; ++i) {
      std::string ref = "O" + std::to_string(i);
      run.rows.push_back({ref, RFT_VERDICT_HOLD});
      run.findings.push_back({ref, 2, "lot.expired"});
    }
    run.Write(Library().api(), h->get(), &message);
    _exit(5);  // not reached: killed inside the write
  }
  close(fds[1]);
  char c = 0;
  ASSERT_EQ(read(fds[0], &c, 1), 1) << "the child did not reach the write";
  close(fds[0]);
  ASSERT_EQ(kill(child, SIGKILL), 0);
  int wstatus = 0;
  ASSERT_EQ(waitpid(child, &wstatus, 0), child);
  ASSERT_TRUE(WIFSIGNALED(wstatus));

  EXPECT_EQ(Snapshot(), before);
  // A retry of the killed run then writes it whole.
  auto h = Open();
  ASSERT_TRUE(h);
  SyntheticRun retry;
  retry.run_id = "killed";
  retry.rows = {{"O7", RFT_VERDICT_HOLD}};
  retry.findings = {{"O7", 2, "lot.expired"}};
  std::string msg;
  ASSERT_EQ(retry.Write(Library().api(), h->get(), &msg), RFT_OK) << msg;
  EXPECT_EQ(wms_->Value("SELECT COUNT(*) FROM rftgate_check_run WHERE run_id "
                        "= 'killed'"),
            "1");
}

// Two handles write runs over the same orders at once: the database lock
// serialises them, so every finding is counted twice and never duplicated.
TEST_P(SqlAdapterTest, ConcurrentWriteBacksAreSerialised) {
  wms_->AddOrders(1, 600, "released");
  auto a = Open();
  auto b = Open();
  ASSERT_TRUE(a && b);
  auto make = [](const std::string& id) {
    SyntheticRun run;
    run.run_id = id;
    for (int i = 1; i <= 600; ++i) {
      std::string ref = "O" + std::to_string(i);
      run.rows.push_back({ref, RFT_VERDICT_HOLD});
      run.findings.push_back({ref, 1, "stock.short"});
    }
    return run;
  };
  SyntheticRun ra = make("timer"), rb = make("in-process");
  std::string ma, mb;
  rft_status sa = RFT_ERR_INTERNAL, sb = RFT_ERR_INTERNAL;
  std::thread ta([&] { sa = ra.Write(Library().api(), a->get(), &ma); });
  std::thread tb([&] { sb = rb.Write(Library().api(), b->get(), &mb); });
  ta.join();
  tb.join();
  ASSERT_EQ(sa, RFT_OK) << ma;
  ASSERT_EQ(sb, RFT_OK) << mb;
  EXPECT_EQ(wms_->Value("SELECT COUNT(*) FROM rft_errors"), "600");
  EXPECT_EQ(wms_->Value("SELECT MIN(times_seen) FROM rft_errors"), "2");
  EXPECT_EQ(wms_->Value("SELECT COUNT(*) FROM rftgate_check_run"), "1200");
}

TEST_P(SqlAdapterTest, HonoursCancellation) {
  wms_->AddOrders(1, 10, "released");
  auto h = Open();
  ASSERT_TRUE(h);
  RecordingSink sink;
  TestCall call;
  call.cancelled = 1;
  rft_selection sel = Ready();
  EXPECT_EQ(Library().api().load(h->get(), &sel, sink.get(), call.get()),
            RFT_ERR_CANCELLED);
  // The handle still works afterwards.
  RecordingSink again;
  ASSERT_EQ(Load(*h, Ready(), again), RFT_OK);
  EXPECT_EQ(again.orders.size(), 10u);
}

struct BadMapping {
  const char* name;
  std::string from, to;
  std::string expected;  // in the message
};

TEST_P(SqlAdapterTest, RefusesBadMappingsBeforeAnyCheck) {
  const std::vector<BadMapping> cases = {
      {"unknown table", "table: wms_line", "table: wms_lines",
       "sources.lines: table 'wms_lines' cannot be read"},
      {"unknown column", "qty: qty, uom: uom", "qty: quantity, uom: uom",
       "sources.lines.columns.qty: column 'quantity' not found"},
      {"illegal identifier", "table: wms_item", "table: \"wms_item; DROP\"",
       "not a valid SQL identifier"},
      {"query without the expected columns", "units: {table: wms_uom}",
       "units: {query: \"SELECT code AS unit_code, factor FROM wms_uom\"}",
       "required field 'code'"},
      {"unknown ready column", "column: state, in: [released, ready]",
       "column: stat, in: [released, ready]", "sources.orders.ready"},
      {"unknown field", "priority: prio", "prio: prio",
       "unknown field (fields of orders"},
      {"two statements", "units: {table: wms_uom}",
       "units: {query: \"SELECT * FROM wms_uom; DELETE FROM wms_uom\"}",
       "single statement"},
      {"hold column", "hold: {column: hold_flag", "hold: {column: hold_flg",
       "hold_flg"},
  };
  for (const auto& c : cases) {
    std::string path = MappingFile(*wms_, MappingWith(c.from, c.to),
                                   std::string("bad-") + c.name + ".yaml");
    rft_status status;
    std::string message;
    auto h = OpenAdapter(Library(), wms_->connection(), Options(path),
                         wms_->dir(), nullptr, &status, &message);
    EXPECT_FALSE(h) << c.name;
    EXPECT_EQ(status, RFT_ERR_CONFIG) << c.name << ": " << message;
    EXPECT_NE(message.find(c.expected), std::string::npos)
        << c.name << ": " << message;
  }
  // The WMS tables are untouched and rftgate's were not created.
  EXPECT_TRUE(Snapshot().size() == 0 ||
              Snapshot().front().rfind("hold:", 0) == 0);
}

// Orders with many findings each: on PostgreSQL a statement takes at most
// RecordStore::kPgChunkFindings findings (unless one order alone has more),
// and every record is still upserted and resolved with its own order.
TEST_P(SqlAdapterTest, OrdersWithManyFindingsAreWrittenInBoundedStatements) {
  constexpr int kOrders = 30;
  constexpr int kLines = 800;  // 24,000 findings in all
  static_assert(kOrders * kLines > adapters::RecordStore::kPgChunkFindings);
  wms_->AddOrders(1, kOrders, "released");
  LogCapture log;
  auto h = Open(&log);
  ASSERT_TRUE(h);
  SyntheticRun run1;
  run1.run_id = "many-1";
  for (int i = 1; i <= kOrders; ++i) {
    run1.rows.push_back({"O" + std::to_string(i), RFT_VERDICT_HOLD});
    for (int l = 1; l <= kLines; ++l) {
      run1.findings.push_back({"O" + std::to_string(i), l, "stock.short"});
    }
  }
  std::string msg;
  log.Clear();
  ASSERT_EQ(run1.Write(Library().api(), h->get(), &msg), RFT_OK) << msg;
  EXPECT_EQ(OpenRecords(), static_cast<size_t>(kOrders * kLines));
  if (GetParam() == "postgresql") {
    // One progress line per statement: "write-back: N of M check-run rows
    // and F of G findings written".
    const auto statements =
        std::count_if(log.lines.begin(), log.lines.end(), [](const auto& l) {
          return l.find(" findings written") != std::string::npos;
        });
    EXPECT_EQ(statements, 2) << ::testing::PrintToString(log.lines);
  }
  // Every order passes but the first, which keeps one line's finding.
  SyntheticRun run2;
  run2.run_id = "many-2";
  for (int i = 1; i <= kOrders; ++i) {
    run2.rows.push_back({"O" + std::to_string(i),
                         i == 1 ? RFT_VERDICT_HOLD : RFT_VERDICT_PASS});
  }
  run2.findings.push_back({"O1", 7, "stock.short"});
  ASSERT_EQ(run2.Write(Library().api(), h->get(), &msg), RFT_OK) << msg;
  EXPECT_EQ(OpenRecords(), 1u);
  EXPECT_EQ(wms_->Value("SELECT COUNT(*) FROM rft_errors WHERE status = "
                        "'resolved' AND resolved_run = 'many-2'"),
            std::to_string(kOrders * kLines - 1));
}

// A NUL byte in a value (from a WMS whose text can hold one): a clear
// error naming the order, and nothing of the run written, on every backend
// (PostgreSQL's text cannot hold it; SQLite would cut the value there).
TEST_P(SqlAdapterTest, NulByteInAValueIsRefusedBeforeAnyWrite) {
  wms_->AddOrders(1, 3, "released");
  auto h = Open();
  ASSERT_TRUE(h);
  SyntheticRun bad = FirstRun();
  bad.apply_holds = true;
  bad.findings[1].message = std::string("ab\0cd", 5);
  std::string msg;
  EXPECT_EQ(bad.Write(Library().api(), h->get(), &msg),
            RFT_ERR_INVALID_ARGUMENT);
  EXPECT_NE(msg.find("finding 1 (order 'O1') contains a NUL byte"),
            std::string::npos)
      << msg;
  EXPECT_EQ(wms_->Value("SELECT " + wms_->T("hold_flag") +
                        " FROM wms_order WHERE ref = 'O1'"),
            "0");
  // The run id was not used up: the same run without the NUL is written.
  SyntheticRun good = FirstRun();
  ASSERT_EQ(good.Write(Library().api(), h->get(), &msg), RFT_OK) << msg;
  EXPECT_EQ(wms_->Value("SELECT COUNT(*) FROM rftgate_check_run"), "3");
  EXPECT_EQ(OpenRecords(), 3u);
}

// Behind a pooler in transaction mode the next call may reach another
// server session: with prepared_statements off nothing is kept prepared on
// the server, and a release call by ref still loads the same records.
TEST_P(SqlAdapterTest, PreparedStatementsCanBeTurnedOff) {
  wms_->AddOrders(1, 2, "released");
  if (GetParam() == "postgresql") {
    adapters::Database& db = wms_->db();
    auto prepared = [&] {
      return db
          .QueryValue(
              "SELECT CAST(COUNT(*) AS text) FROM "
              "pg_prepared_statements")
          .value_or("?");
    };
    const std::string before = prepared();
    auto run = [&](const std::string& ref) {
      std::vector<std::string> got;
      db.QueryPrepared("SELECT ref FROM wms_order WHERE ref = :p0",
                       {adapters::Text(ref)}, 1, 4,
                       [&](const adapters::TextBatch& b) {
                         for (size_t r = 0; r < b.rows(); ++r) {
                           got.emplace_back(b.At(r, 0));
                         }
                       });
      return got;
    };
    db.UsePreparedStatements(false);
    EXPECT_EQ(run("O1"), (std::vector<std::string>{"O1"}));
    EXPECT_EQ(run("O2"), (std::vector<std::string>{"O2"}));
    EXPECT_EQ(prepared(), before);
    db.UsePreparedStatements(true);
    EXPECT_EQ(run("O1"), (std::vector<std::string>{"O1"}));
    EXPECT_NE(prepared(), before);
  }
  auto options = [&](const std::string& value) {
    return std::string("{\"mapping\": \"") + mapping_path_ +
           "\", \"prepared_statements\": " + value + "}";
  };
  rft_status status;
  std::string message;
  EXPECT_FALSE(OpenAdapter(Library(), wms_->connection(), options("\"no\""),
                           wms_->dir(), nullptr, &status, &message));
  EXPECT_EQ(status, RFT_ERR_CONFIG);
  EXPECT_NE(message.find("adapter.options.prepared_statements: expected "
                         "true or false"),
            std::string::npos)
      << message;
  auto h = OpenAdapter(Library(), wms_->connection(), options("false"),
                       wms_->dir(), nullptr, &status, &message);
  ASSERT_TRUE(h) << message;
  const std::string o2 = "O2";
  std::vector<rft_str> refs = {Borrow(o2)};
  RecordingSink one;
  ASSERT_EQ(Load(*h, ByRefs(refs), one), RFT_OK);
  ASSERT_EQ(one.orders.size(), 1u);
  EXPECT_EQ(one.orders[0].ref, "O2");
  EXPECT_FALSE(one.lines.empty());
}

// ------------------------------------------------- a wave in pages

// The same runs, written whole on one database and in pages on another:
// the same check-run rows, error records (new, seen again, resolved), hold
// flags and run rows, the run row with the totals and finished_at given at
// the commit.
TEST_P(SqlAdapterTest, PagedWaveWritesWhatWriteBackWrites) {
  std::string reason;
  auto whole_wms = TestWms::Create(GetParam(), &reason);
  ASSERT_TRUE(whole_wms) << reason;
  constexpr int kOrders = 1200;
  wms_->AddOrders(1, kOrders, "released");
  whole_wms->AddOrders(1, kOrders, "released");
  auto paged = Open();
  ASSERT_TRUE(paged);
  ASSERT_TRUE(RFT_ADAPTER_PAGES(&Library().api()));
  rft_status status;
  std::string msg;
  auto whole =
      OpenAdapter(Library(), whole_wms->connection(), Options(mapping_path_),
                  whole_wms->dir(), nullptr, &status, &msg);
  ASSERT_TRUE(whole) << msg;

  SyntheticRun run1;
  run1.run_id = "paged-1";
  run1.apply_holds = true;
  for (int i = 1; i <= kOrders; ++i) {
    const std::string ref = "O" + std::to_string(i);
    run1.rows.push_back({ref, i % 3 ? RFT_VERDICT_HOLD : RFT_VERDICT_PASS});
    if (i % 3 == 0) continue;
    run1.findings.push_back({ref, 1, "stock.short"});
    run1.findings.push_back({ref, 0, "customer.hold"});
  }
  // Run 2: even orders pass, the others keep their line finding and gain
  // one; the last order is decided by the failure policy.
  SyntheticRun run2;
  run2.run_id = "paged-2";
  run2.apply_holds = true;
  for (int i = 1; i <= kOrders; ++i) {
    const std::string ref = "O" + std::to_string(i);
    run2.rows.push_back({ref, i % 2 ? RFT_VERDICT_HOLD : RFT_VERDICT_PASS});
    if (i % 2 == 0) continue;
    run2.findings.push_back({ref, 1, "stock.short"});
    run2.findings.push_back({ref, 2, "lot.expired", RFT_SEVERITY_WARN});
  }
  run2.rows.back().decided_by = RFT_DECIDED_BY_FAILURE_POLICY;
  for (const SyntheticRun* run : {&run1, &run2}) {
    ASSERT_EQ(run->Write(Library().api(), whole->get(), &msg), RFT_OK) << msg;
    ASSERT_EQ(run->WritePaged(Library().api(), paged->get(), 250, &msg), RFT_OK)
        << msg;
    EXPECT_EQ(Snapshot(), Snapshot(whole_wms.get())) << run->run_id;
  }
  EXPECT_EQ(wms_->Value("SELECT " + wms_->T("orders") +
                        " FROM rftgate_run WHERE run_id = 'paged-2'"),
            std::to_string(kOrders));
  EXPECT_EQ(wms_->Value("SELECT " + wms_->T("findings") +
                        " FROM rftgate_run WHERE run_id = 'paged-2'"),
            std::to_string(kOrders));
  EXPECT_EQ(wms_->Value("SELECT COUNT(*) FROM rft_errors WHERE status = "
                        "'resolved' AND resolved_run = 'paged-2'"),
            whole_wms->Value("SELECT COUNT(*) FROM rft_errors WHERE status = "
                             "'resolved' AND resolved_run = 'paged-2'"));
  EXPECT_NE(wms_->Value("SELECT COUNT(*) FROM rft_errors WHERE status = "
                        "'resolved' AND resolved_run = 'paged-2'"),
            "0");
}

// An aborted wave and a handle closed with its wave open leave the tables
// as they were, and release the write lock: another handle writes at once.
TEST_P(SqlAdapterTest, AbortedOrClosedWaveLeavesNothing) {
  auto h = OpenAfterFirstRun(3);
  ASSERT_TRUE(h);
  std::string msg;
  const auto before = Snapshot();
  const rft_adapter_api& api = Library().api();

  SyntheticRun run = FirstRun();
  run.run_id = "aborted";
  run.apply_holds = true;
  run.rows[1].verdict = RFT_VERDICT_HOLD;
  const SyntheticRun::Abi abi = run.ToAbi();
  ASSERT_EQ(SyntheticRun::WriteBegin(api, h->get(), abi.run, &msg), RFT_OK)
      << msg;
  ASSERT_EQ(SyntheticRun::WritePart(api, h->get(),
                                    SyntheticRun::PageOf(abi, 0, 2), &msg),
            RFT_OK)
      << msg;
  TestCall abort;
  ASSERT_EQ(api.write_abort(h->get(), abort.get()), RFT_OK) << abort.message();
  EXPECT_EQ(Snapshot(), before);
  TestCall again;
  EXPECT_EQ(api.write_abort(h->get(), again.get()), RFT_OK)
      << "nothing open: does nothing";
  TestCall commit;
  EXPECT_EQ(api.write_commit(h->get(), &abi.run, commit.get()),
            RFT_ERR_INVALID_ARGUMENT);
  EXPECT_NE(commit.message().find("no wave is open"), std::string::npos)
      << commit.message();

  {
    auto closing = Open();
    ASSERT_TRUE(closing);
    TestCall b2;
    ASSERT_EQ(api.write_begin(closing->get(), &abi.run, b2.get()), RFT_OK)
        << b2.message();
    ASSERT_EQ(SyntheticRun::WritePart(api, closing->get(),
                                      SyntheticRun::PageOf(abi, 0, 3), &msg),
              RFT_OK)
        << msg;
  }  // closed with its wave open
  EXPECT_EQ(Snapshot(), before);

  // Nothing holds the lock: the run is written by the first handle.
  TestCall quick;
  quick.call.deadline_unix_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count() +
      20000;
  ASSERT_EQ(run.Write(api, h->get(), &msg, &quick), RFT_OK) << msg;
  EXPECT_EQ(wms_->Value("SELECT COUNT(*) FROM rftgate_check_run WHERE run_id "
                        "= 'aborted'"),
            "3");
}

// A load and a list between write_begin and write_commit run inside the
// wave's transaction (on PostgreSQL, with pipelined_pages, on the handle's
// other connection): they see the orders, and an abort afterwards still
// leaves nothing (a load that committed or restarted the wave's
// transaction would have made the first part visible).
TEST_P(SqlAdapterTest, LoadInsideTheOpenWaveSeesTheOrders) {
  wms_->AddOrders(1, 4, "released");
  LogCapture log;
  auto h = Open(&log, /*trace=*/true);
  ASSERT_TRUE(h);
  const rft_adapter_api& api = Library().api();
  RecordingSink whole;
  ASSERT_EQ(Load(*h, Ready(), whole), RFT_OK);
  std::string msg;
  ASSERT_EQ(FirstRun().Write(api, h->get(), &msg), RFT_OK) << msg;
  const auto before = Snapshot();

  SyntheticRun run = FirstRun();
  run.run_id = "loads-inside";
  run.apply_holds = true;
  const SyntheticRun::Abi abi = run.ToAbi();
  ASSERT_EQ(SyntheticRun::WriteBegin(api, h->get(), abi.run, &msg), RFT_OK)
      << msg;
  ASSERT_EQ(SyntheticRun::WritePart(api, h->get(),
                                    SyntheticRun::PageOf(abi, 0, 1), &msg),
            RFT_OK)
      << msg;

  log.Clear();
  std::vector<std::string> wanted = {"O2"};
  std::vector<rft_str> refs = {Borrow(wanted[0])};
  RecordingSink one;
  ASSERT_EQ(Load(*h, ByRefs(refs), one), RFT_OK);
  ASSERT_EQ(one.orders.size(), 1u);
  EXPECT_EQ(one.orders[0].ref, "O2");
  EXPECT_EQ(one.lines.size(), 3u);
  EXPECT_FALSE(one.items.empty());
  // Inside a wave, a load says that it leaves out what earlier loads of the
  // wave put.
  EXPECT_EQ(one.capabilities,
            whole.capabilities | uint64_t{RFT_CAP_KNOWN_LEFT_OUT});
  if (wms_->dialect() == Dialect::kSqlite) {
    std::lock_guard<std::mutex> lock(log.mu);
    for (const auto& line : log.lines) {
      EXPECT_EQ(line.find("statement: BEGIN"), std::string::npos) << line;
      EXPECT_EQ(line.find("statement: COMMIT"), std::string::npos) << line;
    }
  }
  RecordingSink ready;
  ASSERT_EQ(Load(*h, Ready(), ready), RFT_OK);
  // The second load leaves out the items, units, stock, lots, locations,
  // customers and carrier services the first one put: the two put what one
  // load outside a wave puts, each record once.
  auto n = [](const RecordingSink& sink, int kind) {
    auto it = sink.counts.find(kind);
    return it == sink.counts.end() ? size_t{0} : it->second;
  };
  for (int kind = RFT_REC_ORDER; kind <= RFT_REC_HISTORY_LINE; ++kind) {
    const bool reference =
        kind >= RFT_REC_ITEM && kind <= RFT_REC_CARRIER_SERVICE;
    EXPECT_EQ(n(ready, kind) + (reference ? n(one, kind) : 0), n(whole, kind))
        << "records of kind " << kind;
  }
  EXPECT_GT(n(one, RFT_REC_UNIT), 0u);
  EXPECT_EQ(n(ready, RFT_REC_UNIT), 0u);
  ASSERT_EQ(SyntheticRun::WritePart(api, h->get(),
                                    SyntheticRun::PageOf(abi, 1, 2), &msg),
            RFT_OK)
      << msg;
  TestCall abort;
  ASSERT_EQ(api.write_abort(h->get(), abort.get()), RFT_OK) << abort.message();
  EXPECT_EQ(Snapshot(), before);
  // And the same with a commit: everything at once.
  ASSERT_EQ(run.WritePaged(api, h->get(), 1, &msg), RFT_OK) << msg;
  EXPECT_EQ(wms_->Value("SELECT COUNT(*) FROM rftgate_check_run WHERE run_id "
                        "= 'loads-inside'"),
            "3");
}

// list: the refs of the orders load puts, with the serving sequence's keys
// as load gives them, and nothing else.
TEST_P(SqlAdapterTest, ListGivesTheOrdersKeysOnly) {
  wms_->AddOrders(1, 5, "released");
  wms_->AddOrders(100, 2, "shipped", 5);
  auto h = Open();
  ASSERT_TRUE(h);
  RecordingSink loaded;
  ASSERT_EQ(Load(*h, Ready(), loaded), RFT_OK);
  RecordingSink listed;
  TestCall call;
  rft_selection ready = Ready();
  ASSERT_EQ(Library().api().list(h->get(), &ready, listed.get(), call.get()),
            RFT_OK)
      << call.message();
  EXPECT_EQ(listed.capability_calls, 0);
  ASSERT_EQ(listed.counts.size(), 1u) << "orders only";
  ASSERT_EQ(listed.orders.size(), loaded.orders.size());
  auto by_ref = [](std::vector<OrderRec> v) {
    std::sort(v.begin(), v.end(),
              [](const auto& a, const auto& b) { return a.ref < b.ref; });
    return v;
  };
  auto l = by_ref(listed.orders);
  auto o = by_ref(loaded.orders);
  for (size_t i = 0; i < l.size(); ++i) {
    EXPECT_EQ(l[i].ref, o[i].ref);
    EXPECT_EQ(l[i].stable_id, o[i].stable_id);
    EXPECT_EQ(l[i].priority, o[i].priority);
    EXPECT_EQ(l[i].site, o[i].site);
    EXPECT_EQ(l[i].ship_date.kind, o[i].ship_date.kind);
    EXPECT_EQ(l[i].ship_date.value, o[i].ship_date.value);
    EXPECT_FALSE(l[i].customer_ref.has_value());
  }
}

// The same run id twice, paged or whole, in any order: the second changes
// nothing and succeeds.
TEST_P(SqlAdapterTest, PagedRunIdWrittenTwiceChangesNothing) {
  wms_->AddOrders(1, 3, "released");
  auto h = Open();
  ASSERT_TRUE(h);
  std::string msg;
  SyntheticRun run = FirstRun();
  run.apply_holds = true;
  ASSERT_EQ(run.WritePaged(Library().api(), h->get(), 2, &msg), RFT_OK) << msg;
  const auto after = Snapshot();
  ASSERT_EQ(run.WritePaged(Library().api(), h->get(), 1, &msg), RFT_OK) << msg;
  EXPECT_EQ(Snapshot(), after);
  ASSERT_EQ(run.Write(Library().api(), h->get(), &msg), RFT_OK) << msg;
  EXPECT_EQ(Snapshot(), after);
  SyntheticRun whole = FirstRun();
  whole.run_id = "whole-first";
  ASSERT_EQ(whole.Write(Library().api(), h->get(), &msg), RFT_OK) << msg;
  const auto after_whole = Snapshot();
  ASSERT_EQ(whole.WritePaged(Library().api(), h->get(), 1, &msg), RFT_OK)
      << msg;
  EXPECT_EQ(Snapshot(), after_whole);
}

// One wave per handle: a second write_begin, a write_back, and a part or
// commit without a wave are refused with a message; the open wave is left
// as it was and commits.
TEST_P(SqlAdapterTest, OneWaveAtATimePerHandle) {
  wms_->AddOrders(1, 3, "released");
  auto h = Open();
  ASSERT_TRUE(h);
  const rft_adapter_api& api = Library().api();
  std::string msg;
  SyntheticRun run = FirstRun();
  const SyntheticRun::Abi abi = run.ToAbi();
  EXPECT_EQ(SyntheticRun::WritePart(api, h->get(),
                                    SyntheticRun::PageOf(abi, 0, 1), &msg),
            RFT_ERR_INVALID_ARGUMENT);
  EXPECT_NE(msg.find("no wave is open"), std::string::npos) << msg;

  ASSERT_EQ(SyntheticRun::WriteBegin(api, h->get(), abi.run, &msg), RFT_OK)
      << msg;
  TestCall twice;
  EXPECT_EQ(api.write_begin(h->get(), &abi.run, twice.get()),
            RFT_ERR_INVALID_ARGUMENT);
  EXPECT_NE(twice.message().find("write_begin: the wave of run 'run-1' is "
                                 "open on this handle"),
            std::string::npos)
      << twice.message();
  SyntheticRun other = FirstRun();
  other.run_id = "other";
  EXPECT_EQ(other.Write(api, h->get(), &msg), RFT_ERR_INVALID_ARGUMENT);
  EXPECT_NE(msg.find("write_back: the wave of run 'run-1' is open"),
            std::string::npos)
      << msg;
  ASSERT_EQ(SyntheticRun::WritePart(api, h->get(),
                                    SyntheticRun::PageOf(abi, 0, 3), &msg),
            RFT_OK)
      << msg;
  TestCall commit;
  ASSERT_EQ(api.write_commit(h->get(), &abi.run, commit.get()), RFT_OK)
      << commit.message();
  EXPECT_EQ(OpenRecords(), 3u);
  EXPECT_EQ(wms_->Value("SELECT COUNT(*) FROM rftgate_run"), "1");
}

// A part that fails (a NUL byte in a value) fails the wave: the later parts
// and the commit fail naming it, nothing is written, and the next wave on
// the same handle is written.
TEST_P(SqlAdapterTest, FailedPartFailsTheWholeWave) {
  wms_->AddOrders(1, 3, "released");
  auto h = Open();
  ASSERT_TRUE(h);
  const rft_adapter_api& api = Library().api();
  std::string msg;
  SyntheticRun earlier = FirstRun();
  earlier.run_id = "earlier";
  ASSERT_EQ(earlier.Write(api, h->get(), &msg), RFT_OK) << msg;
  const auto before = Snapshot();
  SyntheticRun run = FirstRun();
  run.apply_holds = true;
  run.findings[2].message = std::string("ab\0cd", 5);  // order O2
  const SyntheticRun::Abi abi = run.ToAbi();
  ASSERT_EQ(SyntheticRun::WriteBegin(api, h->get(), abi.run, &msg), RFT_OK)
      << msg;
  ASSERT_EQ(SyntheticRun::WritePart(api, h->get(),
                                    SyntheticRun::PageOf(abi, 0, 1), &msg),
            RFT_OK)
      << msg;
  EXPECT_EQ(SyntheticRun::WritePart(api, h->get(),
                                    SyntheticRun::PageOf(abi, 1, 1), &msg),
            RFT_ERR_INVALID_ARGUMENT);
  EXPECT_NE(msg.find("contains a NUL byte"), std::string::npos) << msg;
  EXPECT_EQ(SyntheticRun::WritePart(api, h->get(),
                                    SyntheticRun::PageOf(abi, 2, 1), &msg),
            RFT_ERR_INVALID_ARGUMENT);
  EXPECT_NE(msg.find("write_part: the wave of run 'run-1' was rolled back "
                     "after an earlier failure"),
            std::string::npos)
      << msg;
  TestCall commit;
  EXPECT_EQ(api.write_commit(h->get(), &abi.run, commit.get()),
            RFT_ERR_INVALID_ARGUMENT);
  EXPECT_NE(commit.message().find("write_commit: the wave of run 'run-1' was "
                                  "rolled back"),
            std::string::npos)
      << commit.message();
  EXPECT_EQ(Snapshot(), before);

  ASSERT_EQ(FirstRun().WritePaged(api, h->get(), 2, &msg), RFT_OK) << msg;
  EXPECT_EQ(wms_->Value("SELECT COUNT(*) FROM rftgate_check_run WHERE run_id "
                        "= 'run-1'"),
            "3");
}

// PostgreSQL writes a part in the background (`pipelined_pages`): a part
// the server refuses fails the next call, part or commit, with the
// server's message; the wave is rolled back and the handle writes the
// next wave. A load during the wave runs on the other connection.
TEST_P(SqlAdapterTest, PartWrittenInTheBackgroundFailsTheNextCall) {
  if (GetParam() != "postgresql") {
    GTEST_SKIP() << "parts are written in the background on PostgreSQL only";
  }
  wms_->AddOrders(1, 3, "released");
  auto h = Open();
  ASSERT_TRUE(h);
  const rft_adapter_api& api = Library().api();
  std::string msg;
  SyntheticRun earlier = FirstRun();
  earlier.run_id = "earlier";
  ASSERT_EQ(earlier.Write(api, h->get(), &msg), RFT_OK) << msg;
  wms_->Exec("CREATE TABLE refused (ref text)");
  BeforeCheckRunInsert(
      "refuse",
      "IF EXISTS (SELECT 1 FROM refused WHERE ref = NEW.order_ref) THEN "
      "RAISE EXCEPTION 'order % refused by a trigger', NEW.order_ref; END "
      "IF;");
  const auto before = Snapshot();
  SyntheticRun run = FirstRun();
  run.apply_holds = true;
  const SyntheticRun::Abi abi = run.ToAbi();

  // O1's part fails in the background: the next part says so.
  wms_->Exec("INSERT INTO refused VALUES ('O1')");
  ASSERT_EQ(SyntheticRun::WriteBegin(api, h->get(), abi.run, &msg), RFT_OK)
      << msg;
  ASSERT_EQ(SyntheticRun::WritePart(api, h->get(),
                                    SyntheticRun::PageOf(abi, 0, 1), &msg),
            RFT_OK)
      << msg;
  // The next page loads on the other connection while O1's part runs.
  std::vector<std::string> wanted = {"O2"};
  std::vector<rft_str> refs = {Borrow(wanted[0])};
  RecordingSink page;
  ASSERT_EQ(Load(*h, ByRefs(refs), page), RFT_OK);
  ASSERT_EQ(page.orders.size(), 1u);
  EXPECT_EQ(SyntheticRun::WritePart(api, h->get(),
                                    SyntheticRun::PageOf(abi, 1, 2), &msg),
            RFT_ERR_DATABASE);
  EXPECT_NE(msg.find("order O1 refused by a trigger"), std::string::npos)
      << msg;
  TestCall commit;
  EXPECT_EQ(api.write_commit(h->get(), &abi.run, commit.get()),
            RFT_ERR_DATABASE);
  EXPECT_NE(commit.message().find("rolled back after an earlier failure"),
            std::string::npos)
      << commit.message();
  EXPECT_EQ(Snapshot(), before);

  // The last part fails in the background: the commit says so.
  wms_->Exec("UPDATE refused SET ref = 'O3'");
  ASSERT_EQ(SyntheticRun::WriteBegin(api, h->get(), abi.run, &msg), RFT_OK)
      << msg;
  ASSERT_EQ(SyntheticRun::WritePart(api, h->get(),
                                    SyntheticRun::PageOf(abi, 0, 2), &msg),
            RFT_OK)
      << msg;
  ASSERT_EQ(SyntheticRun::WritePart(api, h->get(),
                                    SyntheticRun::PageOf(abi, 2, 1), &msg),
            RFT_OK)
      << msg;
  TestCall last;
  EXPECT_EQ(api.write_commit(h->get(), &abi.run, last.get()), RFT_ERR_DATABASE);
  EXPECT_NE(last.message().find("order O3 refused by a trigger"),
            std::string::npos)
      << last.message();
  EXPECT_EQ(Snapshot(), before);

  wms_->Exec("DELETE FROM refused");
  ASSERT_EQ(run.WritePaged(api, h->get(), 1, &msg), RFT_OK) << msg;
  EXPECT_EQ(wms_->Value("SELECT COUNT(*) FROM rftgate_check_run WHERE run_id "
                        "= 'run-1'"),
            "3");
}

// An abort while a part is still running in the background (a trigger
// that sleeps for minutes) cancels it: write_abort returns, the server runs
// nothing more of it, nothing is written, and the next wave is written.
// Without the cancel, the test would wait for the sleep (and time out).
TEST_P(SqlAdapterTest, AbortCancelsThePartRunningInTheBackground) {
  if (GetParam() != "postgresql") {
    GTEST_SKIP() << "parts are written in the background on PostgreSQL only";
  }
  auto h = OpenAfterFirstRun(3);
  ASSERT_TRUE(h);
  const rft_adapter_api& api = Library().api();
  std::string msg;
  wms_->Exec("CREATE TABLE slow (ref text)");
  BeforeCheckRunInsert("slow",
                       "IF EXISTS (SELECT 1 FROM slow WHERE ref = "
                       "NEW.order_ref) THEN PERFORM pg_sleep(300); END IF;");
  wms_->Exec("INSERT INTO slow VALUES ('O2')");
  const auto before = Snapshot();
  SyntheticRun run = FirstRun();
  run.run_id = "cancelled";
  run.apply_holds = true;
  const SyntheticRun::Abi abi = run.ToAbi();
  ASSERT_EQ(SyntheticRun::WriteBegin(api, h->get(), abi.run, &msg), RFT_OK)
      << msg;
  ASSERT_EQ(SyntheticRun::WritePart(api, h->get(),
                                    SyntheticRun::PageOf(abi, 0, 3), &msg),
            RFT_OK)
      << msg;
  const std::string sleeping =
      "SELECT CAST(COUNT(*) AS text) FROM pg_stat_activity WHERE datname = "
      "current_database() AND wait_event = 'PgSleep'";
  for (int i = 0; i < 600 && wms_->Value(sleeping) != "1"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(wms_->Value(sleeping), "1") << "the part never reached the trigger";
  TestCall abort;
  ASSERT_EQ(api.write_abort(h->get(), abort.get()), RFT_OK) << abort.message();
  EXPECT_EQ(wms_->Value(sleeping), "0");
  EXPECT_EQ(Snapshot(), before);
  wms_->Exec("DELETE FROM slow");
  ASSERT_EQ(run.WritePaged(api, h->get(), 2, &msg), RFT_OK) << msg;
  EXPECT_EQ(wms_->Value("SELECT COUNT(*) FROM rftgate_check_run WHERE run_id "
                        "= 'cancelled'"),
            "3");
}

// A part running in the background past its call's deadline (a trigger
// that sleeps longer) is stopped by the server's statement limit: the
// commit fails with a timeout, and nothing is written.
TEST_P(SqlAdapterTest, PartInTheBackgroundKeepsItsCallsDeadline) {
  if (GetParam() != "postgresql") {
    GTEST_SKIP() << "parts are written in the background on PostgreSQL only";
  }
  auto h = OpenAfterFirstRun(3);
  ASSERT_TRUE(h);
  const rft_adapter_api& api = Library().api();
  std::string msg;
  BeforeCheckRunInsert(
      "slow", "IF NEW.order_ref = 'O3' THEN PERFORM pg_sleep(60); END IF;");
  const auto before = Snapshot();
  SyntheticRun run = FirstRun();
  run.run_id = "late";
  const SyntheticRun::Abi abi = run.ToAbi();
  ASSERT_EQ(SyntheticRun::WriteBegin(api, h->get(), abi.run, &msg), RFT_OK)
      << msg;
  TestCall part;
  part.call.deadline_unix_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count() +
      1500;
  ASSERT_EQ(SyntheticRun::WritePart(
                api, h->get(), SyntheticRun::PageOf(abi, 0, 3), &msg, &part),
            RFT_OK)
      << msg;
  TestCall commit;
  EXPECT_EQ(api.write_commit(h->get(), &abi.run, commit.get()), RFT_ERR_TIMEOUT)
      << commit.message();
  EXPECT_EQ(Snapshot(), before);
}

// A server that refuses the wave's second connection (a role limited to
// one): the wave is written on the load's connection, page after page, with
// a warning saying so.
TEST_P(SqlAdapterTest, WaveIsWrittenWithoutASecondConnection) {
  if (GetParam() != "postgresql") {
    GTEST_SKIP() << "parts are written in the background on PostgreSQL only";
  }
  auto first = OpenAfterFirstRun(3);
  ASSERT_TRUE(first);
  first.reset();
  const std::string role = "one_" + wms_->db_name();
  const std::string connection = ConnectionAsRole(role, 1);
  ASSERT_FALSE(connection.empty());
  LogCapture log;
  rft_status status;
  std::string msg;
  {
    auto h = OpenAdapter(Library(), connection, Options(mapping_path_),
                         wms_->dir(), &log, &status, &msg);
    ASSERT_TRUE(h) << msg;
    // A wave's load, on the one connection.
    RecordingSink sink;
    EXPECT_EQ(Load(*h, Ready(), sink), RFT_OK);
    EXPECT_EQ(sink.orders.size(), 3u);
    EXPECT_FALSE(sink.items.empty());
    SyntheticRun run = FirstRun();
    run.run_id = "one-connection";
    run.apply_holds = true;
    EXPECT_EQ(run.WritePaged(Library().api(), h->get(), 1, &msg), RFT_OK)
        << msg;
  }
  wms_->Exec("DROP OWNED BY " + role);
  wms_->Exec("DROP ROLE " + role);
  EXPECT_EQ(wms_->Value("SELECT COUNT(*) FROM rftgate_check_run WHERE run_id "
                        "= 'one-connection'"),
            "3");
  EXPECT_GE(log.CountPrefix("sql adapter: a second connection for the "
                            "wave's writes could not be opened"),
            1u);
  EXPECT_EQ(log.CountPrefix("sql adapter: a second connection for the "
                            "load could not be opened"),
            1u);
}

// PostgreSQL (`parallel_load`): after the lines, half the queries of a
// wave's load run on the second connection, in the first one's snapshot. A
// change committed while the lines are read (a slow lines query) is seen by
// neither connection, and by the next load.
TEST_P(SqlAdapterTest, LoadReadsOnTwoConnectionsInOneSnapshot) {
  if (GetParam() != "postgresql") {
    GTEST_SKIP() << "a load uses two connections on PostgreSQL only";
  }
  wms_->AddOrders(1, 3, "released");
  wms_->Exec(
      "CREATE FUNCTION rft_slow() RETURNS boolean LANGUAGE plpgsql AS $$ "
      "BEGIN PERFORM pg_sleep(0.5); RETURN true; END $$");
  mapping_path_ = MappingFile(
      *wms_,
      MappingWith("  lines:\n    table: wms_line\n",
                  "  lines:\n    query: SELECT * FROM wms_line WHERE (SELECT "
                  "rft_slow())\n"),
      "slow_lines.yaml");
  auto h = Open();
  ASSERT_TRUE(h);
  // Order O1 names S3 (its line 2), order O3 customer C4.
  bool changed = false;
  std::thread change([&] {
    for (int i = 0; i < 500 && !changed; ++i) {
      if (wms_->Value("SELECT COUNT(*) FROM pg_stat_activity WHERE datname = "
                      "current_database() AND wait_event = 'PgSleep'") != "0") {
        wms_->Exec("UPDATE wms_item SET active = 0 WHERE sku = 'S3'");
        wms_->Exec("UPDATE wms_customer SET credit_hold = 1 WHERE code = 'C4'");
        changed = true;
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    }
  });
  RecordingSink during;
  ASSERT_EQ(Load(*h, Ready(), during), RFT_OK);
  change.join();
  ASSERT_TRUE(changed) << "the lines query was never seen running";
  RecordingSink after;
  ASSERT_EQ(Load(*h, Ready(), after), RFT_OK);
  auto active = [](const RecordingSink& sink, const std::string& sku) {
    for (const auto& i : sink.items) {
      if (i.sku == sku) return i.active;
    }
    return -1;
  };
  auto credit_hold = [](const RecordingSink& sink, const std::string& ref) {
    for (const auto& c : sink.customers) {
      if (c.ref == ref) return c.credit_hold;
    }
    return -1;
  };
  EXPECT_EQ(during.orders.size(), 3u);
  EXPECT_EQ(during.lines.size(), 9u);
  EXPECT_EQ(active(during, "S3"), 1);
  EXPECT_EQ(credit_hold(during, "C4"), 0);
  EXPECT_EQ(active(after, "S3"), 0);
  EXPECT_EQ(credit_hold(after, "C4"), 1);
  // The handle holds two connections: the load's and the second one.
  EXPECT_EQ(wms_->Value("SELECT COUNT(*) FROM pg_stat_activity WHERE datname = "
                        "current_database() AND pid <> pg_backend_pid()"),
            "2");
}

// A query the server refuses on the second connection fails the load with
// the server's message, and stops the first connection's statement (a
// stock query that would sleep 60 s), as a record the sink refuses from the
// second connection does; the next load, once the cause is gone, reads
// everything on both connections again. With `parallel_load: false` the
// same load uses one connection.
TEST_P(SqlAdapterTest, FailureOnTheSecondConnectionFailsTheLoad) {
  if (GetParam() != "postgresql") {
    GTEST_SKIP() << "a load uses two connections on PostgreSQL only";
  }
  wms_->AddOrders(1, 3, "released");
  SwitchedFunction("rft_lots_ok", "RAISE EXCEPTION 'lots are being moved';");
  SwitchedFunction("rft_stock_slow", "PERFORM pg_sleep(60);");
  mapping_path_ = MappingFile(
      *wms_,
      MappingWith(
          "  stock: {table: wms_stock, columns: {reserved_qty: reserved}}\n"
          "  lots: {table: wms_lot}\n",
          "  stock: {query: \"SELECT * FROM wms_stock WHERE (SELECT "
          "rft_stock_slow())\", columns: {reserved_qty: reserved}}\n"
          "  lots: {query: \"SELECT * FROM wms_lot WHERE (SELECT "
          "rft_lots_ok())\"}\n"),
      "refusing_lots.yaml");
  auto h = Open();
  ASSERT_TRUE(h);
  SetSwitch(true);
  const rft_selection ready = Ready();
  RecordingSink refused;
  TestCall call;
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(Library().api().load(h->get(), &ready, refused.get(), call.get()),
            RFT_ERR_DATABASE);
  // The stock query would have slept 60 s.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
  EXPECT_NE(call.message().find("lots are being moved"), std::string::npos)
      << call.message();
  EXPECT_NE(call.message().find("second connection"), std::string::npos)
      << call.message();
  EXPECT_TRUE(refused.stock.empty());

  // The sink refuses the items (read on the second connection): the load
  // returns the sink's status, and the first connection stops too.
  SetSwitch(false);
  wms_->Exec(
      "CREATE OR REPLACE FUNCTION rft_lots_ok() RETURNS boolean "
      "LANGUAGE sql AS 'SELECT true'");
  SetSwitch(true);
  RecordingSink no_items;
  no_items.refuse_kind = RFT_REC_ITEM;
  TestCall refusing;
  start = std::chrono::steady_clock::now();
  EXPECT_EQ(
      Library().api().load(h->get(), &ready, no_items.get(), refusing.get()),
      RFT_ERR_CANCELLED);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
  EXPECT_TRUE(no_items.stock.empty());

  SetSwitch(false);
  RecordingSink two;
  ASSERT_EQ(Load(*h, Ready(), two), RFT_OK);
  EXPECT_EQ(two.orders.size(), 3u);
  EXPECT_FALSE(two.lots.empty());
  EXPECT_FALSE(two.items.empty());
  h.reset();

  auto one_handle = Open(nullptr, false, "\"parallel_load\": false");
  ASSERT_TRUE(one_handle);
  RecordingSink one;
  ASSERT_EQ(Load(*one_handle, Ready(), one), RFT_OK);
  EXPECT_EQ(wms_->Value("SELECT COUNT(*) FROM pg_stat_activity WHERE datname = "
                        "current_database() AND pid <> pg_backend_pid()"),
            "1");
  EXPECT_EQ(one.items.size(), two.items.size());
  EXPECT_EQ(one.lots.size(), two.lots.size());
  EXPECT_EQ(one.stock.size(), two.stock.size());
  EXPECT_EQ(one.customers.size(), two.customers.size());
  EXPECT_EQ(one.history.size(), two.history.size());
}

// The first connection's transaction ends once its own queries are done
// and the second connection has taken up the snapshot: a server that ends
// sessions idle in a transaction (idle_in_transaction_session_timeout) does
// not end it while the second connection still reads.
TEST_P(SqlAdapterTest, LoadOutlastsTheServersIdleInTransactionLimit) {
  if (GetParam() != "postgresql") {
    GTEST_SKIP() << "a load uses two connections on PostgreSQL only";
  }
  wms_->AddOrders(1, 3, "released");
  wms_->Exec("ALTER DATABASE " + wms_->db_name() +
             " SET idle_in_transaction_session_timeout = '300ms'");
  wms_->Exec(
      "CREATE FUNCTION rft_slow() RETURNS boolean LANGUAGE plpgsql AS $$ "
      "BEGIN PERFORM pg_sleep(1); RETURN true; END $$");
  mapping_path_ = MappingFile(
      *wms_,
      MappingWith("  customers: {table: wms_customer,",
                  "  customers: {query: \"SELECT * FROM wms_customer WHERE "
                  "(SELECT rft_slow())\","),
      "slow_customers.yaml");
  auto h = Open();
  ASSERT_TRUE(h);
  RecordingSink sink;
  std::string msg;
  EXPECT_EQ(Load(*h, Ready(), sink, &msg), RFT_OK) << msg;
  EXPECT_EQ(sink.orders.size(), 3u);
  EXPECT_FALSE(sink.customers.empty());
  EXPECT_FALSE(sink.stock.empty());
}

// A query the server refuses on the first connection while the second one
// still reads stops the second one's statement (cancelled, not waited
// for), and the next load works.
TEST_P(SqlAdapterTest, FailureOnTheFirstConnectionStopsTheSecond) {
  if (GetParam() != "postgresql") {
    GTEST_SKIP() << "a load uses two connections on PostgreSQL only";
  }
  wms_->AddOrders(1, 3, "released");
  SwitchedFunction("rft_stock_ok",
                   "RAISE EXCEPTION 'stock count in progress';");
  SwitchedFunction("rft_lots_slow", "PERFORM pg_sleep(60);");
  mapping_path_ = MappingFile(
      *wms_,
      MappingWith(
          "  stock: {table: wms_stock, columns: {reserved_qty: reserved}}\n"
          "  lots: {table: wms_lot}\n",
          "  stock: {query: \"SELECT * FROM wms_stock WHERE (SELECT "
          "rft_stock_ok())\", columns: {reserved_qty: reserved}}\n"
          "  lots: {query: \"SELECT * FROM wms_lot WHERE (SELECT "
          "rft_lots_slow())\"}\n"),
      "refusing_stock.yaml");
  auto h = Open();
  ASSERT_TRUE(h);
  SetSwitch(true);
  const rft_selection ready = Ready();
  RecordingSink refused;
  TestCall call;
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(Library().api().load(h->get(), &ready, refused.get(), call.get()),
            RFT_ERR_DATABASE);
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_NE(call.message().find("stock count in progress"), std::string::npos)
      << call.message();
  // The lots query would have slept 60 s.
  EXPECT_LT(took, std::chrono::seconds(30));
  EXPECT_EQ(wms_->Value("SELECT COUNT(*) FROM pg_stat_activity WHERE datname = "
                        "current_database() AND state = 'active' AND pid <> "
                        "pg_backend_pid()"),
            "0");

  SetSwitch(false);
  RecordingSink again;
  ASSERT_EQ(Load(*h, Ready(), again), RFT_OK);
  EXPECT_FALSE(again.stock.empty());
  EXPECT_FALSE(again.lots.empty());
}

// PostgreSQL, the hold flag a column of the orders table with a release
// value: the load reads the flag. An order that passes is released when its
// flag was set at the load, or when the last load did not read it; an order
// flagged after the load (after it was judged) keeps its flag.
TEST_P(SqlAdapterTest, PassingOrdersAreReleasedAsTheLoadFoundThem) {
  if (GetParam() != "postgresql") {
    GTEST_SKIP() << "the load reads the hold flag on PostgreSQL";
  }
  wms_->AddOrders(1, 4, "released");
  mapping_path_ = MappingFile(
      *wms_,
      MappingWith("hold: {column: hold_flag, value: \"1\"}",
                  "hold: {column: hold_flag, value: \"1\", release_value: "
                  "\"0\"}"),
      "release.yaml");
  wms_->Exec("UPDATE wms_order SET hold_flag = 1 WHERE ref = 'O2'");
  auto h = Open();
  ASSERT_TRUE(h);
  RecordingSink sink;
  ASSERT_EQ(Load(*h, Ready(), sink), RFT_OK);
  ASSERT_EQ(sink.orders.size(), 4u);
  // Flagged by someone else after the load.
  wms_->Exec("UPDATE wms_order SET hold_flag = 1 WHERE ref = 'O3'");
  SyntheticRun run;
  run.run_id = "all-pass";
  run.apply_holds = true;
  run.rows = {{"O1"}, {"O2"}, {"O3"}, {"O4", RFT_VERDICT_HOLD}};
  std::string msg;
  ASSERT_EQ(run.Write(Library().api(), h->get(), &msg), RFT_OK) << msg;
  auto flags = [&] {
    return wms_->Rows(
        "SELECT ref, CAST(hold_flag AS text) FROM wms_order ORDER BY ref", 2);
  };
  EXPECT_EQ(flags(),
            (std::vector<std::string>{"O1|0", "O2|0", "O3|1", "O4|1"}));
  // What the load found serves one write: a run that holds O1, then one
  // that passes it, without a load between them, release it again.
  SyntheticRun hold_o1;
  hold_o1.run_id = "hold-o1";
  hold_o1.apply_holds = true;
  hold_o1.rows = {{"O1", RFT_VERDICT_HOLD}};
  ASSERT_EQ(hold_o1.Write(Library().api(), h->get(), &msg), RFT_OK) << msg;
  EXPECT_EQ(flags(),
            (std::vector<std::string>{"O1|1", "O2|0", "O3|1", "O4|1"}));
  SyntheticRun pass_o1 = hold_o1;
  pass_o1.run_id = "pass-o1";
  pass_o1.rows = {{"O1"}};
  ASSERT_EQ(pass_o1.Write(Library().api(), h->get(), &msg), RFT_OK) << msg;
  EXPECT_EQ(flags(),
            (std::vector<std::string>{"O1|0", "O2|0", "O3|1", "O4|1"}));
  // A handle whose last load did not read O3 probes it: released.
  auto fresh = Open();
  ASSERT_TRUE(fresh);
  run.run_id = "all-pass-again";
  ASSERT_EQ(run.Write(Library().api(), fresh->get(), &msg), RFT_OK) << msg;
  EXPECT_EQ(flags(),
            (std::vector<std::string>{"O1|0", "O2|0", "O3|0", "O4|1"}));
}

// PostgreSQL: a release call's load is one round trip (its transaction,
// the prepared statement and COMMIT sent together). A statement the server
// refuses there, or rows the sink refuses, fail that call with their own
// message or status, and leave the connection ready for the next call.
TEST_P(SqlAdapterTest, ReleaseCallLoadFailsCleanly) {
  if (GetParam() != "postgresql") {
    GTEST_SKIP() << "the pipelined load is PostgreSQL's";
  }
  wms_->AddOrders(1, 3, "released");
  SwitchedFunction("rft_items_ok",
                   "RAISE EXCEPTION 'items are being renamed';");
  mapping_path_ = MappingFile(
      *wms_,
      MappingWith("  items:\n    table: wms_item\n",
                  "  items:\n    query: SELECT * FROM wms_item WHERE (SELECT "
                  "rft_items_ok())\n"),
      "refusing_items.yaml");
  auto h = Open();
  ASSERT_TRUE(h);
  const std::string o1 = "O1", o2 = "O2";
  std::vector<rft_str> one = {Borrow(o1)};
  RecordingSink before;
  ASSERT_EQ(Load(*h, ByRefs(one), before), RFT_OK);  // prepared now
  ASSERT_FALSE(before.items.empty());

  SetSwitch(true);
  const rft_selection sel = ByRefs(one);
  RecordingSink refused;
  TestCall call;
  EXPECT_EQ(Library().api().load(h->get(), &sel, refused.get(), call.get()),
            RFT_ERR_DATABASE);
  EXPECT_NE(call.message().find("items are being renamed"), std::string::npos)
      << call.message();
  EXPECT_TRUE(refused.orders.empty());

  SetSwitch(false);
  RecordingSink no_lines;
  no_lines.refuse_kind = RFT_REC_LINE;
  TestCall refusing;
  EXPECT_EQ(
      Library().api().load(h->get(), &sel, no_lines.get(), refusing.get()),
      RFT_ERR_CANCELLED);

  std::vector<rft_str> other = {Borrow(o2)};
  RecordingSink after;
  ASSERT_EQ(Load(*h, ByRefs(other), after), RFT_OK);
  ASSERT_EQ(after.orders.size(), 1u);
  EXPECT_EQ(after.orders[0].ref, "O2");
  EXPECT_EQ(after.lines.size(), 3u);
  EXPECT_EQ(after.items.size(), before.items.size());
  std::string msg;
  SyntheticRun run = FirstRun();
  run.rows.resize(1);
  run.findings.resize(1);
  EXPECT_EQ(run.Write(Library().api(), h->get(), &msg), RFT_OK) << msg;
  EXPECT_EQ(wms_->Value("SELECT COUNT(*) FROM rftgate_check_run"), "1");
  // Nothing left open on the server by the failed calls.
  EXPECT_EQ(wms_->Value("SELECT COUNT(*) FROM pg_stat_activity WHERE datname "
                        "= current_database() AND state LIKE 'idle in "
                        "transaction%'"),
            "0");
}

// PostgreSQL: a release call's write-back (a few orders) runs its prepared
// statement with the generic plan; a bigger one is planned for its arrays,
// even on a connection whose release-call load set the generic plan for
// the session.
TEST_P(SqlAdapterTest, OnlyAFewOrdersAreWrittenWithTheGenericPlan) {
  if (GetParam() != "postgresql") {
    GTEST_SKIP() << "plan_cache_mode is PostgreSQL's";
  }
  auto h = OpenAfterFirstRun(70);
  ASSERT_TRUE(h);
  wms_->Exec("CREATE TABLE rft_modes (run_id TEXT, mode TEXT)");
  BeforeCheckRunInsert("rft_note_mode",
                       "INSERT INTO rft_modes VALUES (NEW.run_id, "
                       "current_setting('plan_cache_mode'));");
  // A release call: its load (prepared) and its write-back.
  const std::string o1 = "O1";
  std::vector<rft_str> one = {Borrow(o1)};
  RecordingSink sink;
  ASSERT_EQ(Load(*h, ByRefs(one), sink), RFT_OK);
  ASSERT_EQ(sink.orders.size(), 1u);
  std::string msg;
  SyntheticRun small = FirstRun();
  small.run_id = "small";
  small.rows.resize(1);
  small.findings.resize(1);
  ASSERT_EQ(small.Write(Library().api(), h->get(), &msg), RFT_OK) << msg;
  SyntheticRun big;
  big.run_id = "big";
  for (int i = 1; i <= 70; ++i) big.rows.push_back({"O" + std::to_string(i)});
  ASSERT_EQ(big.Write(Library().api(), h->get(), &msg), RFT_OK) << msg;
  EXPECT_EQ(wms_->Value("SELECT string_agg(DISTINCT mode, ',') FROM rft_modes "
                        "WHERE run_id = 'small'"),
            "force_generic_plan");
  EXPECT_EQ(wms_->Value("SELECT string_agg(DISTINCT mode, ',') FROM rft_modes "
                        "WHERE run_id = 'big'"),
            wms_->Value("SELECT setting FROM pg_settings WHERE name = "
                        "'plan_cache_mode'"));
  EXPECT_EQ(wms_->Value("SELECT COUNT(*) FROM rft_modes WHERE run_id = 'big'"),
            "70");
}

// The second connection, lost and then refused when a load opens it again
// (the role's connection limit reached by someone else), is given up: the
// load runs on one connection, and the next wave in pages is written on the
// first connection, not on the lost one.
TEST_P(SqlAdapterTest, LostSecondConnectionIsGivenUp) {
  if (GetParam() != "postgresql") {
    GTEST_SKIP() << "the second connection is PostgreSQL's";
  }
  wms_->AddOrders(1, 3, "released");
  const std::string role = "two_" + wms_->db_name();
  const std::string connection = ConnectionAsRole(role, 2);
  ASSERT_FALSE(connection.empty());
  LogCapture log;
  rft_status status;
  std::string msg;
  {
    auto h = OpenAdapter(Library(), connection, Options(mapping_path_),
                         wms_->dir(), &log, &status, &msg);
    ASSERT_TRUE(h) << msg;
    RecordingSink first;
    ASSERT_EQ(Load(*h, Ready(), first), RFT_OK);
    // Both connections are open; the second one is lost, and its place
    // taken by another session of the role.
    ASSERT_EQ(wms_->Value("SELECT COUNT(*) FROM pg_stat_activity WHERE "
                          "usename = '" +
                          role + "'"),
              "2");
    wms_->Exec(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
        "usename = '" +
        role +
        "' AND pid = (SELECT MAX(pid) FROM pg_stat_activity WHERE "
        "usename = '" +
        role + "')");
    for (int i = 0; i < 100 && wms_->Value("SELECT COUNT(*) FROM "
                                           "pg_stat_activity WHERE usename = "
                                           "'" +
                                           role + "'") != "1";
         ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    rft_status blocker_status;
    auto blocker = OpenAdapter(Library(), connection, Options(mapping_path_),
                               wms_->dir(), nullptr, &blocker_status, &msg);
    ASSERT_TRUE(blocker) << msg;
    // Which connection was lost depends on the server's pids: the load
    // either finds its first connection gone (an error, reconnected at the
    // next call) or its second one refused (a warning).
    RecordingSink second;
    const rft_selection ready = Ready();
    TestCall call;
    if (Library().api().load(h->get(), &ready, second.get(), call.get()) !=
        RFT_OK) {
      RecordingSink again;
      ASSERT_EQ(Load(*h, Ready(), again), RFT_OK);
    }
    SyntheticRun run = FirstRun();
    run.run_id = "after-loss";
    run.apply_holds = true;
    EXPECT_EQ(run.WritePaged(Library().api(), h->get(), 1, &msg), RFT_OK)
        << msg;
    EXPECT_EQ(wms_->Value("SELECT COUNT(*) FROM rftgate_check_run WHERE "
                          "run_id = 'after-loss'"),
              "3");
  }
  wms_->Exec("DROP OWNED BY " + role);
  wms_->Exec("DROP ROLE " + role);
}

// A load of the open wave that fails (its sink refuses the lines) fails the
// wave: the later parts and the commit fail naming it, and nothing is
// written.
TEST_P(SqlAdapterTest, FailedLoadInsideTheWaveFailsTheWave) {
  auto h = OpenAfterFirstRun(3);
  ASSERT_TRUE(h);
  const rft_adapter_api& api = Library().api();
  std::string msg;
  const auto before = Snapshot();
  SyntheticRun run = FirstRun();
  run.run_id = "load-failed";
  run.apply_holds = true;
  const SyntheticRun::Abi abi = run.ToAbi();
  ASSERT_EQ(SyntheticRun::WriteBegin(api, h->get(), abi.run, &msg), RFT_OK)
      << msg;
  ASSERT_EQ(SyntheticRun::WritePart(api, h->get(),
                                    SyntheticRun::PageOf(abi, 0, 1), &msg),
            RFT_OK)
      << msg;
  std::vector<std::string> wanted = {"O2"};
  std::vector<rft_str> refs = {Borrow(wanted[0])};
  const rft_selection sel = ByRefs(refs);
  RecordingSink page;
  page.refuse_kind = RFT_REC_LINE;
  TestCall load;
  EXPECT_NE(api.load(h->get(), &sel, page.get(), load.get()), RFT_OK);
  EXPECT_NE(SyntheticRun::WritePart(api, h->get(),
                                    SyntheticRun::PageOf(abi, 1, 2), &msg),
            RFT_OK);
  EXPECT_NE(msg.find("was rolled back after an earlier failure (failed while "
                     "loading a wave)"),
            std::string::npos)
      << msg;
  TestCall commit;
  EXPECT_NE(api.write_commit(h->get(), &abi.run, commit.get()), RFT_OK);
  EXPECT_EQ(Snapshot(), before);
  ASSERT_EQ(run.WritePaged(api, h->get(), 2, &msg), RFT_OK) << msg;
  EXPECT_EQ(wms_->Value("SELECT COUNT(*) FROM rftgate_check_run WHERE run_id "
                        "= 'load-failed'"),
            "3");
}

// The statements of a single-order wave in pages, once rftgate's tables
// exist, each call with a deadline. On PostgreSQL they are pinned:
// write_begin is the round trip of write_back's start (six statements);
// write_part sets its call's statement limit and writes the order in one
// statement; write_commit sets its limit, writes the run row's final
// finished_at and commits. With `pipelined_pages` (the default) the part's
// statement runs in the background and may end after write_commit began:
// the part and the commit are then five statements together.
TEST_P(SqlAdapterTest, SingleOrderWaveStatementsArePinned) {
  wms_->AddOrders(1, 2, "released");
  for (const bool pipelined : {false, true}) {
    SCOPED_TRACE(pipelined ? "pipelined_pages: true"
                           : "pipelined_pages: false");
    SingleOrderWaveStatements(pipelined);
    if (HasFatalFailure() || IsSkipped()) return;
  }
}

void SqlAdapterTest::SingleOrderWaveStatements(bool pipelined) {
  const std::string suffix = pipelined ? "p" : "s";
  LogCapture log;
  auto h = Open(
      &log, /*trace=*/true,
      std::string("\"pipelined_pages\": ") + (pipelined ? "true" : "false"));
  ASSERT_TRUE(h);
  const rft_adapter_api& api = Library().api();
  std::string msg;
  SyntheticRun first;
  first.run_id = "single-1" + suffix;
  first.rows = {{"O1", RFT_VERDICT_HOLD}};
  first.findings = {{"O1", 1, "stock.short"}};
  ASSERT_EQ(first.Write(api, h->get(), &msg), RFT_OK) << msg;
  // A first wave in pages opens the wave's own connection, if any.
  SyntheticRun warm = first;
  warm.run_id = "single-0" + suffix;
  ASSERT_EQ(warm.WritePaged(api, h->get(), 1, &msg), RFT_OK) << msg;

  StatementCounter counter(*wms_);
  std::string reason;
  if (!counter.Start(&reason)) {
    if (ServersRequired()) FAIL() << reason;
    GTEST_SKIP() << reason;
  }
  auto with_deadline = [](TestCall& call) {
    call.call.deadline_unix_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::system_clock::now().time_since_epoch())
            .count() +
        60000;
  };
  SyntheticRun again = first;
  again.run_id = "single-2" + suffix;
  again.apply_holds = true;
  const SyntheticRun::Abi abi = again.ToAbi();
  rft_writeback_run open = abi.run;
  open.finished_at = rft_time{0, RFT_TIME_NONE, 0};
  std::vector<size_t> statements;
  // Each call's statements are those counted since the end of the call
  // before: a statement of a part written in the background that ends
  // between two calls is counted with the next one.
  log.Clear();
  size_t last = counter.Count(log);
  auto counted = [&](const std::function<rft_status(TestCall&)>& fn) {
    TestCall call;
    with_deadline(call);
    EXPECT_EQ(fn(call), RFT_OK) << call.message();
    const size_t now = counter.Count(log);
    statements.push_back(now - last);
    last = now;
  };
  counted(
      [&](TestCall& c) { return api.write_begin(h->get(), &open, c.get()); });
  counted([&](TestCall& c) {
    return SyntheticRun::WritePart(api, h->get(),
                                   SyntheticRun::PageOf(abi, 0, 1), &msg, &c);
  });
  counted([&](TestCall& c) {
    return api.write_commit(h->get(), &abi.run, c.get());
  });
  counter.Stop();
  EXPECT_EQ(wms_->Value("SELECT " + wms_->T("times_seen") +
                        " FROM rft_errors WHERE check_id = 'stock.short' AND "
                        "order_ref = 'O1'"),
            pipelined ? "6" : "3");
  EXPECT_EQ(wms_->Value("SELECT " + wms_->T("hold_flag") +
                        " FROM wms_order WHERE ref = 'O1'"),
            "1");
  EXPECT_EQ(wms_->Value("SELECT COUNT(*) FROM rftgate_run WHERE run_id = "
                        "'single-2" +
                        suffix + "' AND finished_at IS NOT NULL"),
            "1");
  if (wms_->dialect() == Dialect::kPostgres) {
    ASSERT_EQ(statements.size(), 3u);
    EXPECT_EQ(statements[0], 7u);
    if (pipelined) {
      EXPECT_EQ(statements[1] + statements[2], 5u)
          << statements[1] << " + " << statements[2];
    } else {
      EXPECT_EQ(statements[1], 2u);
      EXPECT_EQ(statements[2], 3u);
    }
  }
  RecordProperty("statements_per_single_order_wave",
                 std::to_string(statements[0]) + "+" +
                     std::to_string(statements[1]) + "+" +
                     std::to_string(statements[2]));
}

INSTANTIATE_TEST_SUITE_P(Backends, SqlAdapterTest,
                         ::testing::Values("sqlite3", "postgresql", "mysql"),
                         [](const auto& info) { return info.param; });

// The connection killed from the server's side in the middle of the
// write-back (pg_terminate_backend / KILL): the run is rolled back and a
// retry on the same handle writes it.
class ServerKillTest : public SqlAdapterTest {
 protected:
  std::string ExtraParams() const override {
    return GetParam() == "postgresql" ? " application_name=rftgate-kill-test"
                                      : "";
  }
};

TEST_P(ServerKillTest, ConnectionKilledMidWriteLeavesTablesAsTheyWere) {
  wms_->AddOrders(1, 1200, "released");
  LogCapture log;
  auto h = Open(&log);
  ASSERT_TRUE(h);
  std::string msg;
  ASSERT_EQ(FirstRun().Write(Library().api(), h->get(), &msg), RFT_OK) << msg;
  auto before = Snapshot();

  std::promise<void> reached;
  std::promise<void> resume;
  auto resumed = resume.get_future().share();
  bool once = false;
  log.hook = [&](const std::string& line) {
    if (!once && line.find("findings written") != std::string::npos) {
      once = true;
      reached.set_value();
      resumed.wait();
    }
  };
  SyntheticRun run;
  run.run_id = "terminated";
  for (int i = 1; i <= 1200; ++i) {
    std::string ref = "O" + std::to_string(i);
    run.rows.push_back({ref, RFT_VERDICT_HOLD});
    run.findings.push_back({ref, 2, "lot.expired"});
  }
  rft_status status = RFT_OK;
  std::string message;
  std::thread writer(
      [&] { status = run.Write(Library().api(), h->get(), &message); });
  reached.get_future().wait();
  // Whatever happens here, the writer is resumed and joined before any
  // assertion can end the test.
  std::string killed;
  try {
    if (wms_->dialect() == Dialect::kPostgres) {
      // The test's own session shares the application name: spare it.
      killed = wms_->Value(
          "SELECT CAST(COUNT(pg_terminate_backend(pid)) AS text) FROM "
          "pg_stat_activity WHERE application_name = 'rftgate-kill-test' "
          "AND datname = current_database() AND pid <> pg_backend_pid()");
    } else {
      // Kill the connection that holds the write-back lock.
      auto holder = wms_->admin()->QueryValue(
          "SELECT CAST(IS_USED_LOCK(CONCAT('rftgate_writeback:', LEFT('" +
          wms_->db_name() + "', 45))) AS CHAR)");
      if (holder.has_value()) {
        wms_->admin()->Exec("KILL " + *holder);
        killed = "1";
      }
    }
  } catch (const std::exception& e) {
    killed = std::string("error: ") + e.what();
  }
  resume.set_value();
  writer.join();
  ASSERT_EQ(killed, "1");
  EXPECT_EQ(status, RFT_ERR_DATABASE) << message;
  EXPECT_EQ(Snapshot(), before);

  log.hook = nullptr;
  ASSERT_EQ(run.Write(Library().api(), h->get(), &message), RFT_OK) << message;
  EXPECT_EQ(wms_->Value("SELECT COUNT(*) FROM rftgate_check_run WHERE run_id "
                        "= 'terminated'"),
            "1200");
}

// The connection killed from the server's side between two parts of a wave
// in pages: the next part and the commit fail, nothing of the wave is
// written, and the handle writes the next wave.
TEST_P(ServerKillTest, ConnectionKilledBetweenPartsLeavesNothing) {
  auto h = OpenAfterFirstRun(4);
  ASSERT_TRUE(h);
  const rft_adapter_api& api = Library().api();
  std::string msg;
  const auto before = Snapshot();

  SyntheticRun run;
  run.run_id = "killed-wave";
  run.apply_holds = true;
  for (const char* ref : {"O1", "O2", "O3", "O4"}) {
    run.rows.push_back({ref, RFT_VERDICT_HOLD});
    run.findings.push_back({ref, 2, "lot.expired"});
  }
  const SyntheticRun::Abi abi = run.ToAbi();
  ASSERT_EQ(SyntheticRun::WriteBegin(api, h->get(), abi.run, &msg), RFT_OK)
      << msg;
  ASSERT_EQ(SyntheticRun::WritePart(api, h->get(),
                                    SyntheticRun::PageOf(abi, 0, 2), &msg),
            RFT_OK)
      << msg;
  if (wms_->dialect() == Dialect::kPostgres) {
    // The handle's two connections: its loads' and the wave's
    // (`pipelined_pages`).
    ASSERT_EQ(wms_->Value("SELECT CAST(COUNT(pg_terminate_backend(pid)) AS "
                          "text) FROM pg_stat_activity WHERE application_name "
                          "= 'rftgate-kill-test' AND datname = "
                          "current_database() AND pid <> pg_backend_pid()"),
              "2");
  } else {
    auto holder = wms_->admin()->QueryValue(
        "SELECT CAST(IS_USED_LOCK(CONCAT('rftgate_writeback:', LEFT('" +
        wms_->db_name() + "', 45))) AS CHAR)");
    ASSERT_TRUE(holder.has_value());
    wms_->admin()->Exec("KILL " + *holder);
  }
  const rft_status part = SyntheticRun::WritePart(
      api, h->get(), SyntheticRun::PageOf(abi, 2, 2), &msg);
  TestCall commit;
  const rft_status committed =
      api.write_commit(h->get(), &abi.run, commit.get());
  EXPECT_EQ(committed, RFT_ERR_DATABASE) << commit.message();
  if (part == RFT_OK) {
    // PostgreSQL writes a part in the background: when the first part had
    // ended before the kill and the second was started without a statement
    // on the killed connection, the commit is the call that finds it.
    EXPECT_EQ(wms_->dialect(), Dialect::kPostgres) << msg;
  } else {
    EXPECT_EQ(part, RFT_ERR_DATABASE) << msg;
    EXPECT_NE(commit.message().find("rolled back after an earlier failure"),
              std::string::npos)
        << commit.message();
  }
  EXPECT_EQ(Snapshot(), before);

  ASSERT_EQ(run.WritePaged(api, h->get(), 2, &msg), RFT_OK) << msg;
  EXPECT_EQ(wms_->Value("SELECT COUNT(*) FROM rftgate_check_run WHERE run_id "
                        "= 'killed-wave'"),
            "4");
}

INSTANTIATE_TEST_SUITE_P(Servers, ServerKillTest,
                         ::testing::Values("postgresql", "mysql"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace rftgate::testing

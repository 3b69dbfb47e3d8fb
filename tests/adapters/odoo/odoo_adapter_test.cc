// Integration tests of the Odoo adapter on a real PostgreSQL server, with
// databases shaped as Odoo 16 and 17 create them: what a load delivers
// through the adapter ABI, the verdict and findings of every seeded
// transfer through the whole gate (librftgate.so loaded as a host loads
// it), the chatter notes and activities written once, escaped and resolved,
// and a write-back that leaves nothing behind when its connection dies.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "rftgate/host.hpp"
#include "tests/adapters/odoo/odoo_test_db.h"
#include "tests/support/adapter_harness.h"

namespace rftgate::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

bool ServersRequired() {
  const char* v = std::getenv("RFTGATE_REQUIRE_SERVERS");
  return v != nullptr && std::string(v) == "1";
}

const AdapterLibrary& Library() {
  static const AdapterLibrary* lib =
      new AdapterLibrary(RFTGATE_ODOO_ADAPTER_PATH);
  return *lib;
}

constexpr const char* kOptions =
    R"({"quarantine_locations": ["WH/Stock/Quarantine"],
        "carriers": {"Parcel Express": {"max_parcel_weight_kg": 30}}})";

std::string PickName(int n) {
  std::string digits = std::to_string(n);
  return "WH/PICK/" + std::string(5 - digits.size(), '0') + digits;
}

// What each transfer released by default must get: verdict and the ids of
// its findings.
struct Expected {
  std::string verdict;
  std::set<std::string> checks;
};
const std::map<std::string, Expected>& ExpectedVerdicts() {
  static const auto* m = new std::map<std::string, Expected>{
      {PickName(1), {"pass", {}}},
      {PickName(2), {"pass", {}}},
      {PickName(3), {"pass", {}}},
      {PickName(4), {"pass", {}}},
      {PickName(5), {"hold", {"item.inactive"}}},
      {PickName(6), {"hold", {"qty.invalid"}}},
      {PickName(7), {"hold", {"uom.mismatch"}}},
      {PickName(8), {"hold", {"stock.short"}}},
      // Nothing can be taken at a blocked location, nor without a lot: the
      // root cause is the one finding (no stock.short beside it).
      {PickName(9), {"hold", {"location.mismatch"}}},
      {PickName(10), {"hold", {"lot.missing"}}},
      {PickName(11), {"hold", {"lot.expired"}}},
      {PickName(12), {"hold", {"lot.shelf_life"}}},
      {PickName(13), {"warn", {"lot.fefo"}}},
      {PickName(14), {"hold", {"lot.quarantine"}}},
      {PickName(15), {"pass", {}}},
      {PickName(16), {"warn", {"order.duplicate"}}},
      {PickName(17), {"hold", {"address.incomplete"}}},
      {PickName(18), {"hold", {"carrier.constraint"}}},
      {PickName(19), {"hold", {"customer.hold"}}},
      {PickName(20), {"hold", {"customer.hold"}}},
      {PickName(21), {"warn", {"qty.outlier"}}},
      {PickName(22), {"pass", {}}},
      {PickName(23), {"pass", {}}},
      {"WH2/OUT/00001", {"pass", {}}},
  };
  return *m;
}

class OdooTest : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    std::string reason;
    db_ = OdooTestDb::Create(GetParam(), &reason, ExtraParams());
    if (!db_) {
      if (ServersRequired()) FAIL() << reason;
      GTEST_SKIP() << reason;
    }
    // Parameterised tests are named "Test/v16": keep it one folder.
    std::string name =
        ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::replace(name.begin(), name.end(), '/', '_');
    dir_ = fs::temp_directory_path() /
           ("rftgate-odoo-" + std::to_string(getpid()) + "-" + name);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  virtual std::string ExtraParams() const { return ""; }

  std::unique_ptr<AdapterHandle> Open(LogCapture* log = nullptr,
                                      const std::string& options = kOptions) {
    rft_status status;
    std::string message;
    auto h = OpenAdapter(Library(), db_->connection(), options, dir_.string(),
                         log, &status, &message);
    EXPECT_EQ(status, RFT_OK) << message;
    return h;
  }

  // A gate on the test database through librftgate.so.
  // `checks`: YAML lines added under `checks:`.
  rftgate::host::Gate OpenGate(const std::string& options = kOptions,
                               std::string connection = "",
                               const std::string& checks = "") {
    if (connection.empty()) connection = db_->connection();
    std::string path = (dir_ / "rftgate.yaml").string();
    std::ofstream(path) << "adapter:\n"
                        << "  name: odoo\n"
                        << "  connection: \"" << connection << "\"\n"
                        << "  options: " << options << "\n"
                        << "checks:\n"
                        << "  lot.shelf_life:\n"
                        << "    default_min_days: 30\n"
                        << checks << "logging:\n"
                        << "  level: warn\n";
    if (!plugin_) plugin_ = rftgate::host::Plugin::Load(RFTGATE_TEST_PLUGIN);
    return plugin_->OpenFile(path);
  }

  struct OrderResult {
    std::string verdict;
    std::set<std::string> checks;
    std::vector<std::string> messages;
  };
  static std::map<std::string, OrderResult> Run(
      const rftgate::host::Gate& g, bool dry_run,
      std::vector<std::string> refs = {}) {
    std::vector<rft_str> strs;
    for (const auto& r : refs) strs.push_back(rftgate::host::Str(r));
    rft_check_request req{};
    req.struct_size = sizeof req;
    req.selection.struct_size = sizeof req.selection;
    req.selection.mode = strs.empty() ? RFT_SELECT_READY : RFT_SELECT_REFS;
    req.selection.refs = strs.data();
    req.selection.ref_count = strs.size();
    rftgate::host::Result result = g.Run(req, dry_run);
    std::map<std::string, OrderResult> out;
    for (uint64_t i = 0; i < result.Summary().orders; ++i) {
      rft_order_verdict v = result.Order(i);
      OrderResult& o = out[std::string(rftgate::host::View(v.ref))];
      EXPECT_EQ(v.decided_by, RFT_DECIDED_BY_CHECKS)
          << rftgate::host::View(v.reason);
      o.verdict = v.verdict == RFT_VERDICT_HOLD   ? "hold"
                  : v.verdict == RFT_VERDICT_WARN ? "warn"
                                                  : "pass";
      for (uint64_t j = 0; j < v.finding_count; ++j) {
        rft_finding_view f = result.Finding(i, j);
        o.checks.insert(std::string(rftgate::host::View(f.check_id)));
        o.messages.emplace_back(rftgate::host::View(f.message));
      }
    }
    return out;
  }

  static rft_selection Ready() {
    rft_selection s{};
    s.struct_size = sizeof s;
    s.mode = RFT_SELECT_READY;
    return s;
  }

  // rftgate's notes and activities in Odoo's mail tables, and its records,
  // for before/after comparisons.
  std::vector<std::string> Snapshot() {
    std::vector<std::string> all;
    auto add = [&](const std::string& what, const std::string& sql, size_t n) {
      for (auto& r : db_->Rows(sql, n)) all.push_back(what + ": " + r);
    };
    add("message",
        "SELECT CAST(id AS text), CAST(res_id AS text), message_type, body "
        "FROM mail_message ORDER BY id",
        4);
    add("activity",
        "SELECT CAST(id AS text), CAST(res_id AS text), summary, note FROM "
        "mail_activity ORDER BY id",
        4);
    if (db_->Value(
            "SELECT CAST(to_regclass('rftgate.error_record') AS text)") !=
        "NULL") {
      add("record",
          "SELECT order_ref, check_id, status, CAST(times_seen AS text) FROM "
          "rftgate.error_record ORDER BY 1, 2, 3",
          4);
      add("run", "SELECT run_id FROM rftgate.run ORDER BY 1", 1);
      add("chatter",
          "SELECT order_ref, state, CAST(message_id AS text), "
          "CAST(activity_id AS text) FROM rftgate.odoo_chatter ORDER BY 1",
          4);
    }
    return all;
  }

  std::string PickingId(const std::string& name) {
    return db_->Value(
        "SELECT CAST(id AS text) FROM stock_picking WHERE name = '" + name +
        "'");
  }
  // rftgate's notes on a transfer (authored by OdooBot's partner, 2).
  std::vector<std::string> Notes(const std::string& name) {
    return db_->Rows(
        "SELECT body FROM mail_message WHERE model = 'stock.picking' AND "
        "res_id = " +
            PickingId(name) +
            " AND author_id = 2 AND message_type = 'comment' ORDER BY id",
        1);
  }
  std::vector<std::string> Activities(const std::string& name) {
    return db_->Rows(
        "SELECT CAST(activity_type_id AS text), CAST(user_id AS text), summary "
        "FROM mail_activity WHERE res_model = 'stock.picking' AND res_id = " +
            PickingId(name) + " AND activity_type_id = 9 ORDER BY id",
        3);
  }

  std::unique_ptr<OdooTestDb> db_;
  fs::path dir_;
  std::shared_ptr<rftgate::host::Plugin> plugin_;
};

TEST_P(OdooTest, LoadsTheFirstOutgoingStepOfEachWarehouseWithExactValues) {
  LogCapture log;
  auto h = Open(&log);
  ASSERT_TRUE(h);
  RecordingSink sink;
  TestCall call;
  const rft_selection ready = Ready();
  ASSERT_EQ(Library().api().load(h->get(), &ready, sink.get(), call.get()),
            RFT_OK)
      << call.message();
  EXPECT_GE(log.CountPrefix("odoo: connected to"), 1u);

  // The version told from the schema, and what the database holds.
  std::map<std::string, std::string> described;
  TestCall describe_call;
  ASSERT_EQ(Library().api().describe(
                h->get(),
                [](void* ctx, rft_str key, rft_str value) {
                  (*static_cast<std::map<std::string, std::string>*>(
                      ctx))[*Own(key)] = Own(value).value_or("");
                },
                &described, describe_call.get()),
            RFT_OK)
      << describe_call.message();
  EXPECT_EQ(described["odoo version"], std::to_string(GetParam()));
  EXPECT_EQ(described["product_expiry"], "installed");
  EXPECT_EQ(described["delivery"], "installed");
  EXPECT_EQ(described["transfers ready"], "24");

  // The picks of WH (two steps) and the deliveries of WH2 (one step),
  // confirmed or assigned; not receipts, drafts, done, cancelled, or WH's
  // deliveries (its second step).
  std::set<std::string> refs;
  for (const auto& o : sink.orders) refs.insert(o.ref);
  std::set<std::string> expected;
  for (const auto& [ref, e] : ExpectedVerdicts()) expected.insert(ref);
  EXPECT_EQ(refs, expected);

  for (uint64_t cap : {RFT_CAP_ITEMS, RFT_CAP_UNITS, RFT_CAP_STOCK,
                       RFT_CAP_LOTS, RFT_CAP_LOCATIONS, RFT_CAP_CUSTOMERS,
                       RFT_CAP_CARRIERS, RFT_CAP_RESERVATIONS, RFT_CAP_HISTORY,
                       RFT_CAP_WEIGHTS, RFT_CAP_ADDRESSES}) {
    EXPECT_NE(sink.capabilities & cap, 0u) << cap;
  }

  auto order = [&](const std::string& ref) -> const OrderRec& {
    auto it = std::find_if(sink.orders.begin(), sink.orders.end(),
                           [&](const OrderRec& o) { return o.ref == ref; });
    EXPECT_NE(it, sink.orders.end()) << ref;
    return *it;
  };
  const OrderRec& p1 = order(PickName(1));
  EXPECT_EQ(p1.stable_id, "1");
  EXPECT_EQ(p1.site, "WH");
  EXPECT_EQ(p1.customer_ref, "10");
  EXPECT_EQ(p1.customer_order_ref, "S00001");
  EXPECT_EQ(p1.street, "12 Rue de Rivoli");
  EXPECT_EQ(p1.postcode, "75001");
  EXPECT_EQ(p1.country, "FR");
  EXPECT_EQ(p1.status_text, "confirmed");
  EXPECT_EQ(p1.ship_date.kind, RFT_TIME_UTC);
  int64_t today = adapters::NowUnixUs() / 86400000000LL;
  EXPECT_EQ(p1.ship_date.value,
            ((today + 2) * 86400LL + 10 * 3600) * 1000000LL);
  // No partner on the pick: its delivery's (same procurement group).
  EXPECT_EQ(order(PickName(22)).customer_ref, "10");
  // A delivery contact: shown under its company.
  EXPECT_EQ(order(PickName(20)).ship_to_name, "Gina Corp, Warehouse");
  EXPECT_EQ(order(PickName(18)).carrier, "Parcel Express");
  EXPECT_EQ(order("WH2/OUT/00001").site, "WH2");

  auto line = [&](const std::string& ref) -> const LineRec& {
    auto it =
        std::find_if(sink.lines.begin(), sink.lines.end(),
                     [&](const LineRec& l) { return l.order_ref == ref; });
    EXPECT_NE(it, sink.lines.end()) << ref;
    return *it;
  };
  // The service line of WH/PICK/00001 is not a line to pick.
  EXPECT_EQ(std::count_if(
                sink.lines.begin(), sink.lines.end(),
                [](const LineRec& l) { return l.order_ref == PickName(1); }),
            1);
  EXPECT_EQ(line(PickName(3)).uom, "Dozens");
  EXPECT_EQ(DecimalText(line(PickName(3)).qty), "2");
  EXPECT_EQ(line(PickName(1)).sku, "WIDGET");
  EXPECT_EQ(line(PickName(1)).location, "WH/Stock");
  EXPECT_FALSE(line(PickName(1)).lot.has_value());
  // Reserved at one place in one lot: that is the assigned location and lot.
  EXPECT_EQ(line(PickName(4)).lot, "L-EARLY");
  EXPECT_EQ(line(PickName(4)).location, "WH/Stock/Shelf 1");
  EXPECT_EQ(line(PickName(9)).location, "WH/Stock/Shelf 2");

  auto stock = [&](const std::string& sku, const std::string& location,
                   const OptString& lot) -> const StockRec* {
    for (const auto& s : sink.stock) {
      if (s.sku == sku && s.location == location && s.lot == lot) return &s;
    }
    return nullptr;
  };
  const StockRec* widget = stock("WIDGET", "WH/Stock/Shelf 1", std::nullopt);
  ASSERT_NE(widget, nullptr);
  EXPECT_EQ(DecimalText(widget->on_hand), "100");
  EXPECT_EQ(DecimalText(widget->reserved_qty), "0");
  const StockRec* gadget = stock("GADGET", "WH/Stock/Shelf 1", std::nullopt);
  ASSERT_NE(gadget, nullptr);
  EXPECT_EQ(DecimalText(gadget->reserved_qty), "3");
  // WH2's stock is not under WH/Stock, nor WH's under WH2/Stock: only the
  // quants under each transfer's source location.
  EXPECT_NE(stock("WIDGET", "WH2/Stock", std::nullopt), nullptr);
  EXPECT_EQ(stock("HEAVY", "WH2/Stock", std::nullopt), nullptr);

  std::map<std::string, int32_t> lot_status;
  for (const auto& l : sink.lots) lot_status[l.lot] = l.status;
  EXPECT_EQ(lot_status["L-Q"], RFT_LOT_QUARANTINE);
  EXPECT_EQ(lot_status["L-EARLY"], RFT_LOT_RELEASED);

  std::map<std::string, int32_t> blocked;
  for (const auto& c : sink.customers) blocked[c.ref] = c.blocked;
  EXPECT_EQ(blocked["15"], RFT_FLAG_YES);  // own warning: block
  EXPECT_EQ(blocked["17"], RFT_FLAG_YES);  // its company's: block
  EXPECT_EQ(blocked["19"], RFT_FLAG_NO);   // a mere warning
  EXPECT_EQ(blocked["10"], RFT_FLAG_NO);

  for (const auto& i : sink.items) {
    if (i.sku == "OLD-1") {
      EXPECT_EQ(i.active, RFT_FLAG_NO);
    } else if (i.sku == "HEAVY") {
      EXPECT_EQ(DecimalText(i.unit_weight_kg), "25");
    } else if (i.sku == "MILK") {
      EXPECT_EQ(i.lot_tracked, RFT_FLAG_YES);
    }
  }
  ASSERT_EQ(sink.carriers.size(), 1u);
  EXPECT_EQ(DecimalText(sink.carriers[0].max_parcel_weight_kg), "30");
  // Hal's five past deliveries.
  EXPECT_EQ(
      std::count_if(sink.history.begin(), sink.history.end(),
                    [](const HistoryRec& r) { return r.customer_ref == "18"; }),
      5);
}

TEST_P(OdooTest, LeavesOutPartnersAndHistoryWhenNoCheckReadsThem) {
  auto h = Open();
  ASSERT_TRUE(h);
  const rft_selection ready = Ready();
  RecordingSink all;
  TestCall call;
  ASSERT_EQ(Library().api().load(h->get(), &ready, all.get(), call.get()),
            RFT_OK)
      << call.message();
  ASSERT_FALSE(all.history.empty());
  ASSERT_FALSE(all.customers.empty());
  EXPECT_NE(all.capabilities & RFT_CAP_HISTORY, 0u);
  EXPECT_NE(all.capabilities & RFT_CAP_CUSTOMERS, 0u);

  RecordingSink some;
  some.SetNeeds(RFT_CAP_ITEMS | RFT_CAP_UNITS | RFT_CAP_STOCK | RFT_CAP_LOTS |
                RFT_CAP_LOCATIONS | RFT_CAP_RESERVATIONS);
  TestCall call2;
  ASSERT_EQ(Library().api().load(h->get(), &ready, some.get(), call2.get()),
            RFT_OK)
      << call2.message();
  EXPECT_TRUE(some.history.empty());
  EXPECT_TRUE(some.customers.empty());
  // Not announced: customer.hold and qty.outlier are not applicable.
  EXPECT_EQ(some.capabilities & RFT_CAP_HISTORY, 0u);
  EXPECT_EQ(some.capabilities & RFT_CAP_CUSTOMERS, 0u);
  EXPECT_EQ(some.capabilities | RFT_CAP_HISTORY | RFT_CAP_CUSTOMERS,
            all.capabilities);
  EXPECT_EQ(some.orders.size(), all.orders.size());
  EXPECT_EQ(some.lines.size(), all.lines.size());
  EXPECT_EQ(some.stock.size(), all.stock.size());
  EXPECT_EQ(some.lots.size(), all.lots.size());
}

TEST_P(OdooTest, EachTransferGetsTheVerdictOfItsDefect) {
  auto gate = OpenGate();
  auto results = Run(gate, /*dry_run=*/true);
  ASSERT_EQ(results.size(), ExpectedVerdicts().size());
  for (const auto& [ref, expected] : ExpectedVerdicts()) {
    ASSERT_TRUE(results.count(ref)) << ref;
    const OrderResult& got = results[ref];
    EXPECT_EQ(got.verdict, expected.verdict) << ref;
    EXPECT_EQ(got.checks, expected.checks)
        << ref << ": " << ::testing::PrintToString(got.messages);
  }
  // The warning text of the partner is the hold's reason.
  EXPECT_THAT(::testing::PrintToString(results[PickName(19)].messages),
              HasSubstr("unpaid"));
  EXPECT_THAT(::testing::PrintToString(results[PickName(20)].messages),
              HasSubstr("Credit stop"));
  // A dry run writes nothing.
  EXPECT_EQ(db_->Value("SELECT CAST(count(*) AS text) FROM mail_message"), "1");
  EXPECT_EQ(db_->Value("SELECT CAST(to_regclass('rftgate.run') AS text)"),
            "NULL");
}

// Odoo's lookup of the picking warning: a blocked company blocks its
// contacts whose own warning is none or a mere warning; a contact's own
// "block" blocks it; an unset warning is Odoo's default (no message).
TEST_P(OdooTest, PickingWarningsAreLookedUpAsOdooDoes) {
  auto gate = OpenGate();
  db_->Exec("UPDATE res_partner SET picking_warn = 'warning' WHERE id = 17");
  EXPECT_EQ(Run(gate, true, {PickName(20)})[PickName(20)].verdict, "hold");
  db_->Exec("UPDATE res_partner SET picking_warn = NULL WHERE id = 17");
  EXPECT_EQ(Run(gate, true, {PickName(20)})[PickName(20)].verdict, "hold");
  db_->Exec("UPDATE res_partner SET picking_warn = 'warning' WHERE id = 16");
  EXPECT_EQ(Run(gate, true, {PickName(20)})[PickName(20)].verdict, "pass");
  // Blocked by its own warning, whatever its company says.
  db_->Exec("UPDATE res_partner SET picking_warn = 'block' WHERE id = 17");
  auto r = Run(gate, true, {PickName(20)});
  EXPECT_EQ(r[PickName(20)].verdict, "hold");
  EXPECT_EQ(r[PickName(20)].checks, (std::set<std::string>{"customer.hold"}));
}

TEST_P(OdooTest, ChatterIsWrittenOnceEscapedAndResolvedOnAPassingRecheck) {
  auto gate = OpenGate();
  Run(gate, /*dry_run=*/false);

  // Every transfer with findings has one note; held ones one Exception
  // activity for their responsible (else the administrator).
  for (const auto& [ref, e] : ExpectedVerdicts()) {
    EXPECT_EQ(Notes(ref).size(), e.verdict == "pass" ? 0u : 1u) << ref;
    EXPECT_EQ(Activities(ref).size(), e.verdict == "hold" ? 1u : 0u) << ref;
  }
  EXPECT_EQ(
      Activities(PickName(20)),
      (std::vector<std::string>{"9|6|rftgate: held, 1 blocking finding(s)"}));
  EXPECT_EQ(
      Activities(PickName(19)),
      (std::vector<std::string>{"9|2|rftgate: held, 1 blocking finding(s)"}));
  const std::string p19 = PickingId(PickName(19));
  // Filled as Odoo fills a logged note and a scheduled activity.
  EXPECT_EQ(db_->Rows("SELECT model, record_name, message_type, "
                      "CAST(subtype_id AS text), CAST(author_id AS text), "
                      "email_from, CAST(create_uid AS text), "
                      "CAST(date IS NOT NULL AS text) FROM mail_message WHERE "
                      "res_id = " +
                          p19 + " AND author_id = 2",
                      8),
            (std::vector<std::string>{
                "stock.picking|WH/PICK/00019|comment|2|2|\"OdooBot\" "
                "<odoobot@example.com>|1|true"}));
  EXPECT_EQ(db_->Rows("SELECT CAST(res_model_id AS text), res_model, res_name, "
                      "CAST(automated AS text), CAST(date_deadline = "
                      "CAST(now() AT TIME ZONE 'UTC' AS date) AS text), "
                      "CAST(create_uid AS text) FROM mail_activity WHERE "
                      "activity_type_id = 9 AND res_id = " +
                          p19,
                      6),
            (std::vector<std::string>{
                "310|stock.picking|WH/PICK/00019|true|true|1"}));
  // Data from the database is never markup.
  std::string note = Notes(PickName(19)).at(0);
  EXPECT_THAT(note, HasSubstr("&lt;img src=x onerror=alert(1)&gt; unpaid "
                              "&amp; &quot;overdue&quot;"));
  EXPECT_THAT(note, Not(HasSubstr("<img")));
  EXPECT_THAT(note, HasSubstr("<code>customer.hold</code>"));
  EXPECT_THAT(db_->Value("SELECT note FROM mail_activity WHERE "
                         "activity_type_id = 9 AND res_id = " +
                         p19),
              Not(HasSubstr("<img")));

  // A re-check changes nothing but the run: no second note or activity.
  const std::string messages_before =
      db_->Value("SELECT CAST(count(*) AS text) FROM mail_message");
  const std::string activities_before = db_->Value(
      "SELECT string_agg(CAST(id AS text), ',' ORDER BY id) FROM "
      "mail_activity");
  Run(gate, /*dry_run=*/false);
  EXPECT_EQ(db_->Value("SELECT CAST(count(*) AS text) FROM mail_message"),
            messages_before);
  EXPECT_EQ(db_->Value("SELECT string_agg(CAST(id AS text), ',' ORDER BY id) "
                       "FROM mail_activity"),
            activities_before);
  EXPECT_EQ(
      db_->Value("SELECT CAST(max(times_seen) AS text) FROM "
                 "rftgate.error_record WHERE order_ref = 'WH/PICK/00019'"),
      "2");

  // The partner's block is lifted: the transfer passes, its records are
  // resolved and the activity is done the way Odoo does it.
  db_->Exec("UPDATE res_partner SET picking_warn = 'no-message' WHERE id = 15");
  auto again = Run(gate, /*dry_run=*/false, {PickName(19)});
  EXPECT_EQ(again[PickName(19)].verdict, "pass");
  EXPECT_TRUE(Activities(PickName(19)).empty());
  EXPECT_EQ(db_->Value("SELECT string_agg(status, ',') FROM "
                       "rftgate.error_record WHERE order_ref = "
                       "'WH/PICK/00019'"),
            "resolved");
  auto done = db_->Rows(
      "SELECT message_type, CAST(subtype_id AS text), "
      "CAST(mail_activity_type_id AS text), body FROM mail_message WHERE "
      "res_id = " +
          p19 + " AND subtype_id = 3",
      4);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_THAT(done[0], HasSubstr("notification|3|9|"));
  EXPECT_THAT(done[0], HasSubstr("Exception</span> done"));
  EXPECT_THAT(done[0], Not(HasSubstr("<img")));
  // What people wrote on the transfer is left alone.
  EXPECT_EQ(db_->Value("SELECT body FROM mail_message WHERE id = 1"),
            "<p>Customer called about this delivery.</p>");
  EXPECT_EQ(db_->Value("SELECT summary FROM mail_activity WHERE id = 1"),
            "Call the customer");
  // Others keep theirs.
  EXPECT_EQ(Activities(PickName(20)).size(), 1u);

  // Held again later: a new episode, a new note and activity.
  db_->Exec("UPDATE res_partner SET picking_warn = 'block' WHERE id = 15");
  Run(gate, /*dry_run=*/false, {PickName(19)});
  EXPECT_EQ(Notes(PickName(19)).size(), 2u);
  EXPECT_EQ(Activities(PickName(19)).size(), 1u);
}

// A held transfer whose findings become warnings (here: the check is
// made a warning) keeps its note, updated, and its activity is done.
TEST_P(OdooTest, AHoldThatBecomesAWarningClosesTheActivity) {
  {
    auto gate = OpenGate();
    Run(gate, /*dry_run=*/false, {PickName(19)});
  }
  ASSERT_EQ(Activities(PickName(19)).size(), 1u);
  auto gate = OpenGate(kOptions, "", "  customer.hold: warn\n");
  EXPECT_EQ(Run(gate, /*dry_run=*/false, {PickName(19)})[PickName(19)].verdict,
            "warn");
  EXPECT_TRUE(Activities(PickName(19)).empty());
  auto notes = Notes(PickName(19));
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_THAT(notes[0], HasSubstr("released with warnings"));
  EXPECT_THAT(notes[0], HasSubstr("<b>[warn]</b>"));
  EXPECT_EQ(db_->Value("SELECT CAST(count(*) AS text) FROM mail_message "
                       "WHERE subtype_id = 3 AND res_id = " +
                       PickingId(PickName(19))),
            "1");
}

TEST_P(OdooTest, ActivityTypesThatKeepDoneActivitiesArchiveThem) {
  if (GetParam() != 17) GTEST_SKIP() << "keep_done is Odoo 17's";
  db_->Exec("UPDATE mail_activity_type SET keep_done = TRUE WHERE id = 9");
  auto gate = OpenGate();
  Run(gate, /*dry_run=*/false, {PickName(19)});
  const std::string p19 = PickingId(PickName(19));
  ASSERT_EQ(Activities(PickName(19)).size(), 1u);
  db_->Exec("UPDATE res_partner SET picking_warn = 'no-message' WHERE id = 15");
  Run(gate, /*dry_run=*/false, {PickName(19)});
  EXPECT_EQ(db_->Rows("SELECT CAST(active AS text), CAST(date_done IS NOT NULL "
                      "AS text) FROM mail_activity WHERE activity_type_id = 9 "
                      "AND res_id = " +
                          p19,
                      2),
            (std::vector<std::string>{"false|true"}));
}

TEST_P(OdooTest, NotesAndActivitiesGoToTheConfiguredUsers) {
  auto gate = OpenGate(
      R"({"author_login": "admin", "activity_user_login": "demo",
          "activity_delay_days": 2})");
  Run(gate, /*dry_run=*/false, {PickName(19)});
  // No responsible on the transfer: the configured user (demo, 6).
  EXPECT_EQ(
      Activities(PickName(19)),
      (std::vector<std::string>{"9|6|rftgate: held, 1 blocking finding(s)"}));
  EXPECT_EQ(db_->Value("SELECT CAST(date_deadline - CAST(now() AT TIME ZONE "
                       "'UTC' AS date) AS text) FROM mail_activity WHERE "
                       "activity_type_id = 9"),
            "2");
  // Authored by the admin's partner (3), created by the admin (2).
  EXPECT_EQ(
      db_->Rows("SELECT CAST(author_id AS text), CAST(create_uid AS "
                "text), email_from FROM mail_message WHERE res_id = " +
                    PickingId(PickName(19)) + " AND id > 1",
                3),
      (std::vector<std::string>{"3|2|\"Mitchell Admin\" <admin@example.com>"}));
}

TEST_P(OdooTest, ChatterCanBeLeftToTheOdooModule) {
  auto gate = OpenGate(R"({"chatter": false})");
  auto results = Run(gate, /*dry_run=*/false);
  EXPECT_EQ(results[PickName(19)].verdict, "hold");
  EXPECT_EQ(db_->Value("SELECT CAST(count(*) AS text) FROM mail_message"), "1");
  EXPECT_EQ(db_->Value("SELECT CAST(count(*) AS text) FROM mail_activity"),
            "1");
  // The records the module reads to refuse validation.
  EXPECT_EQ(db_->Value("SELECT string_agg(check_id, ',') FROM "
                       "rftgate.error_record WHERE order_ref = "
                       "'WH/PICK/00019' AND status = 'open' AND severity = "
                       "'block'"),
            "customer.hold");
}

// Odoo without the delivery and product_expiry modules: no carriers, no lot
// dates. The checks that need them are not applicable, the others run.
TEST_P(OdooTest, WorksWithoutTheDeliveryAndExpiryModules) {
  db_->Exec("ALTER TABLE stock_picking DROP COLUMN carrier_id");
  db_->Exec("ALTER TABLE stock_picking DROP COLUMN weight");
  db_->Exec("DROP TABLE delivery_carrier");
  for (const char* c :
       {"expiration_date", "use_date", "removal_date", "alert_date"}) {
    db_->Exec(std::string("ALTER TABLE stock_lot DROP COLUMN ") + c);
  }
  auto gate = OpenGate();
  rft_check_request req{};
  req.struct_size = sizeof req;
  req.selection.struct_size = sizeof req.selection;
  req.selection.mode = RFT_SELECT_READY;
  rftgate::host::Result result = gate.Run(req, /*dry_run=*/true);
  std::set<std::string> not_applicable;
  for (uint64_t i = 0; i < result.Summary().notes; ++i) {
    not_applicable.insert(
        std::string(rftgate::host::View(result.Note(i).check_id)));
  }
  EXPECT_TRUE(not_applicable.count("carrier.constraint"))
      << ::testing::PrintToString(not_applicable);
  auto results = Run(gate, /*dry_run=*/true);
  EXPECT_EQ(results[PickName(18)].verdict, "pass");
  EXPECT_FALSE(results[PickName(11)].checks.count("lot.expired"));
  EXPECT_EQ(results[PickName(19)].checks,
            (std::set<std::string>{"customer.hold"}));
  EXPECT_EQ(results[PickName(8)].checks,
            (std::set<std::string>{"stock.short"}));
}

// The grants of docs/adapters/odoo.md are enough, out of process: a role
// with only those checks, writes its records and the chatter, updates and
// closes activities.
TEST_P(OdooTest, TheDocumentedGrantsAreEnough) {
  const std::string role = "rft_least_" + std::to_string(getpid()) + "_v" +
                           std::to_string(GetParam());
  const std::vector<std::string> grants = {
      "CREATE ROLE " + role + " LOGIN",
      "CREATE SCHEMA rftgate AUTHORIZATION " + role,
      "GRANT USAGE ON SCHEMA public TO " + role,
      "GRANT SELECT ON stock_picking, stock_move, stock_move_line, "
      "stock_quant, stock_lot, stock_location, stock_picking_type, "
      "stock_warehouse, product_product, product_template, product_category, "
      "product_removal, uom_uom, uom_category, res_partner, res_country, "
      "delivery_carrier TO " +
          role,
      "GRANT SELECT ON ir_model, ir_model_data, res_users, "
      "mail_activity_type, mail_message, mail_activity TO " +
          role,
      "GRANT INSERT ON mail_message, mail_activity TO " + role,
      "GRANT UPDATE (body, write_date, write_uid) ON mail_message TO " + role,
      "GRANT UPDATE (summary, note, write_date, write_uid) ON mail_activity "
      "TO " +
          role,
      "GRANT DELETE ON mail_activity TO " + role,
      "GRANT USAGE ON SEQUENCE mail_message_id_seq, mail_activity_id_seq TO " +
          role,
  };
  for (const auto& g : grants) db_->Exec(g);
  if (GetParam() == 17) {
    db_->Exec("GRANT UPDATE (active, date_done) ON mail_activity TO " + role);
  }
  {
    auto gate = OpenGate(
        kOptions, "postgresql://" + WithPgParam(db_->params(), "user", role));
    auto results = Run(gate, /*dry_run=*/false);
    EXPECT_EQ(results[PickName(19)].verdict, "hold");
    EXPECT_EQ(Activities(PickName(19)).size(), 1u);
    Run(gate, /*dry_run=*/false, {PickName(19)});  // updates in place
    db_->Exec(
        "UPDATE res_partner SET picking_warn = 'no-message' WHERE id = 15");
    EXPECT_EQ(
        Run(gate, /*dry_run=*/false, {PickName(19)})[PickName(19)].verdict,
        "pass");
    EXPECT_TRUE(Activities(PickName(19)).empty());
    EXPECT_EQ(Notes(PickName(20)).size(), 1u);
  }
  // Nothing of Odoo's was granted beyond the list: e.g. no right to alter.
  EXPECT_EQ(db_->Value("SELECT CAST(has_table_privilege('" + role +
                       "', 'stock_picking', 'UPDATE') AS text)"),
            "false");
  db_.reset();
  const char* env = std::getenv("RFTGATE_TEST_PG");
  adapters::Database admin(
      adapters::ParseConnection(std::string("postgresql://") + env, ""),
      adapter::Logger());
  admin.Exec("DROP ROLE IF EXISTS " + role);
}

TEST_P(OdooTest, RefusesWhatIsNotAnOdooDatabaseOrAGoodOption) {
  rft_status status;
  std::string message;
  auto h = OpenAdapter(Library(), "sqlite3://db=/nonexistent.db", "{}",
                       dir_.string(), nullptr, &status, &message);
  EXPECT_EQ(status, RFT_ERR_CONFIG);
  EXPECT_THAT(message, HasSubstr("postgresql://"));

  h = OpenAdapter(Library(), db_->connection(), R"({"state": ["assigned"]})",
                  dir_.string(), nullptr, &status, &message);
  EXPECT_EQ(status, RFT_ERR_CONFIG);
  EXPECT_THAT(message, HasSubstr("adapter.options.state: unknown option"));

  h = OpenAdapter(Library(), db_->connection(), R"({"states": ["ready"]})",
                  dir_.string(), nullptr, &status, &message);
  EXPECT_EQ(status, RFT_ERR_CONFIG);
  EXPECT_THAT(message, HasSubstr("'ready' is not a transfer state"));

  db_->Exec("ALTER TABLE stock_lot RENAME TO stock_production_lot");
  h = OpenAdapter(Library(), db_->connection(), "{}", dir_.string(), nullptr,
                  &status, &message);
  EXPECT_EQ(status, RFT_ERR_CONFIG);
  EXPECT_THAT(message, HasSubstr("before 16.0"));

  db_->Exec("DROP TABLE stock_quant");
  h = OpenAdapter(Library(), db_->connection(), "{}", dir_.string(), nullptr,
                  &status, &message);
  EXPECT_EQ(status, RFT_ERR_CONFIG);
  EXPECT_THAT(message, HasSubstr("stock_quant"));
}

INSTANTIATE_TEST_SUITE_P(Odoo, OdooTest, ::testing::Values(16, 17),
                         [](const auto& info) {
                           return "v" + std::to_string(info.param);
                         });

// The connection of the adapter is killed while it writes a run back: the
// run's chatter and records are all or nothing.
class OdooKillTest : public OdooTest {
 protected:
  std::string ExtraParams() const override {
    return " application_name=rftgate-odoo-kill-test";
  }
};

TEST_P(OdooKillTest, ConnectionKilledMidWriteLeavesNothingHalfWritten) {
  LogCapture log;
  auto h = Open(&log);
  ASSERT_TRUE(h);
  std::string message;
  SyntheticRun first;
  first.run_id = "first";
  first.rows.push_back({PickName(5), RFT_VERDICT_HOLD});
  first.findings.push_back({PickName(5), 1, "item.inactive"});
  ASSERT_EQ(first.Write(Library().api(), h->get(), &message), RFT_OK)
      << message;
  const auto before = Snapshot();
  ASSERT_FALSE(before.empty());

  // A run that holds every released pick, killed once its findings are
  // written (after the chatter, before the commit).
  SyntheticRun run;
  run.run_id = "terminated";
  for (int i = 1; i <= 23; ++i) {
    run.rows.push_back({PickName(i), RFT_VERDICT_HOLD});
    run.findings.push_back({PickName(i), 1, "stock.short", RFT_SEVERITY_BLOCK,
                            "short <b>" + std::to_string(i) + "</b>"});
  }
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
  rft_status status = RFT_OK;
  std::thread writer(
      [&] { status = run.Write(Library().api(), h->get(), &message); });
  reached.get_future().wait();
  // Whatever happens here, the writer is resumed and joined before any
  // assertion can end the test.
  std::string killed;
  try {
    killed = db_->Value(
        "SELECT CAST(count(pg_terminate_backend(pid)) AS text) FROM "
        "pg_stat_activity WHERE application_name = 'rftgate-odoo-kill-test' "
        "AND datname = current_database() AND pid <> pg_backend_pid()");
  } catch (const std::exception& e) {
    killed = std::string("error: ") + e.what();
  }
  resume.set_value();
  writer.join();
  ASSERT_EQ(killed, "1");
  EXPECT_EQ(status, RFT_ERR_DATABASE) << message;
  EXPECT_EQ(Snapshot(), before);

  // The retry writes the run once, chatter included.
  log.hook = nullptr;
  ASSERT_EQ(run.Write(Library().api(), h->get(), &message), RFT_OK) << message;
  EXPECT_EQ(db_->Value("SELECT CAST(count(*) AS text) FROM "
                       "rftgate.check_run WHERE run_id = 'terminated'"),
            "23");
  EXPECT_EQ(db_->Value("SELECT CAST(count(*) AS text) FROM mail_activity "
                       "WHERE activity_type_id = 9"),
            "23");
  EXPECT_EQ(db_->Value("SELECT CAST(count(*) AS text) FROM mail_message "
                       "WHERE body LIKE '%short &lt;b&gt;%'"),
            "23");
  // Written twice, changed once.
  ASSERT_EQ(run.Write(Library().api(), h->get(), &message), RFT_OK) << message;
  EXPECT_EQ(db_->Value("SELECT CAST(count(*) AS text) FROM mail_activity "
                       "WHERE activity_type_id = 9"),
            "23");
}

INSTANTIATE_TEST_SUITE_P(Odoo, OdooKillTest, ::testing::Values(16, 17),
                         [](const auto& info) {
                           return "v" + std::to_string(info.param);
                         });

}  // namespace
}  // namespace rftgate::testing

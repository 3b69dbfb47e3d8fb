// Test support for the SQL adapter: a tiny WMS schema created in a fresh
// database on SQLite, PostgreSQL or MariaDB, its mapping, and table
// snapshots. PostgreSQL and MariaDB come from RFTGATE_TEST_PG /
// RFTGATE_TEST_MYSQL (tests/support/with-databases.sh sets them).
#ifndef RFTGATE_TESTS_ADAPTERS_SQL_TEST_WMS_H_
#define RFTGATE_TESTS_ADAPTERS_SQL_TEST_WMS_H_

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "adapters/common/database.h"

namespace rftgate::testing {

using adapters::Dialect;

// Replaces (or adds) `key=value` in a space-separated parameter string.
inline std::string WithParam(const std::string& params, const std::string& key,
                             const std::string& value) {
  std::istringstream in(params);
  std::string token, out;
  while (in >> token) {
    if (token.rfind(key + "=", 0) == 0) continue;
    out += token + " ";
  }
  return out + key + "=" + value;
}

// A fresh database with the tiny WMS schema on one backend.
class TestWms {
 public:
  // "sqlite3", "postgresql" or "mysql". Returns nullptr and a reason when
  // the server is not configured.
  static std::unique_ptr<TestWms> Create(const std::string& backend,
                                         std::string* skip_reason,
                                         const std::string& extra_params = "") {
    auto w = std::unique_ptr<TestWms>(new TestWms());
    static std::atomic<int> counter{0};
    std::string name =
        "rft_t_" + std::to_string(getpid()) + "_" + std::to_string(counter++);
    adapter::Logger none;
    if (backend == "sqlite3") {
      w->dialect_ = Dialect::kSqlite;
      auto dir = std::filesystem::temp_directory_path() / name;
      std::filesystem::create_directories(dir);
      w->dir_ = dir.string();
      w->sqlite_path_ = (dir / "wms.db").string();
      // Create the file.
      std::FILE* f = std::fopen(w->sqlite_path_.c_str(), "w");
      if (f != nullptr) std::fclose(f);
      w->connection_ = "sqlite3://db=" + w->sqlite_path_;
    } else {
      const char* env = std::getenv(
          backend == "postgresql" ? "RFTGATE_TEST_PG" : "RFTGATE_TEST_MYSQL");
      if (env == nullptr || *env == '\0') {
        *skip_reason =
            std::string(backend == "postgresql" ? "RFTGATE_TEST_PG"
                                                : "RFTGATE_TEST_MYSQL") +
            " is not set (run through tests/support/with-databases.sh)";
        return nullptr;
      }
      std::string admin_params = env;
      w->dialect_ =
          backend == "postgresql" ? Dialect::kPostgres : Dialect::kMysql;
      w->admin_ = std::make_unique<adapters::Database>(
          adapters::ParseConnection(backend + "://" + admin_params, ""), none);
      w->admin_->Exec("CREATE DATABASE " + name);
      w->db_name_ = name;
      std::string key = backend == "postgresql" ? "dbname" : "db";
      w->connection_ =
          backend + "://" + WithParam(admin_params, key, name) + extra_params;
      w->dir_ = std::filesystem::temp_directory_path().string();
    }
    w->session_ = std::make_unique<adapters::Database>(
        adapters::ParseConnection(w->connection_, ""), none);
    w->CreateSchema();
    return w;
  }

  ~TestWms() {
    session_.reset();
    if (admin_ && !db_name_.empty()) {
      try {
        if (dialect_ == Dialect::kPostgres) {
          admin_->Exec("DROP DATABASE IF EXISTS " + db_name_ + " WITH (FORCE)");
        } else {
          admin_->Exec("DROP DATABASE IF EXISTS " + db_name_);
        }
      } catch (...) {
      }
    }
    if (!sqlite_path_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
  }

  Dialect dialect() const { return dialect_; }
  const std::string& connection() const { return connection_; }
  const std::string& dir() const { return dir_; }
  const std::string& db_name() const { return db_name_; }
  adapters::Database& db() { return *session_; }
  adapters::Database* admin() { return admin_.get(); }
  // The connection to the test database itself.
  adapters::Database& session() { return *session_; }

  void Exec(const std::string& sql) { session_->Exec(sql); }

  // Text of every row of a query, one string per row ("a|b|NULL").
  std::vector<std::string> Rows(const std::string& sql, size_t columns) {
    std::vector<std::string> out;
    session_->Query(sql, {}, columns, 256, [&](const adapters::TextBatch& b) {
      for (size_t r = 0; r < b.rows(); ++r) {
        std::string row;
        for (size_t c = 0; c < columns; ++c) {
          if (c > 0) row += "|";
          row += b.IsNull(r, c) ? "NULL" : std::string(b.At(r, c));
        }
        out.push_back(row);
      }
    });
    return out;
  }
  std::string Value(const std::string& sql) {
    auto v = session_->QueryValue(sql);
    return v ? *v : "NULL";
  }
  std::string T(const std::string& expr) const {
    return adapters::AsText(dialect_, expr);
  }

  // Orders `first`..`first+count-1` (refs "O<n>"), 3 lines each, in `state`,
  // created `days_ago` days before today.
  void AddOrders(int first, int count, const std::string& state,
                 int days_ago = 0) {
    for (int start = first; start < first + count; start += 200) {
      int end = std::min(first + count, start + 200);
      std::string orders =
          "INSERT INTO wms_order (id, ref, customer, state, ship_date, "
          "created, released, prio, service, postcode, country) VALUES ";
      std::string lines =
          "INSERT INTO wms_line (id, order_id, pos, sku, qty, uom, loc, lot) "
          "VALUES ";
      for (int i = start; i < end; ++i) {
        std::string created = DaysAgo(days_ago) + " 10:15:00";
        std::string released = DaysAgo(days_ago) + " 11:30:00";
        orders += (i > start ? ", " : "") + std::string("(") +
                  std::to_string(i) + ", 'O" + std::to_string(i) + "', 'C" +
                  std::to_string(i % 5 + 1) + "', '" + state + "', '" +
                  DaysAgo(days_ago - 1) + "', '" + created + "', '" + released +
                  "', " + std::to_string(i % 3) + ", 'PARCEL', '75001', 'FR')";
        for (int l = 1; l <= 3; ++l) {
          lines += (i > start || l > 1 ? ", " : "") + std::string("(") +
                   std::to_string(i * 10 + l) + ", " + std::to_string(i) +
                   ", " + std::to_string(l) + ", 'S" +
                   std::to_string((i + l) % 10 + 1) + "', " +
                   (l == 2 ? "2.5" : "4") + ", " + (l == 3 ? "'CS'" : "'EA'") +
                   ", " + (l == 1 ? "'A-01'" : "NULL") + ", NULL)";
        }
      }
      Exec(orders);
      Exec(lines);
    }
  }

  // YYYY-MM-DD, `n` days before today (UTC).
  static std::string DaysAgo(int n) {
    int64_t today = adapters::NowUnixUs() / 86400000000LL;
    return adapters::FormatDate(today - n);
  }

  // The mapping of the tiny WMS, as YAML text.
  static std::string Mapping() {
    return R"YAML(
version: 1
timestamps: local
sources:
  orders:
    table: wms_order
    columns: {key: id, ref: ref, customer_ref: customer, status: state,
              ship_date: ship_date, created_at: created, release_at: released,
              priority: prio, carrier_service: service, postcode: postcode,
              country: country}
    ready: {column: state, in: [released, ready]}
    range_column: released
    hold: {column: hold_flag, value: "1"}
  lines:
    table: wms_line
    columns: {order_key: order_id, line_no: pos, line_ref: id, sku: sku,
              qty: qty, uom: uom, location: loc, lot: lot}
  items:
    table: wms_item
    columns: {unit_weight_kg: weight}
  units: {table: wms_uom}
  item_units: {table: wms_pack, columns: {factor: qty}}
  stock: {table: wms_stock, columns: {reserved_qty: reserved}}
  lots: {table: wms_lot}
  locations: {table: wms_location}
  customers: {table: wms_customer, columns: {ref: code, min_shelf_life_days: min_shelf}}
  carrier_services:
    table: wms_carrier
    columns: {hazmat_allowed: hazmat, max_parcel_weight_kg: max_kg}
  history:
    days: 90
    where: {column: state, not_in: [cancelled]}
writeback:
  tables: {error_records: rft_errors}
)YAML";
  }

 private:
  TestWms() = default;

  void CreateSchema() {
    const std::string ts = dialect_ == Dialect::kPostgres ? "TIMESTAMP"
                           : dialect_ == Dialect::kMysql  ? "DATETIME"
                                                          : "TEXT";
    for (const std::string& ddl : std::vector<std::string>{
             "CREATE TABLE wms_customer (code VARCHAR(20) PRIMARY KEY, "
             "blocked SMALLINT NOT NULL, credit_hold SMALLINT NOT NULL, "
             "min_shelf INTEGER)",
             "CREATE TABLE wms_item (sku VARCHAR(20) PRIMARY KEY, active "
             "SMALLINT, lot_tracked SMALLINT, weight NUMERIC(12,3), base_uom "
             "VARCHAR(8))",
             "CREATE TABLE wms_pack (sku VARCHAR(20), uom VARCHAR(8), qty "
             "NUMERIC(12,3))",
             "CREATE TABLE wms_uom (code VARCHAR(8) PRIMARY KEY, category "
             "VARCHAR(20), factor NUMERIC(12,6), rounding NUMERIC(12,6))",
             "CREATE TABLE wms_location (code VARCHAR(20) PRIMARY KEY, "
             "pickable SMALLINT, blocked SMALLINT, zone VARCHAR(8))",
             "CREATE TABLE wms_lot (sku VARCHAR(20), lot VARCHAR(20), expiry "
             "DATE, status VARCHAR(16))",
             "CREATE TABLE wms_stock (sku VARCHAR(20), location VARCHAR(20), "
             "lot VARCHAR(20), on_hand NUMERIC(14,3), reserved NUMERIC(14,3))",
             "CREATE TABLE wms_carrier (code VARCHAR(20) PRIMARY KEY, carrier "
             "VARCHAR(20), hazmat SMALLINT, max_kg NUMERIC(10,2), cutoff "
             "VARCHAR(5))",
             "CREATE TABLE wms_order (id INTEGER PRIMARY KEY, ref VARCHAR(40) "
             "NOT NULL UNIQUE, customer VARCHAR(20), state VARCHAR(16), "
             "ship_date DATE, created " +
                 ts + ", released " + ts +
                 ", prio INTEGER, service VARCHAR(20), postcode VARCHAR(12), "
                 "country VARCHAR(2), hold_flag SMALLINT NOT NULL DEFAULT 0)",
             "CREATE TABLE wms_line (id INTEGER PRIMARY KEY, order_id INTEGER "
             "NOT NULL, pos INTEGER NOT NULL, sku VARCHAR(20), qty "
             "NUMERIC(14,3), uom VARCHAR(8), loc VARCHAR(20), lot "
             "VARCHAR(20))",
         }) {
      Exec(ddl);
    }
    Exec(
        "INSERT INTO wms_customer VALUES ('C1', 0, 0, NULL), ('C2', 0, 1, "
        "NULL), ('C3', 1, 0, NULL), ('C4', 0, 0, 60), ('C5', 0, 0, NULL)");
    std::string items = "INSERT INTO wms_item VALUES ";
    std::string packs = "INSERT INTO wms_pack VALUES ";
    std::string stock = "INSERT INTO wms_stock VALUES ";
    for (int i = 1; i <= 10; ++i) {
      std::string sku = "'S" + std::to_string(i) + "'";
      items += (i > 1 ? ", " : "") + std::string("(") + sku + ", " +
               (i == 9 ? "0" : "1") + ", " + (i % 2 == 0 ? "1" : "0") +
               ", 0.125, 'EA')";
      packs += (i > 1 ? ", " : "") + std::string("(") + sku + ", 'CS', 12)";
      stock += (i > 1 ? ", " : "") + std::string("(") + sku + ", 'A-01', " +
               (i % 2 == 0 ? "'L" + std::to_string(i) + "'" : "NULL") +
               ", 1000.5, 3)";
    }
    Exec(items);
    Exec(packs);
    Exec(stock);
    Exec(
        "INSERT INTO wms_uom VALUES ('EA', 'unit', 1, 1), ('KG', 'weight', 1, "
        "0.001)");
    Exec(
        "INSERT INTO wms_location VALUES ('A-01', 1, 0, 'A'), ('BULK', 0, 0, "
        "'B'), ('UNUSED', 1, 0, 'A')");
    std::string lots = "INSERT INTO wms_lot VALUES ";
    for (int i = 2; i <= 10; i += 2) {
      lots += (i > 2 ? ", " : "") + std::string("('S") + std::to_string(i) +
              "', 'L" + std::to_string(i) + "', '2031-12-31', " +
              (i == 4 ? "'quarantine'" : "'released'") + ")";
    }
    Exec(lots);
    Exec(
        "INSERT INTO wms_carrier VALUES ('PARCEL', 'DPD', 0, 31.5, '16:30'), "
        "('FREIGHT', 'GEODIS', 1, NULL, NULL)");
  }

  Dialect dialect_ = Dialect::kSqlite;
  std::string connection_;
  std::string dir_;
  std::string sqlite_path_;
  std::string db_name_;
  std::unique_ptr<adapters::Database> admin_;
  std::unique_ptr<adapters::Database> session_;
};

}  // namespace rftgate::testing

#endif  // RFTGATE_TESTS_ADAPTERS_SQL_TEST_WMS_H_

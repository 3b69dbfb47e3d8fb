// Test support for the Odoo adapter: a fresh PostgreSQL database shaped as
// Odoo 16 or 17 creates it (tests/adapters/odoo/data), seeded with the
// test warehouse. The server comes from RFTGATE_TEST_PG
// (tests/support/with-databases.sh sets it).
#ifndef RFTGATE_TESTS_ADAPTERS_ODOO_ODOO_TEST_DB_H_
#define RFTGATE_TESTS_ADAPTERS_ODOO_ODOO_TEST_DB_H_

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "adapters/common/database.h"

namespace rftgate::testing {

// Replaces (or adds) `key=value` in a space-separated parameter string.
inline std::string WithPgParam(const std::string& params,
                               const std::string& key,
                               const std::string& value) {
  std::istringstream in(params);
  std::string token, out;
  while (in >> token) {
    if (token.rfind(key + "=", 0) == 0) continue;
    out += token + " ";
  }
  return out + key + "=" + value;
}

// The statements of an SQL file: each ends with ";" at the end of a line;
// "--" comment lines are dropped.
inline std::vector<std::string> SqlStatements(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::vector<std::string> out;
  std::string line, current;
  while (std::getline(in, line)) {
    size_t first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line.compare(first, 2, "--") == 0) {
      continue;
    }
    current += line + "\n";
    size_t last = line.find_last_not_of(" \t\r");
    if (line[last] == ';') {
      out.push_back(current);
      current.clear();
    }
  }
  if (current.find_first_not_of(" \t\r\n") != std::string::npos) {
    out.push_back(current);
  }
  return out;
}

class OdooTestDb {
 public:
  // A database for Odoo `version` (16 or 17), seeded. Returns nullptr and
  // a reason when no server is configured. `extra_params` are appended to
  // the adapter's connection string. The schema and seed are loaded once
  // per server into a template database (named after a hash of the data
  // files, created under an advisory lock so that parallel tests share
  // it); each test gets a copy.
  static std::unique_ptr<OdooTestDb> Create(int version,
                                            std::string* skip_reason,
                                            const std::string& extra_params) {
    const char* env = std::getenv("RFTGATE_TEST_PG");
    if (env == nullptr || *env == '\0') {
      *skip_reason =
          "RFTGATE_TEST_PG is not set (run through "
          "tests/support/with-databases.sh)";
      return nullptr;
    }
    auto db = std::unique_ptr<OdooTestDb>(new OdooTestDb());
    static std::atomic<int> counter{0};
    db->name_ = "rft_odoo" + std::to_string(version) + "_" +
                std::to_string(getpid()) + "_" + std::to_string(counter++);
    adapter::Logger none;
    db->admin_ = std::make_unique<adapters::Database>(
        adapters::ParseConnection(std::string("postgresql://") + env, ""),
        none);
    const std::string dir = RFTGATE_ODOO_TEST_DATA;
    const std::string v = std::to_string(version);
    const std::vector<std::string> files = {
        dir + "/odoo_schema.sql", dir + "/odoo" + v + ".sql",
        dir + "/odoo_seed.sql", dir + "/odoo" + v + "_seed.sql"};
    std::string all;
    for (const auto& f : files) {
      std::ifstream in(f);
      all += std::string(std::istreambuf_iterator<char>(in), {});
    }
    const std::string tpl =
        "rft_odoo" + v + "_tpl_" +
        std::to_string(std::hash<std::string>()(all) % 1000000007ULL);
    db->admin_->QueryValue(
        "SELECT '1' FROM (SELECT pg_advisory_lock(4207311)) AS l");
    bool creating = false;
    try {
      if (!db->admin_->QueryValue(
              "SELECT datname FROM pg_database WHERE datname = :p0",
              {adapters::Text(tpl)})) {
        db->admin_->Exec("CREATE DATABASE " + tpl);
        creating = true;
        adapters::Database seed(
            adapters::ParseConnection(
                "postgresql://" + WithPgParam(env, "dbname", tpl), ""),
            none);
        for (const auto& f : files) {
          for (const auto& sql : SqlStatements(f)) {
            if (sql.rfind("SELECT", 0) == 0) {
              seed.QueryValue(sql);
            } else {
              seed.Exec(sql);
            }
          }
        }
      }
      db->admin_->Exec("CREATE DATABASE " + db->name_ + " TEMPLATE " + tpl);
    } catch (...) {
      if (creating) {
        db->admin_->Exec("DROP DATABASE IF EXISTS " + tpl + " WITH (FORCE)");
      }
      db->admin_->QueryValue(
          "SELECT CAST(pg_advisory_unlock(4207311) AS text)");
      throw;
    }
    db->admin_->QueryValue("SELECT CAST(pg_advisory_unlock(4207311) AS text)");
    db->params_ = WithPgParam(env, "dbname", db->name_);
    db->connection_ = "postgresql://" + db->params_ + extra_params;
    db->session_ = std::make_unique<adapters::Database>(
        adapters::ParseConnection("postgresql://" + db->params_, ""), none);
    return db;
  }

  ~OdooTestDb() {
    session_.reset();
    try {
      admin_->Exec("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
    } catch (...) {
    }
  }

  // The adapter's connection string.
  const std::string& connection() const { return connection_; }
  // libpq parameters of the database (no scheme).
  const std::string& params() const { return params_; }

  void Exec(const std::string& sql) { session_->Exec(sql); }

  std::string Value(const std::string& sql) {
    return session_->QueryValue(sql).value_or("NULL");
  }

  // Every row of a query as "a|b|NULL".
  std::vector<std::string> Rows(const std::string& sql, size_t columns) {
    std::vector<std::string> out;
    session_->Query(sql, {}, columns, 256, [&](const adapters::TextBatch& b) {
      for (size_t r = 0; r < b.rows(); ++r) {
        std::string row;
        for (size_t c = 0; c < columns; ++c) {
          if (c > 0) row += "|";
          row += b.IsNull(r, c) ? "NULL" : std::string(b.At(r, c));
        }
        out.push_back(std::move(row));
      }
    });
    return out;
  }

 private:
  OdooTestDb() = default;
  std::string name_, params_, connection_;
  std::unique_ptr<adapters::Database> admin_;
  std::unique_ptr<adapters::Database> session_;
};

}  // namespace rftgate::testing

#endif  // RFTGATE_TESTS_ADAPTERS_ODOO_ODOO_TEST_DB_H_

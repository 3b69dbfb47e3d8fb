// What a WMS team would otherwise run, over libpq on the same database:
// (a) the checks as set-based SQL, one statement per check family plus a
//     PL/pgSQL loop for the wave-aware allocation;
// (b) one query per order line, as an ORM-style extension does;
// (c) the floor: PostgreSQL reading the same rows with COPY and writing the
//     same number of records with COPY, nothing else.
// Each runs in one transaction and commits, as rftgate's write-back does.
#ifndef RFTGATE_BENCH_E2E_BASELINES_H_
#define RFTGATE_BENCH_E2E_BASELINES_H_

#include <libpq-fe.h>

#include <cstdint>
#include <set>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

namespace rftgate::bench {

// (order ref, line ref or "" for the whole order, check id).
using Finding = std::tuple<std::string, std::string, std::string>;
using FindingSet = std::set<Finding>;

// A libpq connection that throws std::runtime_error on any failure.
class Pg {
 public:
  explicit Pg(const std::string& conninfo);
  ~Pg();
  Pg(const Pg&) = delete;
  Pg& operator=(const Pg&) = delete;

  // Runs `sql` (one or more statements, no parameters).
  void Exec(const std::string& sql);
  // Runs a query and returns its rows as text ("" for NULL).
  std::vector<std::vector<std::string>> Query(
      const std::string& sql, const std::vector<std::string>& params = {});
  // COPY (query) TO STDOUT; returns the bytes received.
  int64_t CopyOut(const std::string& query);
  // COPY table (columns) FROM STDIN with `data` in text format.
  void CopyIn(const std::string& table_and_columns, const std::string& data);
  PGconn* get() { return conn_; }

 private:
  PGconn* conn_;
};

// The checks both rftgate and the SQL baseline run in the comparison.
// The others (order.duplicate, qty.outlier, lot.fefo, lot.shelf_life) are off
// in both.
extern const char* const kComparedChecks[];

// Creates the baseline's functions and record tables (idempotent).
void PrepareSqlBaseline(Pg& pg);
// Clears the record tables of every baseline and the orders' hold flags.
void ResetSqlBaseline(Pg& pg);

// (a) Runs the set-based checks and writes the records; returns the findings.
FindingSet RunSetBasedSql(Pg& pg);

// (b) One query per order and per order line, the wave-aware allocation in
// the client, one INSERT per record; returns the findings.
FindingSet RunPerLine(Pg& pg);

// (c) Reads the wave's rows with COPY and writes `check_runs` and
// `findings` records with COPY. Returns the bytes read.
int64_t RunFloor(Pg& pg, int64_t check_runs, int64_t findings);

// (c) for one order: reads its rows (order, lines, items, stock, lots) in
// one round trip each and writes one check-run row, in one transaction.
void RunFloorSingle(Pg& pg, const std::string& order_ref);

}  // namespace rftgate::bench

#endif  // RFTGATE_BENCH_E2E_BASELINES_H_

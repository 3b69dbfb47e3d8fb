// The write-back record store: rftgate's own tables in the WMS database
// (runs, check-run rows, error records, schema version), created and
// migrated forward on demand, written one run per transaction.
//
// Tables (names configurable; defaults shown):
//   rftgate_schema        component, version, migrated_at
//   rftgate_run           one row per run id (a run id written twice is a
//                         no-op)
//   rftgate_check_run     one row per order checked in a run
//   rftgate_error_record  one row per finding; while open (or waived) the
//                         row is unique on (order_ref, line_no, check_id)
//                         through `open_key` (1 when active, NULL once
//                         resolved) and is updated, not duplicated, when the
//                         finding is seen again
//
// Timestamps are written in UTC: timestamptz on PostgreSQL, DATETIME(6) on
// MySQL and "YYYY-MM-DD HH:MM:SS.ffffff" text on SQLite.
//
// Concurrency: writers are serialised by a database lock taken first in
// each write (PostgreSQL: pg_advisory_xact_lock; MySQL: GET_LOCK; SQLite:
// BEGIN IMMEDIATE). Not thread-safe itself: one store per Database.
#ifndef RFTGATE_ADAPTERS_COMMON_RECORD_STORE_H_
#define RFTGATE_ADAPTERS_COMMON_RECORD_STORE_H_

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "adapters/common/database.h"
#include "rftgate/adapter.hpp"

namespace rftgate::adapters {

struct RecordTables {
  std::string schema = "rftgate_schema";
  std::string runs = "rftgate_run";
  std::string check_runs = "rftgate_check_run";
  std::string error_records = "rftgate_error_record";
};

// Where held orders are flagged in the WMS: UPDATE table SET column = value
// WHERE key_column = <order ref>. Identifiers are validated and quoted by
// the store. `release_value`, when set, is written on orders of the run
// that the checks passed or warned.
struct HoldTarget {
  std::string table;
  std::string key_column;
  std::string column;
  std::string value;
  std::optional<std::string> release_value;
};

struct WriteSummary {
  bool already_written = false;  // the run id was written before
  size_t check_runs = 0;
  size_t findings_new = 0;  // new open records
  size_t findings_seen_again = 0;
  size_t resolved = 0;
  size_t holds_applied = 0;
};

class RecordStore {
 public:
  // The schema version this code writes; older tables are migrated to it.
  static constexpr int kSchemaVersion = 1;

  // Validates the table names (throws adapter::Error RFT_ERR_CONFIG).
  RecordStore(Dialect dialect, RecordTables tables);

  const RecordTables& tables() const { return tables_; }

  // The schema version of the tables in the database, 0 when they do not
  // exist yet. Reads only.
  int SchemaVersion(Database& db);

  // Writes one run in one transaction, after taking the write lock and
  // migrating the tables. Returns what changed. Throws adapter::Error; on
  // any error nothing of the run is left in the database. Progress is
  // logged at DEBUG after each chunk.
  WriteSummary Write(Database& db, const adapter::WriteBackBatch& batch,
                     const HoldTarget* hold, const adapter::Call& call,
                     const adapter::Logger& log);

  // Rows per multi-row INSERT.
  static constexpr size_t kChunkRows = 500;
  // Orders per statement on PostgreSQL, where a chunk is bound as one array
  // per column.
  static constexpr size_t kPgChunkRows = 5000;
  // Findings per statement on PostgreSQL (an order with more gets a
  // statement of its own).
  static constexpr size_t kPgChunkFindings = 20000;

 private:
  // The run being written: its rows deduplicated (first wins), and the
  // values every statement binds.
  struct Prepared {
    const rft_writeback_run* run = nullptr;
    std::string run_id;
    std::string now;         // written_at, first/last_seen_at, resolved_at
    std::string checked_at;  // the run's finished_at, or now
    std::vector<const rft_check_run_row*> rows;
    std::vector<const rft_finding_row*> findings;
  };

  // PostgreSQL: three round trips for a run of up to kPgChunkRows orders.
  void WritePostgres(Database& db, const Prepared& p, const HoldTarget* hold,
                     const adapter::Call& call, const adapter::Logger& log,
                     WriteSummary& summary, bool& in_transaction);
  // SQLite and MySQL.
  void WriteGeneric(Database& db, const Prepared& p, const HoldTarget* hold,
                    const adapter::Call& call, const adapter::Logger& log,
                    WriteSummary& summary, bool& in_transaction,
                    bool& holds_lock, bool& statement_time_set);

  // Sets the hold and release flags of a written run in two statements;
  // returns the number of orders newly held.
  size_t ApplyHolds(Database& db, const HoldTarget& hold,
                    const std::string& run_id);

  // Brings rftgate's tables to kSchemaVersion inside the caller's
  // transaction (MySQL: before it): creates the schema table when missing,
  // reads the version, then MigrateFrom.
  void Migrate(Database& db);
  // The same from the version already read (nullopt: no row).
  void MigrateFrom(Database& db, const std::optional<std::string>& current);
  std::string SchemaTableDdl() const;
  std::string Q(const std::string& name) const;
  // A UTC timestamp as the dialect reads it.
  std::string Stamp(int64_t unix_us) const;
  Param TimeParam(const rft_time& t) const;

  Dialect dialect_;
  RecordTables tables_;
};

}  // namespace rftgate::adapters

#endif  // RFTGATE_ADAPTERS_COMMON_RECORD_STORE_H_

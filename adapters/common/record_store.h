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
// BEGIN IMMEDIATE). Not thread-safe itself: one store per Database, used
// by one thread at a time (a part written in the background, see
// PipelineParts, has a thread of its own, joined by the next call).
#ifndef RFTGATE_ADAPTERS_COMMON_RECORD_STORE_H_
#define RFTGATE_ADAPTERS_COMMON_RECORD_STORE_H_

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_set>
#include <utility>
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
// A set of refs that a string_view finds without a copy.
struct RefHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const {
    return std::hash<std::string_view>()(s);
  }
};
using RefSet = std::unordered_set<std::string, RefHash, std::equal_to<>>;

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
  // 2: on PostgreSQL the check-run table's key is (run_id, order_ref), its
  // id column no longer has an index of its own.
  static constexpr int kSchemaVersion = 2;

  // Validates the table names (throws adapter::Error RFT_ERR_CONFIG).
  RecordStore(Dialect dialect, RecordTables tables);
  // Waits for a part still being written (see PipelineParts); the wave's
  // Database must still exist.
  ~RecordStore();
  RecordStore(const RecordStore&) = delete;
  RecordStore& operator=(const RecordStore&) = delete;

  // PostgreSQL, a wave in pages: each Part builds its statements, starts
  // them on a thread of its own and returns; the next Part, Commit or Abort
  // waits for them first, and a failure among them fails that call (and the
  // wave) as the part's own failure would. The caller must not use the
  // wave's Database in between: it loads the next page on another
  // connection, so the server writes one page while the next is loaded and
  // checked. Off by default; elsewhere a no-op.
  void PipelineParts(bool on) { pipeline_ = on; }

  // PostgreSQL: the refs of orders whose hold flag the caller's last load
  // read at the hold target's release value (its owner keeps it alive,
  // fills it at each load and empties it once a write used it). Their release,
  // when they pass, is left out: the flag is already at its value, and an order
  // flagged since that load was flagged after it was judged. Every other
  // passing order's flag is probed and released as before. nullptr (the
  // default): every passing order is probed.
  void KnownReleased(const RefSet* refs) { known_released_ = refs; }

  const RecordTables& tables() const { return tables_; }

  // The schema version of the tables in the database, 0 when they do not
  // exist yet. Reads only.
  int SchemaVersion(Database& db);
  // What the run table says was written: "<runs> runs, <orders> check-run
  // rows, <findings> findings". Reads only the run table (one row per run).
  std::string RunTotals(Database& db);

  // Writes one run in one transaction, after taking the write lock and
  // migrating the tables: Begin, one Part and Commit in one call. Returns
  // what changed. Throws adapter::Error; on any error nothing of the run is
  // left in the database. Progress is logged at DEBUG after each chunk.
  WriteSummary Write(Database& db, const adapter::WriteBackBatch& batch,
                     const HoldTarget* hold, const adapter::Call& call,
                     const adapter::Logger& log);

  // A wave in pages (adapter ABI 1.2): one run written in one transaction
  // over several calls. Begin takes the lock, migrates the tables, checks
  // the run id and leaves the transaction open; each Part writes the rows
  // and findings of some orders (an order in one part only); Commit writes
  // what comes last (resolve and holds where they are not per chunk, the
  // run row's final time and totals) and commits. A run id written before
  // makes the parts and the commit change nothing. After any failure since
  // Begin (in a part, in a load inside the wave, a lost connection) the
  // transaction is rolled back at once and the later parts and the commit
  // fail, naming the first failure; Commit closes the wave either way.
  // `hold` must stay valid until the wave is closed. Throws adapter::Error.
  void Begin(Database& db, const rft_writeback_run& run, const HoldTarget* hold,
             const adapter::Call& call, const adapter::Logger& log);
  void Part(Database& db, const adapter::WriteBackBatch& part,
            const adapter::Call& call, const adapter::Logger& log);
  WriteSummary Commit(Database& db, const rft_writeback_run& run,
                      const adapter::Call& call, const adapter::Logger& log);
  // Rolls back and closes the open wave; nothing open: does nothing.
  void Abort(Database& db) noexcept;
  // Whether a wave is open (from Begin to Commit or Abort).
  bool WaveOpen() const { return wave_.open; }
  // Whether the open wave's transaction is in progress on `db` (a wave
  // whose run was written before, or that failed, has none).
  bool InWaveTransaction() const;
  // Runs `body` (a load's queries) as a call inside the open wave's
  // transaction, under this call's statement limit; its failure fails the
  // wave as a part's would.
  void RunInWave(Database& db, const adapter::Call& call,
                 const std::string& doing, const std::function<void()>& body);
  // Runs `body` (a load with a transaction of its own on another
  // connection, PipelineParts) beside the open wave, whose connection is
  // `wave_db`: its failure fails the wave as a part's would, after a part
  // still being written, whose own failure comes first.
  void RunBesideWave(Database& wave_db, const std::string& doing,
                     const std::function<void()>& body);

  // Rows per multi-row INSERT.
  static constexpr size_t kChunkRows = 500;
  // Orders per statement on PostgreSQL, where a chunk is bound as one array
  // per column.
  static constexpr size_t kPgChunkRows = 5000;
  // Findings per statement on PostgreSQL (an order with more gets a
  // statement of its own).
  static constexpr size_t kPgChunkFindings = 20000;
  // A write_back of at most this many orders and findings on PostgreSQL
  // (a release call) runs its statement prepared, with the generic plan.
  static constexpr size_t kPgSmallRows = 64;

 private:
  // The run being written (between Begin and Commit or Abort): the values
  // every statement binds, what the connection holds, the totals so far.
  struct Wave {
    bool open = false;
    // Why an earlier call failed (the transaction is rolled back); empty
    // while all is well.
    std::string failure;
    rft_status failure_status = RFT_OK;
    bool in_transaction = false;
    bool holds_lock = false;          // MySQL's named lock
    bool statement_time_set = false;  // a statement limit is in force
    bool already_written = false;     // the run id was written before
    bool run_row = false;             // PostgreSQL: the run row is written
    bool run_row_planned = false;     // PostgreSQL: a statement writes it
    std::string run_id;
    Param ruleset;
    rft_time started_at{};
    rft_time finished_at{};  // as Begin received it
    std::string now;         // written_at, first/last_seen_at, resolved_at
    std::string checked_at;  // the run's finished_at at Begin, or now
    const HoldTarget* hold = nullptr;  // when the run applies holds
    bool holds_in_chunks = false;      // PostgreSQL: no rules on the table
    // PostgreSQL: a write_back of a few orders (a release call), whose
    // statements are prepared and planned once per connection.
    bool small = false;
    size_t orders = 0, findings = 0;          // written by the parts so far
    size_t row_orders = 0, row_findings = 0;  // PostgreSQL: in the run row
    WriteSummary summary;
  };
  // PostgreSQL: one statement of a part (a chunk of its orders), built
  // from the rows, which it no longer needs.
  struct PgChunk {
    std::string sql;
    std::vector<Param> params;
    bool first = false;  // it writes the run row (and checks the run id)
    bool small = false;  // prepared, with the generic plan (Wave::small)
    size_t row_orders = 0, row_findings = 0;  // the run row's totals
    std::string log;                          // logged once it is written
  };
  // What the statements of a part returned: per statement, the run rows,
  // check-run rows, new findings, resolved records and holds it wrote.
  struct PgOutcome {
    std::vector<std::array<int64_t, 5>> counts;
    bool already_written = false;  // the run id was written before
  };
  // A part being written on a thread of its own.
  struct Pending {
    std::vector<PgChunk> chunks;
    PgOutcome outcome;
    std::exception_ptr error;
    rft_call call{};  // the part's deadline
    std::atomic<bool> stop{false};
    std::unique_ptr<Database::Canceller> canceller;
    bool rolled_back = false;  // after its failure, by the thread
    std::string doing;
    std::thread thread;
  };

  // The rows of a batch, deduplicated (first wins).
  struct Rows {
    std::vector<const rft_check_run_row*> rows;
    std::vector<const rft_finding_row*> findings;
  };

  // Validates and deduplicates a batch; `what` names the function in
  // messages.
  static Rows Collect(const adapter::WriteBackBatch& batch, const char* what);
  // Opens the wave of `run` (no statement yet).
  void Start(const rft_writeback_run& run, const HoldTarget* hold,
             const char* what);
  // Why `what` cannot go on with the wave, if it cannot.
  std::optional<adapter::Error> Refusal(const char* what) const;
  // Runs `body` as a database call of the wave; `next_call`: a call after
  // Begin's (the connection must be the same; this call's statement
  // limit replaces the last one). A failure rolls back and fails the wave.
  void Run(Database& db, const adapter::Call& call, const std::string& doing,
           bool next_call, const std::function<void()>& body);
  // The status and message a failure of `doing` gives the wave: an
  // adapter::Error's own, else RFT_ERR_ADAPTER "failed while <doing>".
  static std::pair<rft_status, std::string> Classify(
      const std::exception_ptr& error, const std::string& doing);
  // Rolls back and fails the wave with `why` (later calls name it).
  void Fail(Database& db, rft_status status, std::string why);
  // As Fail, after waiting for a part still being written, whose own
  // failure, if any, is the one the wave keeps; nothing when the wave has
  // failed already.
  void FailWave(Database& db, rft_status status, std::string why);
  // Rolls back what is open, releases the lock and the statement limit.
  void Release(Database& db) noexcept;
  // Sets the current call's statement limit inside the wave.
  void LimitStatements(Database& db);
  // Logs the summary of a closed run and closes the wave.
  WriteSummary Close(const adapter::Logger& log);

  void BeginIn(Database& db);
  // `deferred`: PostgreSQL's statements are built into it, not run (the
  // caller starts them with Launch once its call has ended).
  void PartIn(Database& db, const Rows& rows, const adapter::Call& call,
              const adapter::Logger& log, std::vector<PgChunk>* deferred);
  void FinishIn(Database& db, const rft_time& finished_at,
                const adapter::Call& call, const adapter::Logger& log);
  // PostgreSQL: one round trip opens the wave; one statement per chunk of
  // orders; COMMIT (three round trips for a single order's write-back).
  void BeginPostgres(Database& db);
  // Builds the statements of a part's rows, one chunk at a time, each
  // handed to `emit` before the next is built.
  // `first_rows`: at most that many orders in the first statement.
  void BuildPostgres(const Rows& p, const std::function<void(PgChunk&&)>& emit,
                     size_t first_rows = kPgChunkRows);
  void BuildAheadPostgres(Database& db, const Rows& rows,
                          const adapter::Call& call,
                          const adapter::Logger& log);
  void RunPostgres(Database& db, PgChunk&& chunk, const adapter::Call& call,
                   const adapter::Logger& log);
  // `stop`, when set, ends it before the next statement (cancelled).
  static void ExecutePostgres(Database& db, std::vector<PgChunk>& chunks,
                              const adapter::Call& call, PgOutcome* out,
                              const std::atomic<bool>* stop);
  void MergePostgres(const std::vector<PgChunk>& chunks,
                     const PgOutcome& outcome, const adapter::Logger& log);
  void Launch(Database& db, std::vector<PgChunk> chunks,
              const adapter::Call& call);
  // Waits for the part being written and takes it off the wave (nullptr
  // when there is none).
  std::unique_ptr<Pending> JoinPending() noexcept;
  // Waits for the part being written, if any, and takes its counts; its
  // failure rolls back and fails the wave (thrown).
  void Settle(Database& db, const adapter::Logger& log);
  // Stops the part being written (between statements) and forgets it.
  void StopPending() noexcept;
  void FinishPostgres(Database& db, const rft_time& finished_at,
                      const adapter::Call& call, const adapter::Logger& log);
  // SQLite and MySQL.
  void BeginGeneric(Database& db);
  void PartGeneric(Database& db, const Rows& p, const adapter::Call& call,
                   const adapter::Logger& log);
  void FinishGeneric(Database& db, const rft_time& finished_at);
  // "INSERT INTO <runs> (...) VALUES (...)" for the open wave.
  void InsertRunRow(SqlBuilder& b, const rft_time& finished_at, size_t orders,
                    size_t findings) const;

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
  Wave wave_;
  bool pipeline_ = false;
  const RefSet* known_released_ = nullptr;
  std::unique_ptr<Pending> pending_;  // a part being written
};

}  // namespace rftgate::adapters

#endif  // RFTGATE_ADAPTERS_COMMON_RECORD_STORE_H_

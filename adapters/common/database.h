// A database connection over SOCI for the adapters: SQLite, PostgreSQL and
// MySQL/MariaDB behind one interface, with deadlines and cancellation passed
// on to the database, errors translated into adapter::Error, and results
// read as text in batches.
//
// Not thread-safe: one Database per adapter handle (SOCI sessions are not
// thread-safe either).
#ifndef RFTGATE_ADAPTERS_COMMON_DATABASE_H_
#define RFTGATE_ADAPTERS_COMMON_DATABASE_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/common/sql_text.h"
#include "rftgate/adapter.hpp"

namespace soci {
class session;
}

namespace rftgate::adapters {

// Where to connect, parsed from rftgate's connection string:
//   sqlite3://PATH or sqlite3://db=PATH [timeout=N]   (also sqlite://)
//   postgresql://<libpq keyword/value string or URI>   (also postgres://)
//   mysql://<SOCI MySQL parameters: db= user= password= host= port=
//           unix_socket= ...>                          (also mariadb://)
// A relative SQLite path resolves from `config_dir`.
struct ConnectionSpec {
  Dialect dialect = Dialect::kSqlite;
  std::string parameters;   // what the SOCI backend receives
  std::string sqlite_path;  // SQLite only; ":memory:" allowed
};

// Parses `connection`. Throws adapter::Error(RFT_ERR_CONFIG) for an unknown
// scheme or a missing path; the message never shows a password.
ConnectionSpec ParseConnection(std::string_view connection,
                               std::string_view config_dir);

// A bound value: text, or NULL. Databases convert text to the column's type.
// PostgreSQL also takes a value in its binary form, of the type `pg_type`
// (an OID), through Database::QueryDirect only.
struct Param {
  std::string value;
  bool is_null = false;
  uint32_t pg_type = 0;  // 0: text, whose type the server infers
};
inline Param Text(std::string v) { return Param{std::move(v), false, 0}; }
inline Param Null() { return Param{std::string(), true, 0}; }
// PostgreSQL's OID of text[] (pg_type.oid of "_text"), for PgBinary.
inline constexpr uint32_t kPgTextArray = 1009;
inline Param PgBinary(std::string bytes, uint32_t pg_type) {
  return Param{std::move(bytes), false, pg_type};
}

// SQL text with its bound values, built piece by piece. Every Bind() adds a
// uniquely named placeholder (":p0", ":p1"...) bound by position, so the
// placeholders must reach the text in the order Bind() was called: use
// `<<` chains (evaluated left to right) or separate statements, never two
// Bind() calls in one `+` expression (unspecified order).
struct SqlBuilder {
  std::string sql;
  std::vector<Param> params;

  // Returns the placeholder for `p` (to append to `sql`).
  std::string Bind(Param p) {
    params.push_back(std::move(p));
    return ":p" + std::to_string(params.size() - 1);
  }
  SqlBuilder& operator<<(std::string_view text) {
    sql += text;
    return *this;
  }
};

// A batch of result rows, every column as text. Views are valid only during
// the callback that receives the batch.
class TextBatch {
 public:
  // `cells`: rows x columns views, row by row; a NULL is an absent view
  // (data() == nullptr), an empty text a present one.
  TextBatch(const std::string_view* cells, size_t rows, size_t columns)
      : cells_(cells), rows_(rows), columns_(columns) {}
  size_t rows() const { return rows_; }
  size_t columns() const { return columns_; }
  bool IsNull(size_t row, size_t col) const {
    return cells_[row * columns_ + col].data() == nullptr;
  }
  // The text of a cell; an absent view (data() == nullptr) for NULL.
  std::string_view At(size_t row, size_t col) const {
    return cells_[row * columns_ + col];
  }

 private:
  const std::string_view* cells_;
  size_t rows_, columns_;
};

class Database {
 public:
  // Connects. Throws adapter::Error (RFT_ERR_CONFIG for a SQLite file that
  // does not exist, RFT_ERR_DATABASE when the server refuses).
  Database(ConnectionSpec spec, adapter::Logger log);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  Dialect dialect() const { return spec_.dialect; }
  soci::session& session() { return *session_; }

  // Logs every statement SQLite runs (its trace hook) at DEBUG level as
  // "sqlite statement: <sql>". SQLite only; a no-op elsewhere.
  void TraceStatements(bool on);

  // Reconnects when an earlier call failed (the connection may be lost).
  void EnsureConnected();
  // False when an earlier call failed or no connection is open: the next
  // call reconnects, and what the old connection had open is gone.
  bool Healthy() const { return !broken_ && session_ != nullptr; }
  // Whether a connection is open, healthy or not.
  bool Connected() const { return session_ != nullptr; }

  // Starts a call: deadlines and cancellation of `call` apply to every
  // statement until EndCall. On SQLite through a progress handler and the
  // busy timeout; on PostgreSQL and MySQL through statement timeouts set by
  // StatementTimeoutSql inside the caller's transaction.
  void BeginCall(const adapter::Call& call);
  void EndCall();

  // Milliseconds the database may spend on one statement for the current
  // call, or 0 for no limit.
  int64_t StatementBudgetMs() const;

  // PostgreSQL: limits the statements run outside a transaction of their
  // own (a load that is one statement) to `budget_ms`, rounded up to whole
  // seconds (0 = no limit), with a session-level statement_timeout set
  // only when it differs from the connection's: most calls then send no
  // statement for it. A transaction's SET LOCAL still overrides it.
  void SessionStatementTimeout(int64_t budget_ms);

  // Runs a statement that returns no rows; returns the rows it changed.
  int64_t Exec(const std::string& sql, std::vector<Param> params = {});
  int64_t Exec(SqlBuilder b) { return Exec(b.sql, std::move(b.params)); }

  // Runs a query whose result has `columns` columns and hands the rows to
  // `on_batch` in batches of at most `batch_rows`. The query's columns are
  // read as text (wrap non-text expressions in AsText).
  void Query(const std::string& sql, std::vector<Param> params, size_t columns,
             size_t batch_rows,
             const std::function<void(const TextBatch&)>& on_batch);

  // As Query, for a query that may return many rows (a wave's orders,
  // lines, stock...). On PostgreSQL the rows are streamed with COPY (the
  // values written into the statement as literals, quoted by libpq):
  // the first batch is handed over while the server still produces the
  // rest, and no row is copied into a string of its own. Elsewhere, Query.
  // A callback that throws stops the statement (cancelled on the server);
  // the connection is then reconnected by the next call.
  void Stream(const std::string& sql, std::vector<Param> params, size_t columns,
              size_t batch_rows,
              const std::function<void(const TextBatch&)>& on_batch);

  // PostgreSQL: runs `sql` with libpq directly, its values passed as they
  // are (no copy), PgBinary values in binary form; the rows as Query gives
  // them. Other backends: Query (which refuses binary values).
  void QueryDirect(const std::string& sql, const std::vector<Param>& params,
                   size_t columns,
                   const std::function<void(const TextBatch&)>& on_batch);

  // Off: QueryPrepared runs as Query (nothing kept on the server between
  // calls), for connections through a pooler in transaction mode, where
  // the next call may reach another server session. On by default.
  void UsePreparedStatements(bool on) { use_prepared_ = on; }
  bool UsesPreparedStatements() const { return use_prepared_; }

  // As Query, with the statement prepared once per connection and kept:
  // the next Query with the same text and as many values only binds and
  // executes it (no parse, no plan on PostgreSQL, whose generic plan it
  // then reuses). For a statement run by every call, e.g. a release call's
  // load; at most kPreparedStatements are kept (the oldest goes).
  // PostgreSQL 12 and later plan each execution again for its values
  // whenever that looks cheaper than the generic plan (for a release call's
  // load, 1.4 ms of planning for 0.5 ms of execution): a caller that wants
  // the generic plan runs it in a transaction with `SET LOCAL
  // plan_cache_mode = force_generic_plan`.
  void QueryPrepared(const std::string& sql, std::vector<Param> params,
                     size_t columns, size_t batch_rows,
                     const std::function<void(const TextBatch&)>& on_batch);

  // PostgreSQL with prepared statements: runs `begin` (statements that
  // open a transaction and set it up, e.g. "BEGIN READ ONLY" and its SET
  // LOCALs), the query `sql` (prepared once per connection and kept, as
  // QueryPrepared does) and COMMIT, sent together in one round trip
  // (libpq's pipeline mode), then hands its rows to `on_batch`. A failure
  // of any of them throws with the server's message; nothing is left open.
  // Elsewhere, or without prepared statements: the same statements one
  // after the other (QueryPrepared in between).
  void QueryPreparedInTransaction(
      const std::vector<std::string>& begin, const std::string& sql,
      std::vector<Param> params, size_t columns, size_t batch_rows,
      const std::function<void(const TextBatch&)>& on_batch);

  // PostgreSQL: the server's version as libpq gives it (150004 for
  // 15.4), 0 elsewhere or without a connection.
  int PgServerVersion();

  // One text value (first column of the first row); nullopt when there is
  // no row or the value is NULL.
  std::optional<std::string> QueryValue(const std::string& sql,
                                        std::vector<Param> params = {});

  // The column names of `from_sql` (a quoted table or a parenthesised
  // query), read from a query that returns no rows.
  std::vector<std::string> ColumnsOf(const std::string& from_sql);

  // Translates an exception from a database call into adapter::Error:
  // RFT_ERR_CANCELLED / RFT_ERR_TIMEOUT when the call was stopped,
  // RFT_ERR_DATABASE otherwise, with `doing` and the masked database
  // message. Marks the connection for a reconnect.
  adapter::Error Translate(const std::exception& e, std::string_view doing);

  // The backend name and target without secrets, for messages.
  std::string Describe() const;

  // PostgreSQL: cancels the statement this connection runs, from another
  // thread than the one running it (libpq's PGcancel, made when the
  // Canceller is). Made while the connection is idle; kept no longer than
  // the connection.
  class Canceller {
   public:
    explicit Canceller(void* cancel) : cancel_(cancel) {}
    ~Canceller();
    Canceller(const Canceller&) = delete;
    Canceller& operator=(const Canceller&) = delete;
    void Cancel() noexcept;

   private:
    void* cancel_;  // PGcancel*
  };
  // A Canceller for this connection; nullptr elsewhere than on PostgreSQL
  // or without a healthy connection.
  std::unique_ptr<Canceller> MakeCanceller();

 private:
  void Connect();
  static int ProgressHandler(void* self);
  static int TraceHook(unsigned type, void* self, void* p, void* x);

  ConnectionSpec spec_;
  adapter::Logger log_;
  struct Prepared;
  static constexpr size_t kPreparedStatements = 8;
  // Statements of QueryPrepared (destroyed before the session).
  std::vector<std::unique_ptr<Prepared>> prepared_;
  // QueryPreparedInTransaction's statements on this session: text -> name.
  std::map<std::string, std::string> pipelined_;
  size_t pipelined_names_ = 0;
  std::unique_ptr<soci::session> session_;
  bool broken_ = false;
  bool trace_ = false;
  bool use_prepared_ = true;
  int64_t session_timeout_ms_ = -1;  // -1: not set on this connection
  const adapter::Call* call_ = nullptr;
};

// Runs `body` with `db` inside a call: deadlines armed, exceptions other
// than adapter::Error / SinkRefused translated with `doing`.
template <typename Body>
void RunDatabaseCall(Database& db, const adapter::Call& call,
                     std::string_view doing, Body&& body) {
  db.EnsureConnected();
  db.BeginCall(call);
  try {
    body();
  } catch (const adapter::Error&) {
    db.EndCall();
    throw;
  } catch (const adapter::SinkRefused&) {
    db.EndCall();
    throw;
  } catch (const std::exception& e) {
    adapter::Error translated = db.Translate(e, doing);
    db.EndCall();
    throw translated;
  }
  db.EndCall();
}

}  // namespace rftgate::adapters

#endif  // RFTGATE_ADAPTERS_COMMON_DATABASE_H_

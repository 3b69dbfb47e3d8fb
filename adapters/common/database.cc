#include "adapters/common/database.h"

#include <libpq-fe.h>
#include <soci/mysql/soci-mysql.h>
#include <soci/postgresql/soci-postgresql.h>
#include <soci/soci.h>
#include <soci/sqlite3/soci-sqlite3.h>

#include <algorithm>
#include <filesystem>
#include <stdexcept>

namespace rftgate::adapters {

// SOCI includes sqlite3.h inside this namespace.
using namespace sqlite_api;

namespace {

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// Default busy timeout for SQLite when the call has no deadline.
constexpr int kSqliteDefaultBusyMs = 30000;

sqlite3* NativeSqlite(soci::session& session) {
  auto* backend =
      static_cast<soci::sqlite3_session_backend*>(session.get_backend());
  return reinterpret_cast<sqlite3*>(backend->conn_);
}

}  // namespace

ConnectionSpec ParseConnection(std::string_view connection,
                               std::string_view config_dir) {
  ConnectionSpec spec;
  std::string_view rest;
  if (StartsWith(connection, "sqlite3://") ||
      StartsWith(connection, "sqlite://")) {
    spec.dialect = Dialect::kSqlite;
    rest = connection.substr(connection.find("://") + 3);
    std::string path;
    std::string extra;
    if (StartsWith(rest, "db=")) {
      std::string_view r = rest.substr(3);
      size_t space = r.find(' ');
      path = std::string(r.substr(0, space));
      if (space != std::string_view::npos) extra = r.substr(space);
    } else {
      path = std::string(rest);
    }
    if (path.empty()) {
      throw adapter::Error(RFT_ERR_CONFIG,
                           "connection: sqlite3:// needs a database path");
    }
    if (path != ":memory:") {
      std::filesystem::path p(path);
      if (p.is_relative() && !config_dir.empty()) {
        p = std::filesystem::path(std::string(config_dir)) / p;
      }
      path = p.lexically_normal().string();
    }
    spec.sqlite_path = path;
    spec.parameters = "db=" + path + extra;
    return spec;
  }
  if (StartsWith(connection, "postgresql://") ||
      StartsWith(connection, "postgres://")) {
    spec.dialect = Dialect::kPostgres;
    rest = connection.substr(connection.find("://") + 3);
    // A libpq URI is passed whole; keyword/value strings as they are.
    if (StartsWith(rest, "//") || rest.find('@') != std::string_view::npos) {
      spec.parameters = "postgresql://" + std::string(rest);
    } else {
      spec.parameters = std::string(rest);
    }
    return spec;
  }
  if (StartsWith(connection, "mysql://") ||
      StartsWith(connection, "mariadb://")) {
    spec.dialect = Dialect::kMysql;
    spec.parameters =
        std::string(connection.substr(connection.find("://") + 3));
    return spec;
  }
  throw adapter::Error(
      RFT_ERR_CONFIG,
      "connection: '" + MaskSecrets(connection) +
          "' does not start with sqlite3://, postgresql:// or mysql://");
}

Database::Database(ConnectionSpec spec, adapter::Logger log)
    : spec_(std::move(spec)), log_(log) {
  if (spec_.dialect == Dialect::kSqlite && spec_.sqlite_path != ":memory:" &&
      !std::filesystem::exists(spec_.sqlite_path)) {
    throw adapter::Error(RFT_ERR_CONFIG, "connection: SQLite database '" +
                                             spec_.sqlite_path +
                                             "' does not exist");
  }
  Connect();
}

// A statement of QueryPrepared with the storage its values and results are
// bound to.
struct Database::Prepared {
  std::string sql;
  size_t columns = 0, batch_rows = 0;
  std::vector<Param> params;
  std::vector<soci::indicator> param_inds;
  std::vector<std::vector<std::string>> values;
  std::vector<std::vector<soci::indicator>> inds;
  std::unique_ptr<soci::statement> st;
};

Database::~Database() { prepared_.clear(); }

void Database::Connect() {
  prepared_.clear();  // they belong to the old session
  pipelined_.clear();
  session_.reset();
  session_timeout_ms_ = -1;
  try {
    switch (spec_.dialect) {
      case Dialect::kSqlite:
        session_ = std::make_unique<soci::session>(*soci::factory_sqlite3(),
                                                   spec_.parameters);
        sqlite3_busy_timeout(NativeSqlite(*session_), kSqliteDefaultBusyMs);
        break;
      case Dialect::kPostgres:
        session_ = std::make_unique<soci::session>(*soci::factory_postgresql(),
                                                   spec_.parameters);
        break;
      case Dialect::kMysql:
        session_ = std::make_unique<soci::session>(*soci::factory_mysql(),
                                                   spec_.parameters);
        *session_ << "SET NAMES utf8mb4";
        break;
    }
  } catch (const std::exception& e) {
    session_.reset();
    broken_ = true;
    throw adapter::Error(RFT_ERR_DATABASE, "cannot connect to " + Describe() +
                                               ": " + MaskSecrets(e.what()));
  }
  broken_ = false;
  if (trace_) TraceStatements(true);
}

void Database::TraceStatements(bool on) {
  trace_ = on;
  if (spec_.dialect != Dialect::kSqlite || !session_) return;
  sqlite3_trace_v2(NativeSqlite(*session_), on ? SQLITE_TRACE_STMT : 0,
                   on ? &Database::TraceHook : nullptr, this);
}

int Database::TraceHook(unsigned type, void* self, void* p, void* x) {
  if (type != SQLITE_TRACE_STMT) return 0;
  auto* db = static_cast<Database*>(self);
  const char* text = static_cast<const char*>(x);
  // Statements run from triggers come as "-- comment"; count statements.
  if (text != nullptr && std::string_view(text).substr(0, 3) == "-- ") {
    return 0;
  }
  const char* sql = sqlite3_sql(static_cast<sqlite3_stmt*>(p));
  db->log_.Debug(std::string("sqlite statement: ") +
                 (sql != nullptr ? sql : ""));
  return 0;
}

void Database::EnsureConnected() {
  if (broken_ || !session_) Connect();
}

int Database::ProgressHandler(void* self) {
  auto* db = static_cast<Database*>(self);
  if (db->call_ == nullptr) return 0;
  return (db->call_->Cancelled() || db->call_->RemainingMs() == 0) ? 1 : 0;
}

void Database::BeginCall(const adapter::Call& call) {
  call_ = &call;
  if (spec_.dialect == Dialect::kSqlite && session_) {
    sqlite3* native = NativeSqlite(*session_);
    sqlite3_progress_handler(native, 1000, &Database::ProgressHandler, this);
    int64_t left = call.RemainingMs();
    sqlite3_busy_timeout(native, left < 0
                                     ? kSqliteDefaultBusyMs
                                     : static_cast<int>(std::clamp<int64_t>(
                                           left, 1, kSqliteDefaultBusyMs)));
  }
}

void Database::EndCall() {
  if (spec_.dialect == Dialect::kSqlite && session_) {
    sqlite3* native = NativeSqlite(*session_);
    sqlite3_progress_handler(native, 0, nullptr, nullptr);
    sqlite3_busy_timeout(native, kSqliteDefaultBusyMs);
  }
  call_ = nullptr;
}

int64_t Database::StatementBudgetMs() const {
  if (call_ == nullptr) return 0;
  int64_t left = call_->RemainingMs();
  if (left < 0) return 0;
  return std::max<int64_t>(left, 1);
}

void Database::SessionStatementTimeout(int64_t budget_ms) {
  if (spec_.dialect != Dialect::kPostgres) return;
  const int64_t ms = budget_ms <= 0 ? 0 : (budget_ms + 999) / 1000 * 1000;
  if (ms == session_timeout_ms_) return;
  Exec("SET statement_timeout = " + std::to_string(ms));
  session_timeout_ms_ = ms;
}

namespace {

// Binds `params` positionally; their storage must outlive the statement.
// Binary values (PgBinary) go through QueryDirect only.
void RefuseBinary(const std::vector<Param>& params) {
  for (const Param& p : params) {
    if (p.pg_type != 0) {
      throw std::logic_error("a binary value bound outside QueryDirect");
    }
  }
}

void BindAll(soci::statement& st, std::vector<Param>& params,
             std::vector<soci::indicator>& indicators) {
  RefuseBinary(params);
  indicators.resize(params.size());
  for (size_t i = 0; i < params.size(); ++i) {
    indicators[i] = params[i].is_null ? soci::i_null : soci::i_ok;
    st.exchange(soci::use(params[i].value, indicators[i]));
  }
}

// SQLite looks each named parameter (":p12") up in a list of the names
// seen so far, which makes a statement with thousands of them (a multi-row
// INSERT) quadratic to prepare. SqlBuilder's placeholders come in binding
// order, so plain "?" (numbered by position) is the same statement. Quoted
// text and identifiers are left alone.
std::string PositionalPlaceholders(const std::string& sql) {
  return RewritePlaceholders(sql, [](size_t) { return std::string("?"); });
}

// The first `rows` rows SOCI fetched into `values` (one vector per column),
// as a batch of views kept in *cells.
TextBatch Cells(const std::vector<std::vector<std::string>>& values,
                const std::vector<std::vector<soci::indicator>>& inds,
                size_t rows, std::vector<std::string_view>* cells) {
  const size_t columns = values.size();
  cells->resize(rows * columns);
  for (size_t r = 0; r < rows; ++r) {
    for (size_t c = 0; c < columns; ++c) {
      (*cells)[r * columns + c] = inds[c][r] == soci::i_null
                                      ? std::string_view()
                                      : std::string_view(values[c][r]);
    }
  }
  return TextBatch(cells->data(), rows, columns);
}

PGconn* NativePg(soci::session& session) {
  return static_cast<soci::postgresql_session_backend*>(session.get_backend())
      ->conn_;
}

}  // namespace

Database::Canceller::~Canceller() {
  PQfreeCancel(static_cast<PGcancel*>(cancel_));
}

void Database::Canceller::Cancel() noexcept {
  char error[256];
  PQcancel(static_cast<PGcancel*>(cancel_), error, sizeof error);
}

std::unique_ptr<Database::Canceller> Database::MakeCanceller() {
  if (spec_.dialect != Dialect::kPostgres || !Healthy()) return nullptr;
  PGconn* conn = NativePg(*session_);
  if (conn == nullptr || PQstatus(conn) != CONNECTION_OK) return nullptr;
  PGcancel* cancel = PQgetCancel(conn);
  if (cancel == nullptr) return nullptr;
  return std::make_unique<Canceller>(cancel);
}

namespace {

// One row of COPY's text format, without its newline: fields split at
// tabs and unescaped in place (an escape never makes a field longer),
// "\N" = NULL. False when the row does not have `columns` fields.
bool SplitCopyRow(char* row, size_t size, size_t columns,
                  std::string_view* out) {
  size_t field = 0;
  char* w = row;
  char* start = row;
  bool null = false;
  auto finish = [&] {
    if (field < columns) {
      out[field] =
          null ? std::string_view()
               : std::string_view(start, static_cast<size_t>(w - start));
    }
    ++field;
  };
  for (size_t i = 0; i < size; ++i) {
    char c = row[i];
    if (c == '\t') {
      finish();
      start = w = row + i + 1;
      null = false;
      continue;
    }
    if (c == '\\' && i + 1 < size) {
      char e = row[++i];
      switch (e) {
        case 'N':
          null = true;
          continue;
        case 'b':
          c = '\b';
          break;
        case 'f':
          c = '\f';
          break;
        case 'n':
          c = '\n';
          break;
        case 'r':
          c = '\r';
          break;
        case 't':
          c = '\t';
          break;
        case 'v':
          c = '\v';
          break;
        default:
          c = e;
          break;  // "\\" and any other escaped character
      }
    }
    *w++ = c;
  }
  finish();
  return field == columns;
}

// The server's message for a failed statement: its first line and its
// SQLSTATE, without the statement's text (which holds the values).
std::string ServerError(const PGresult* r, PGconn* conn) {
  const char* primary =
      r != nullptr ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
  std::string message;
  if (primary != nullptr) {
    message = primary;
    if (const char* state = PQresultErrorField(r, PG_DIAG_SQLSTATE)) {
      message += std::string(" (SQLSTATE ") + state + ")";
    }
  } else {
    message = PQerrorMessage(conn);
    while (!message.empty() && message.back() == '\n') message.pop_back();
    if (message.empty()) message = "the connection failed";
  }
  return message;
}

// The rows of a Stream batch (freed with it) and their views.
struct CopyRows {
  std::vector<char*> buffers;
  std::vector<std::string_view> cells;
  size_t rows = 0;
  void Clear() {
    for (char* b : buffers) PQfreemem(b);
    buffers.clear();
    rows = 0;
  }
  ~CopyRows() { Clear(); }
};

}  // namespace

int64_t Database::Exec(const std::string& sql, std::vector<Param> params) {
  std::vector<soci::indicator> indicators;
  soci::statement st(*session_);
  BindAll(st, params, indicators);
  st.alloc();
  st.prepare(
      spec_.dialect == Dialect::kSqlite ? PositionalPlaceholders(sql) : sql,
      soci::details::st_one_time_query);
  st.define_and_bind();
  st.execute(true);
  return st.get_affected_rows();
}

void Database::Query(const std::string& sql, std::vector<Param> params,
                     size_t columns, size_t batch_rows,
                     const std::function<void(const TextBatch&)>& on_batch) {
  // SOCI drops a last single row fetched into vectors of size 1.
  batch_rows = std::max<size_t>(batch_rows, 2);
  std::vector<std::vector<std::string>> values(
      columns, std::vector<std::string>(batch_rows));
  std::vector<std::vector<soci::indicator>> inds(
      columns, std::vector<soci::indicator>(batch_rows));
  std::vector<soci::indicator> param_inds;
  soci::statement st(*session_);
  for (size_t c = 0; c < columns; ++c) {
    st.exchange(soci::into(values[c], inds[c]));
  }
  BindAll(st, params, param_inds);
  st.alloc();
  st.prepare(
      spec_.dialect == Dialect::kSqlite ? PositionalPlaceholders(sql) : sql,
      soci::details::st_one_time_query);
  st.define_and_bind();
  std::vector<std::string_view> cells;
  bool more = st.execute(true);
  while (more) {
    size_t rows = columns == 0 ? 0 : values[0].size();
    if (rows > 0) on_batch(Cells(values, inds, rows, &cells));
    for (size_t c = 0; c < columns; ++c) {
      values[c].resize(batch_rows);
      inds[c].resize(batch_rows);
    }
    more = st.fetch();
  }
}

void Database::Stream(const std::string& sql, std::vector<Param> params,
                      size_t columns, size_t batch_rows,
                      const std::function<void(const TextBatch&)>& on_batch) {
  RefuseBinary(params);
  PGconn* conn =
      spec_.dialect == Dialect::kPostgres ? NativePg(*session_) : nullptr;
  // COPY's text escapes only ASCII bytes: a client encoding whose
  // characters may hold a backslash byte (SJIS, BIG5, GBK...) is read
  // through Query.
  const std::string_view encoding =
      conn != nullptr ? pg_encoding_to_char(PQclientEncoding(conn)) : "";
  if (conn == nullptr || columns == 0 ||
      (encoding != "UTF8" && encoding != "SQL_ASCII")) {
    Query(sql, std::move(params), columns, batch_rows, on_batch);
    return;
  }
  // COPY takes no bound values: each becomes a literal, quoted by libpq
  // for this connection (an untyped literal is read as a bound value is).
  std::string failed;
  std::string text = RewritePlaceholders(sql, [&](size_t n) -> std::string {
    if (n >= params.size()) {
      failed = "a placeholder without a value";
      return "NULL";
    }
    if (params[n].is_null) return "NULL";
    const std::string& v = params[n].value;
    char* quoted = PQescapeLiteral(conn, v.data(), v.size());
    if (quoted == nullptr) {
      failed = PQerrorMessage(conn);
      return "NULL";
    }
    std::string out(quoted);
    PQfreemem(quoted);
    return out;
  });
  if (!failed.empty()) {
    throw std::runtime_error("cannot quote a value: " + failed);
  }
  text = "COPY (" + text + ") TO STDOUT";
  PGresult* started = PQexec(conn, text.c_str());
  if (PQresultStatus(started) != PGRES_COPY_OUT) {
    std::string message = ServerError(started, conn);
    PQclear(started);
    while (PGresult* rest = PQgetResult(conn)) PQclear(rest);
    throw std::runtime_error(message);
  }
  PQclear(started);

  batch_rows = std::max<size_t>(batch_rows, 1);
  CopyRows batch;
  batch.buffers.reserve(batch_rows);
  batch.cells.resize(batch_rows * columns);
  try {
    for (;;) {
      char* row = nullptr;
      int size = PQgetCopyData(conn, &row, 0);
      if (size == -1) break;  // the end of the rows
      if (size < 0) throw std::runtime_error(ServerError(nullptr, conn));
      batch.buffers.push_back(row);
      size_t n = static_cast<size_t>(size);
      if (n > 0 && row[n - 1] == '\n') --n;
      if (!SplitCopyRow(row, n, columns,
                        batch.cells.data() + batch.rows * columns)) {
        throw std::runtime_error(
            "COPY gave a row of another width than the "
            "query's " +
            std::to_string(columns) + " columns");
      }
      if (++batch.rows == batch_rows) {
        on_batch(TextBatch(batch.cells.data(), batch.rows, columns));
        batch.Clear();
      }
    }
    if (batch.rows > 0) {
      on_batch(TextBatch(batch.cells.data(), batch.rows, columns));
      batch.Clear();
    }
  } catch (...) {
    // Stop the statement and read what the server still sends; the
    // transaction has failed, so the connection is reconnected next call.
    // (Not on a lost connection: the cancel request would wait for it.)
    if (PQstatus(conn) == CONNECTION_OK) {
      if (PGcancel* cancel = PQgetCancel(conn)) {
        char error[256];
        PQcancel(cancel, error, sizeof error);
        PQfreeCancel(cancel);
      }
    }
    char* rest = nullptr;
    while (PQgetCopyData(conn, &rest, 0) > 0) PQfreemem(rest);
    while (PGresult* r = PQgetResult(conn)) PQclear(r);
    broken_ = true;
    throw;
  }
  // The COPY's own result, then the end of the command.
  std::string message;
  while (PGresult* r = PQgetResult(conn)) {
    if (PQresultStatus(r) != PGRES_COMMAND_OK && message.empty()) {
      message = ServerError(r, conn);
    }
    PQclear(r);
  }
  if (!message.empty()) throw std::runtime_error(message);
}

void Database::QueryPreparedInTransaction(
    const std::vector<std::string>& begin, const std::string& sql,
    std::vector<Param> params, size_t columns, size_t batch_rows,
    const std::function<void(const TextBatch&)>& on_batch) {
  RefuseBinary(params);
  PGconn* conn = spec_.dialect == Dialect::kPostgres && use_prepared_
                     ? NativePg(*session_)
                     : nullptr;
  if (conn != nullptr && (PQpipelineStatus(conn) != PQ_PIPELINE_OFF ||
                          PQtransactionStatus(conn) != PQTRANS_IDLE)) {
    // Its COMMIT would end a transaction someone else opened.
    throw std::logic_error(
        "a transaction of its own was asked for inside another");
  }
  if (conn == nullptr) {
    std::string opening;
    for (const std::string& b : begin) opening += b + "; ";
    Exec(opening);
    QueryPrepared(sql, std::move(params), columns, batch_rows, on_batch);
    Exec("COMMIT");
    return;
  }
  auto known = pipelined_.find(sql);
  const bool prepare = known == pipelined_.end();
  const std::string name =
      prepare ? "rftgate_q" + std::to_string(++pipelined_names_)
              : known->second;
  std::vector<const char*> values(params.size());
  for (size_t i = 0; i < params.size(); ++i) {
    values[i] = params[i].is_null ? nullptr : params[i].value.c_str();
  }
  const int n = static_cast<int>(params.size());
  if (PQenterPipelineMode(conn) != 1) {
    throw std::runtime_error(ServerError(nullptr, conn));
  }
  bool sent = true;
  for (const std::string& b : begin) {
    sent = sent && PQsendQueryParams(conn, b.c_str(), 0, nullptr, nullptr,
                                     nullptr, nullptr, 0) == 1;
  }
  if (prepare) {
    const std::string native = RewritePlaceholders(
        sql, [](size_t i) { return "$" + std::to_string(i + 1); });
    sent = sent &&
           PQsendPrepare(conn, name.c_str(), native.c_str(), n, nullptr) == 1;
  }
  sent = sent && PQsendQueryPrepared(conn, name.c_str(), n, values.data(),
                                     nullptr, nullptr, 0) == 1;
  sent = sent && PQsendQueryParams(conn, "COMMIT", 0, nullptr, nullptr, nullptr,
                                   nullptr, 0) == 1;
  sent = sent && PQpipelineSync(conn) == 1;

  // Every command's results, up to the sync point: the first failure is
  // kept (the commands after it are skipped by the server), the query's
  // rows too.
  const size_t query = begin.size() + (prepare ? 1 : 0);
  std::unique_ptr<PGresult, void (*)(PGresult*)> rows(nullptr, PQclear);
  std::string failed = sent ? "" : ServerError(nullptr, conn);
  for (size_t command = 0; sent;) {
    PGresult* r = PQgetResult(conn);
    if (r == nullptr) {
      ++command;  // that command's results are all in
      if (PQstatus(conn) != CONNECTION_OK) {
        if (failed.empty()) failed = ServerError(nullptr, conn);
        break;
      }
      continue;
    }
    const ExecStatusType status = PQresultStatus(r);
    if (status == PGRES_PIPELINE_SYNC) {
      PQclear(r);
      break;
    }
    if (status == PGRES_FATAL_ERROR && failed.empty()) {
      failed = ServerError(r, conn);
    }
    if (command == query && status == PGRES_TUPLES_OK) {
      rows.reset(r);
    } else {
      PQclear(r);
    }
  }
  if (PQexitPipelineMode(conn) != 1) {
    broken_ = true;  // results still pending: a new session next call
    if (failed.empty()) failed = ServerError(nullptr, conn);
  }
  if (failed.empty() && rows == nullptr) failed = "the query returned no rows";
  if (!failed.empty()) {
    // The statement may exist or not: the next call prepares another name.
    pipelined_.erase(sql);
    if (!broken_ && PQtransactionStatus(conn) != PQTRANS_IDLE) {
      PQclear(PQexec(conn, "ROLLBACK"));
    }
    throw std::runtime_error(failed);
  }
  if (prepare) pipelined_.emplace(sql, name);
  if (static_cast<size_t>(PQnfields(rows.get())) != columns) {
    throw std::runtime_error("the query gave " +
                             std::to_string(PQnfields(rows.get())) +
                             " columns, not " + std::to_string(columns));
  }
  // The rows are all here: handed over once the connection is idle, so
  // that a callback that throws leaves nothing behind.
  batch_rows = std::max<size_t>(batch_rows, 1);
  const size_t total = static_cast<size_t>(PQntuples(rows.get()));
  std::vector<std::string_view> cells(batch_rows * columns);
  for (size_t first = 0; first < total; first += batch_rows) {
    const size_t count = std::min(batch_rows, total - first);
    for (size_t r = 0; r < count; ++r) {
      const int row = static_cast<int>(first + r);
      for (size_t c = 0; c < columns; ++c) {
        const int col = static_cast<int>(c);
        cells[r * columns + c] =
            PQgetisnull(rows.get(), row, col)
                ? std::string_view()
                : std::string_view(
                      PQgetvalue(rows.get(), row, col),
                      static_cast<size_t>(PQgetlength(rows.get(), row, col)));
      }
    }
    on_batch(TextBatch(cells.data(), count, columns));
  }
}

int Database::PgServerVersion() {
  if (spec_.dialect != Dialect::kPostgres || session_ == nullptr) return 0;
  return PQserverVersion(NativePg(*session_));
}

void Database::QueryDirect(
    const std::string& sql, const std::vector<Param>& params, size_t columns,
    const std::function<void(const TextBatch&)>& on_batch) {
  PGconn* conn =
      spec_.dialect == Dialect::kPostgres ? NativePg(*session_) : nullptr;
  if (conn == nullptr) {
    Query(sql, params, columns, 2, on_batch);
    return;
  }
  const std::string text = RewritePlaceholders(
      sql, [](size_t n) { return "$" + std::to_string(n + 1); });
  const size_t n = params.size();
  std::vector<const char*> values(n);
  std::vector<int> lengths(n), formats(n);
  std::vector<Oid> types(n);
  for (size_t i = 0; i < n; ++i) {
    const Param& p = params[i];
    values[i] = p.is_null ? nullptr : p.value.data();
    lengths[i] = static_cast<int>(p.value.size());
    formats[i] = p.pg_type != 0 ? 1 : 0;
    types[i] = p.pg_type;
  }
  PGresult* r =
      PQexecParams(conn, text.c_str(), static_cast<int>(n), types.data(),
                   values.data(), lengths.data(), formats.data(), 0);
  struct Clear {
    PGresult* r;
    ~Clear() { PQclear(r); }
  } clear{r};
  const ExecStatusType status = PQresultStatus(r);
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
    throw std::runtime_error(ServerError(r, conn));
  }
  if (status != PGRES_TUPLES_OK || columns == 0) return;
  if (static_cast<size_t>(PQnfields(r)) != columns) {
    throw std::runtime_error("the statement returned " +
                             std::to_string(PQnfields(r)) + " columns where " +
                             std::to_string(columns) + " were expected");
  }
  const int rows = PQntuples(r);
  std::vector<std::string_view> cells(static_cast<size_t>(rows) * columns);
  for (int row = 0; row < rows; ++row) {
    for (size_t c = 0; c < columns; ++c) {
      const int col = static_cast<int>(c);
      if (!PQgetisnull(r, row, col)) {
        cells[static_cast<size_t>(row) * columns + c] =
            std::string_view(PQgetvalue(r, row, col),
                             static_cast<size_t>(PQgetlength(r, row, col)));
      }
    }
  }
  if (rows > 0) {
    on_batch(TextBatch(cells.data(), static_cast<size_t>(rows), columns));
  }
}

void Database::QueryPrepared(
    const std::string& sql, std::vector<Param> params, size_t columns,
    size_t batch_rows, const std::function<void(const TextBatch&)>& on_batch) {
  RefuseBinary(params);
  if (!use_prepared_) {
    Query(sql, std::move(params), columns, batch_rows, on_batch);
    return;
  }
  batch_rows = std::max<size_t>(batch_rows, 2);  // see Query
  Prepared* p = nullptr;
  for (auto& q : prepared_) {
    if (q->sql == sql && q->columns == columns && q->batch_rows == batch_rows &&
        q->params.size() == params.size()) {
      p = q.get();
      break;
    }
  }
  if (p == nullptr) {
    auto fresh = std::make_unique<Prepared>();
    fresh->sql = sql;
    fresh->columns = columns;
    fresh->batch_rows = batch_rows;
    fresh->params = std::move(params);
    fresh->values.assign(columns, std::vector<std::string>(batch_rows));
    fresh->inds.assign(columns, std::vector<soci::indicator>(batch_rows));
    fresh->st = std::make_unique<soci::statement>(*session_);
    for (size_t c = 0; c < columns; ++c) {
      fresh->st->exchange(soci::into(fresh->values[c], fresh->inds[c]));
    }
    BindAll(*fresh->st, fresh->params, fresh->param_inds);
    fresh->st->alloc();
    fresh->st->prepare(
        spec_.dialect == Dialect::kSqlite ? PositionalPlaceholders(sql) : sql,
        soci::details::st_repeatable_query);
    fresh->st->define_and_bind();
    if (prepared_.size() >= kPreparedStatements) {
      prepared_.erase(prepared_.begin());
    }
    prepared_.push_back(std::move(fresh));
    p = prepared_.back().get();
  } else {
    // The bound storage stays where it is: only the values change.
    for (size_t i = 0; i < params.size(); ++i) {
      p->params[i].value.swap(params[i].value);
      p->params[i].is_null = params[i].is_null;
      p->param_inds[i] = params[i].is_null ? soci::i_null : soci::i_ok;
    }
    for (size_t c = 0; c < columns; ++c) {
      p->values[c].resize(batch_rows);
      p->inds[c].resize(batch_rows);
    }
  }
  try {
    std::vector<std::string_view> cells;
    bool more = p->st->execute(true);
    while (more) {
      size_t rows = columns == 0 ? 0 : p->values[0].size();
      if (rows > 0) on_batch(Cells(p->values, p->inds, rows, &cells));
      for (size_t c = 0; c < columns; ++c) {
        p->values[c].resize(batch_rows);
        p->inds[c].resize(batch_rows);
      }
      more = p->st->fetch();
    }
  } catch (...) {
    // Stopped half way (an error, a refused record): not kept.
    prepared_.erase(std::find_if(prepared_.begin(), prepared_.end(),
                                 [p](const auto& q) { return q.get() == p; }));
    throw;
  }
}

std::optional<std::string> Database::QueryValue(const std::string& sql,
                                                std::vector<Param> params) {
  std::optional<std::string> out;
  Query(sql, std::move(params), 1, 2, [&](const TextBatch& batch) {
    if (!out && !batch.IsNull(0, 0)) out = std::string(batch.At(0, 0));
  });
  return out;
}

std::vector<std::string> Database::ColumnsOf(const std::string& from_sql) {
  soci::row row;
  soci::statement st =
      (session_->prepare << "SELECT * FROM " + from_sql + " t WHERE 1 = 0",
       soci::into(row));
  st.execute(true);
  std::vector<std::string> names;
  for (size_t i = 0; i < row.size(); ++i) {
    names.push_back(row.get_properties(i).get_name());
  }
  return names;
}

adapter::Error Database::Translate(const std::exception& e,
                                   std::string_view doing) {
  broken_ = true;
  if (call_ != nullptr && call_->Cancelled()) {
    return adapter::Error(RFT_ERR_CANCELLED, "cancelled by the caller while " +
                                                 std::string(doing));
  }
  if (call_ != nullptr && call_->RemainingMs() == 0) {
    return adapter::Error(RFT_ERR_TIMEOUT,
                          "deadline passed while " + std::string(doing));
  }
  // SOCI appends the statement and its bound values; keep the message short
  // and free of row data.
  std::string what = e.what();
  size_t cut = what.find(" while executing \"");
  if (cut == std::string::npos) cut = what.find(" while preparing \"");
  if (cut != std::string::npos) what.resize(cut);
  return adapter::Error(RFT_ERR_DATABASE,
                        std::string(DialectName(dialect())) + " error while " +
                            std::string(doing) + ": " + MaskSecrets(what));
}

std::string Database::Describe() const {
  switch (spec_.dialect) {
    case Dialect::kSqlite:
      return "sqlite3 database '" + spec_.sqlite_path + "'";
    case Dialect::kPostgres:
      return "postgresql '" + MaskSecrets(spec_.parameters) + "'";
    case Dialect::kMysql:
      return "mysql '" + MaskSecrets(spec_.parameters) + "'";
  }
  return "database";
}

}  // namespace rftgate::adapters

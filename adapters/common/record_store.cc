#include "adapters/common/record_store.h"

#include <soci/soci.h>

#include <algorithm>
#include <charconv>
#include <condition_variable>
#include <cstddef>
#include <cstring>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <string_view>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace rftgate::adapters {
namespace {

using adapter::View;

// Key of pg_advisory_xact_lock for write-backs ("rftgate" in ASCII).
constexpr const char* kPgLockKey = "29384127839219";
// MySQL/MariaDB named lock of write-backs, one per database (named locks
// are server-wide; lock names are at most 64 characters).
constexpr const char* kMysqlLockName =
    "CONCAT('rftgate_writeback:', LEFT(DATABASE(), 45))";
constexpr const char* kComponent = "records";

std::string_view VerdictName(int32_t v) {
  switch (v) {
    case RFT_VERDICT_PASS:
      return "pass";
    case RFT_VERDICT_WARN:
      return "warn";
    case RFT_VERDICT_HOLD:
      return "hold";
  }
  return "unknown";
}

std::string_view SeverityName(int32_t s) {
  switch (s) {
    case RFT_SEVERITY_WARN:
      return "warn";
    case RFT_SEVERITY_BLOCK:
      return "block";
  }
  return "off";
}

Param OptText(rft_str s) {
  if (s.data == nullptr) return Null();
  return Text(std::string(View(s)));
}

// True when details_json lies inside the finding's struct_size.
bool HasDetails(const rft_finding_row& f) {
  return f.struct_size >=
         offsetof(rft_finding_row, details_json) + sizeof(rft_str);
}

// Columns of PostgreSQL array literals ("{"a","b",NULL}"), one element per
// row: a chunk of rows is then bound as one parameter per column and
// expanded with unnest(), instead of one parameter per value. Values are
// written straight from the rows, without an intermediate string each.
// `text` with its single quotes doubled, for a SQL string literal (of a
// quoted identifier, say, which is validated and holds no backslash).
std::string QuotedText(std::string_view text) {
  std::string out;
  for (char c : text) {
    out += c;
    if (c == '\'') out += c;
  }
  return out;
}

// Columns of values for `unnest`, each bound as one text[] value. In text
// form (`{"a","b",NULL}`, what the prepared statements of release calls
// bind through SOCI) or, for QueryDirect, in PostgreSQL's binary form,
// which the server reads without parsing quotes and escapes: per array a
// header, then per element its length (-1: NULL) and its bytes.
class PgColumns {
 public:
  PgColumns(size_t columns, bool binary)
      : binary_(binary),
        text_(columns, binary ? std::string() : std::string("{")),
        counts_(columns, 0),
        nulls_(columns, false) {}
  void AddNull(size_t column) {
    if (binary_) {
      AppendInt32(text_[column], -1);
      ++counts_[column];
      nulls_[column] = true;
      return;
    }
    Next(column) += "NULL";
  }
  void AddText(size_t column, std::string_view v) {
    if (binary_) {
      std::string& t = text_[column];
      AppendInt32(t, static_cast<int32_t>(v.size()));
      t.append(v);
      ++counts_[column];
      return;
    }
    std::string& t = Next(column);
    t += '"';
    size_t from = 0;
    for (size_t i = 0; i < v.size(); ++i) {
      if (v[i] == '"' || v[i] == '\\') {
        t.append(v.data() + from, i - from);
        t += '\\';
        from = i;
      }
    }
    t.append(v.data() + from, v.size() - from);
    t += '"';
  }
  // Absent (data() == nullptr) is NULL.
  void AddOpt(size_t column, rft_str s) {
    if (s.data == nullptr) {
      AddNull(column);
    } else {
      AddText(column, View(s));
    }
  }
  void AddInt(size_t column, int64_t v) {
    char buf[24];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    (void)ec;
    if (binary_) {
      AddText(column, std::string_view(buf, static_cast<size_t>(end - buf)));
      return;
    }
    Next(column).append(buf, end);
  }
  // "unnest(CAST(:p AS text[]), ...) AS alias(c0, c1, ...)".
  std::string Unnest(SqlBuilder& b, const char* alias) {
    std::string args, names;
    for (size_t c = 0; c < text_.size(); ++c) {
      Param p;
      if (binary_) {
        // ndim 1, the NULL flag, element type text (OID 25), the length
        // and lower bound of the one dimension.
        std::string array;
        array.reserve(20 + text_[c].size());
        AppendInt32(array, 1);
        AppendInt32(array, nulls_[c] ? 1 : 0);
        AppendInt32(array, 25);
        AppendInt32(array, static_cast<int32_t>(counts_[c]));
        AppendInt32(array, 1);
        array += text_[c];
        std::string().swap(text_[c]);
        p = PgBinary(std::move(array), kPgTextArray);
      } else {
        text_[c] += '}';
        p = Text(std::move(text_[c]));
      }
      args += (c ? ", CAST(" : "CAST(") + b.Bind(std::move(p)) + " AS text[])";
      names += (c ? ", c" : "c") + std::to_string(c);
    }
    return "unnest(" + args + ") AS " + alias + "(" + names + ")";
  }

 private:
  static void AppendInt32(std::string& out, int32_t v) {
    const auto u = static_cast<uint32_t>(v);
    const char bytes[4] = {static_cast<char>(u >> 24),
                           static_cast<char>(u >> 16),
                           static_cast<char>(u >> 8), static_cast<char>(u)};
    out.append(bytes, 4);
  }
  std::string& Next(size_t column) {
    std::string& t = text_[column];
    if (t.size() > 1) t += ',';
    return t;
  }
  bool binary_;
  std::vector<std::string> text_;
  std::vector<size_t> counts_;
  std::vector<bool> nulls_;
};

using FindingKey = std::tuple<std::string_view, int32_t, std::string_view>;
struct FindingKeyHash {
  size_t operator()(const FindingKey& k) const {
    size_t h = std::hash<std::string_view>()(std::get<0>(k));
    h = h * 1000003u ^ std::hash<int32_t>()(std::get<1>(k));
    return h * 1000003u ^ std::hash<std::string_view>()(std::get<2>(k));
  }
};

}  // namespace

RecordStore::RecordStore(Dialect dialect, RecordTables tables)
    : dialect_(dialect), tables_(std::move(tables)) {
  for (const auto& [name, what] :
       {std::pair{tables_.schema, "writeback.tables.schema"},
        std::pair{tables_.runs, "writeback.tables.runs"},
        std::pair{tables_.check_runs, "writeback.tables.check_runs"},
        std::pair{tables_.error_records, "writeback.tables.error_records"}}) {
    QuoteIdentifier(dialect_, name, what);
    if (name.size() > 50) {
      throw adapter::Error(RFT_ERR_CONFIG, std::string(what) + ": '" + name +
                                               "' is longer than 50 "
                                               "characters");
    }
  }
}

std::string RecordStore::Q(const std::string& name) const {
  return QuoteIdentifier(dialect_, name, "table");
}

int RecordStore::SchemaVersion(Database& db) {
  try {
    auto v = db.QueryValue("SELECT " + AsText(dialect_, "version") + " FROM " +
                               Q(tables_.schema) + " WHERE component = :p0",
                           {Text(kComponent)});
    if (!v) return 0;
    return static_cast<int>(ParseInteger(*v).value_or(0));
  } catch (const soci::soci_error&) {
    return 0;
  }
}

std::string RecordStore::RunTotals(Database& db) {
  std::string totals;
  db.Query("SELECT " + AsText(dialect_, "COUNT(*)") + ", " +
               AsText(dialect_, "COALESCE(SUM(orders), 0)") + ", " +
               AsText(dialect_, "COALESCE(SUM(findings), 0)") + " FROM " +
               Q(tables_.runs),
           {}, 3, 2, [&](const TextBatch& b) {
             totals = std::string(b.At(0, 0)) + " runs, " +
                      std::string(b.At(0, 1)) + " check-run rows, " +
                      std::string(b.At(0, 2)) + " findings";
           });
  return totals;
}

std::string RecordStore::SchemaTableDdl() const {
  const bool my = dialect_ == Dialect::kMysql;
  const bool pg = dialect_ == Dialect::kPostgres;
  return "CREATE TABLE IF NOT EXISTS " + Q(tables_.schema) +
         " (component VARCHAR(64) NOT NULL PRIMARY KEY, version INTEGER NOT "
         "NULL, migrated_at " +
         std::string(pg ? "timestamptz" : (my ? "DATETIME(6)" : "TEXT")) + ")" +
         (my ? " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"
             : "");
}

void RecordStore::Migrate(Database& db) {
  db.Exec(SchemaTableDdl());
  MigrateFrom(db,
              db.QueryValue("SELECT " + AsText(dialect_, "version") + " FROM " +
                                Q(tables_.schema) + " WHERE component = :p0",
                            {Text(kComponent)}));
}

void RecordStore::MigrateFrom(Database& db,
                              const std::optional<std::string>& current_text) {
  const bool my = dialect_ == Dialect::kMysql;
  const bool pg = dialect_ == Dialect::kPostgres;
  const std::string ts = pg ? "timestamptz" : (my ? "DATETIME(6)" : "TEXT");
  const std::string key = my ? "VARCHAR(191)" : "TEXT";
  const std::string text = "TEXT";
  const std::string id = pg   ? "BIGSERIAL PRIMARY KEY"
                         : my ? "BIGINT AUTO_INCREMENT PRIMARY KEY"
                              : "INTEGER PRIMARY KEY AUTOINCREMENT";
  const std::string engine =
      my ? " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin" : "";

  int current = current_text
                    ? static_cast<int>(ParseInteger(*current_text).value_or(0))
                    : 0;
  if (current > kSchemaVersion) {
    throw adapter::Error(
        RFT_ERR_DATABASE,
        "rftgate's tables are at schema version " + std::to_string(current) +
            ", newer than this adapter knows (" +
            std::to_string(kSchemaVersion) + "); upgrade the adapter");
  }
  if (current == kSchemaVersion) return;

  // Forward migrations, one step per version.
  for (int step = current + 1; step <= kSchemaVersion; ++step) {
    std::vector<std::string> ddl;
    if (step == 1) {
      ddl.push_back("CREATE TABLE IF NOT EXISTS " + Q(tables_.runs) +
                    " (run_id " + key + " NOT NULL PRIMARY KEY, ruleset " +
                    key + ", started_at " + ts + ", finished_at " + ts +
                    ", written_at " + ts +
                    " NOT NULL, orders INTEGER NOT NULL, findings INTEGER NOT "
                    "NULL)" +
                    engine);
      ddl.push_back(
          "CREATE TABLE IF NOT EXISTS " + Q(tables_.check_runs) + " (id " + id +
          ", run_id " + key + " NOT NULL, order_ref " + key +
          " NOT NULL, verdict VARCHAR(8) NOT NULL, decided_by VARCHAR(16) NOT "
          "NULL, reason " +
          text +
          ", blocking_findings INTEGER NOT NULL, warning_findings INTEGER NOT "
          "NULL, duration_us BIGINT NOT NULL, ruleset " +
          key + ", site " + key + ", provider " + key + ", customer_ref " +
          key + ", customer_order_ref " + key + ", checked_at " + ts +
          " NOT NULL, UNIQUE (run_id, order_ref))" + engine);
      ddl.push_back(
          "CREATE TABLE IF NOT EXISTS " + Q(tables_.error_records) + " (id " +
          id + ", order_ref " + key +
          " NOT NULL, line_no INTEGER NOT NULL, line_ref " + key +
          ", check_id VARCHAR(100) NOT NULL, severity VARCHAR(8) NOT NULL, "
          "message " +
          text + ", details " + text +
          ", status VARCHAR(16) NOT NULL, open_key INTEGER, first_seen_run " +
          key + " NOT NULL, last_seen_run " + key +
          " NOT NULL, first_seen_at " + ts + " NOT NULL, last_seen_at " + ts +
          " NOT NULL, times_seen INTEGER NOT NULL, resolved_at " + ts +
          ", resolved_run " + key + ", root_cause " + text +
          ", countermeasure " + text + ", who " + key + ", ruleset " + key +
          ", UNIQUE (order_ref, line_no, check_id, open_key))" + engine);
      std::string idx = tables_.error_records + "_by_run";
      std::string idx2 = tables_.check_runs + "_by_order";
      if (my) {
        ddl.push_back("CREATE INDEX IF NOT EXISTS " + Q(idx) + " ON " +
                      Q(tables_.error_records) + " (last_seen_run)");
        ddl.push_back("CREATE INDEX IF NOT EXISTS " + Q(idx2) + " ON " +
                      Q(tables_.check_runs) + " (order_ref)");
      } else {
        // Index names are unqualified; they live in the table's schema.
        auto plain = [](const std::string& t) {
          size_t dot = t.find('.');
          return dot == std::string::npos ? t : t.substr(dot + 1);
        };
        ddl.push_back("CREATE INDEX IF NOT EXISTS " +
                      Q(plain(tables_.error_records) + "_by_run") + " ON " +
                      Q(tables_.error_records) + " (last_seen_run)");
        ddl.push_back("CREATE INDEX IF NOT EXISTS " +
                      Q(plain(tables_.check_runs) + "_by_order") + " ON " +
                      Q(tables_.check_runs) + " (order_ref)");
      }
    }
    if (step == 2 && pg) {
      // The check-run table grows by one row per order checked, and each
      // of its indexes costs every release call an index entry per order:
      // its id (a number in the order rows were written, which nothing
      // looks up) loses its primary-key index. (run_id, order_ref) stays
      // unique, order_ref keeps its index. Dropping the constraint only
      // changes the catalog, whatever the table's size. It is left in
      // place, and the step still done, when it is not the one step 1
      // made, when the table is published for logical replication (the
      // key is its replica identity), or when the drop is refused: not
      // the table's owner, another table's foreign key on it, or its lock
      // not granted within 2 s (a report reading it). The table works the
      // same either way.
      const std::string literal = QuotedText(Q(tables_.check_runs));
      ddl.push_back(
          "DO $rftgate$ DECLARE pk name; lt text := "
          "current_setting('lock_timeout'); BEGIN SELECT conname INTO pk "
          "FROM pg_constraint WHERE conrelid = to_regclass('" +
          literal +
          "') AND contype = 'p' AND pg_get_constraintdef(oid) = 'PRIMARY "
          "KEY (id)'; IF pk IS NULL OR EXISTS (SELECT 1 FROM pg_publication "
          "WHERE puballtables) OR EXISTS (SELECT 1 FROM pg_publication_rel "
          "WHERE prrelid = to_regclass('" +
          literal +
          "')) THEN RETURN; END IF; BEGIN PERFORM "
          "set_config('lock_timeout', '2s', true); EXECUTE format('ALTER "
          "TABLE %s DROP CONSTRAINT %I', '" +
          literal +
          "', pk); EXCEPTION WHEN insufficient_privilege OR "
          "dependent_objects_still_exist OR lock_not_available OR "
          "object_in_use THEN RAISE NOTICE 'rftgate: % keeps its primary "
          "key: %', '" +
          literal +
          "', SQLERRM; END; PERFORM set_config('lock_timeout', lt, true); "
          "END $rftgate$");
    }
    for (const auto& statement : ddl) db.Exec(statement);
  }
  std::string now = FormatTimestampUtc(NowUnixUs());
  if (pg) now += "+00";
  if (current_text) {
    db.Exec(
        "UPDATE " + Q(tables_.schema) +
            " SET version = :p0, migrated_at = :p1 WHERE component = :p2",
        {Text(std::to_string(kSchemaVersion)), Text(now), Text(kComponent)});
  } else {
    db.Exec(
        "INSERT INTO " + Q(tables_.schema) +
            " (component, version, migrated_at) VALUES (:p0, :p1, :p2)",
        {Text(kComponent), Text(std::to_string(kSchemaVersion)), Text(now)});
  }
}

RecordStore::Rows RecordStore::Collect(const adapter::WriteBackBatch& batch,
                                       const char* what) {
  // PostgreSQL text cannot hold a NUL byte, SQLite would cut the value at
  // it: refused before anything is written, naming the order and field.
  auto no_nul = [what](const rft_str& v, const char* field, size_t index,
                       const rft_str& order_ref) {
    if (v.data != nullptr && std::memchr(v.data, 0, v.len) != nullptr) {
      std::string ref(View(order_ref));
      for (char& c : ref) {
        if (c == '\0') c = '?';
      }
      throw adapter::Error(RFT_ERR_INVALID_ARGUMENT,
                           std::string(what) + ": " + field + " " +
                               std::to_string(index) + " (order '" + ref +
                               "') contains a NUL byte, which the "
                               "database's text cannot hold; nothing was "
                               "written");
    }
  };
  // One check-run row per order (first wins) and one finding per
  // (order, line, check) (first wins): the upsert must not touch a row twice.
  Rows p;
  p.rows.reserve(batch.row_count);
  {
    std::unordered_set<std::string_view> seen;
    seen.reserve(batch.row_count);
    for (size_t i = 0; i < batch.row_count; ++i) {
      const auto& r = batch.Row(i);
      if (r.order_ref.data == nullptr || r.order_ref.len == 0) {
        throw adapter::Error(RFT_ERR_INVALID_ARGUMENT,
                             std::string(what) + ": check-run row " +
                                 std::to_string(i) + " has no order_ref");
      }
      for (const rft_str* v :
           {&r.order_ref, &r.site, &r.provider, &r.customer_ref,
            &r.customer_order_ref, &r.reason}) {
        no_nul(*v, "check-run row", i, r.order_ref);
      }
      if (seen.insert(View(r.order_ref)).second) p.rows.push_back(&r);
    }
  }
  p.findings.reserve(batch.finding_count);
  {
    std::unordered_set<FindingKey, FindingKeyHash> seen;
    seen.reserve(batch.finding_count);
    for (size_t i = 0; i < batch.finding_count; ++i) {
      const auto& f = batch.Finding(i);
      if (f.order_ref.data == nullptr || f.order_ref.len == 0 ||
          f.check_id.data == nullptr || f.check_id.len == 0) {
        throw adapter::Error(RFT_ERR_INVALID_ARGUMENT,
                             std::string(what) + ": finding " +
                                 std::to_string(i) +
                                 " has no order_ref or check_id");
      }
      for (const rft_str* v : {&f.order_ref, &f.line_ref, &f.check_id,
                               &f.message, &f.details_json}) {
        no_nul(*v, "finding", i, f.order_ref);
      }
      if (seen.insert({View(f.order_ref), f.line_no, View(f.check_id)})
              .second) {
        p.findings.push_back(&f);
      }
    }
  }
  return p;
}

WriteSummary RecordStore::Write(Database& db,
                                const adapter::WriteBackBatch& batch,
                                const HoldTarget* hold,
                                const adapter::Call& call,
                                const adapter::Logger& log) {
  const Rows rows = Collect(batch, "write_back");
  Start(*batch.run, hold, "write_back");
  wave_.small = db.UsesPreparedStatements() &&
                rows.rows.size() <= kPgSmallRows &&
                rows.findings.size() <= kPgSmallRows;
  try {
    Run(db, call, "writing back run " + wave_.run_id, false, [&] {
      BeginIn(db);
      PartIn(db, rows, call, log, nullptr);
      FinishIn(db, batch.run->finished_at, call, log);
    });
  } catch (...) {
    wave_ = Wave{};
    throw;
  }
  return Close(log);
}

void RecordStore::Begin(Database& db, const rft_writeback_run& run,
                        const HoldTarget* hold, const adapter::Call& call,
                        const adapter::Logger& log) {
  Start(run, hold, "write_begin");
  try {
    Run(db, call, "opening the wave of run " + wave_.run_id, false,
        [&] { BeginIn(db); });
  } catch (...) {
    wave_ = Wave{};
    throw;
  }
  log.Debug("write-back: wave of run " + wave_.run_id + " open");
}

void RecordStore::Part(Database& db, const adapter::WriteBackBatch& part,
                       const adapter::Call& call, const adapter::Logger& log) {
  if (auto refused = Refusal("write_part")) throw *refused;
  Settle(db, log);  // the part before, when it runs in the background
  if (wave_.already_written) return;
  const bool background = pipeline_ && dialect_ == Dialect::kPostgres;
  std::vector<PgChunk> deferred;
  Run(db, call, "writing a part of run " + wave_.run_id, true, [&] {
    PartIn(db, Collect(part, "write_part"), call, log,
           background ? &deferred : nullptr);
  });
  // Started once the call has let go of the connection.
  if (!deferred.empty()) Launch(db, std::move(deferred), call);
}

WriteSummary RecordStore::Commit(Database& db, const rft_writeback_run& run,
                                 const adapter::Call& call,
                                 const adapter::Logger& log) {
  if (auto refused = Refusal("write_commit")) {
    if (wave_.open) wave_ = Wave{};
    throw *refused;
  }
  if (View(run.run_id) != wave_.run_id) {
    const std::string open = wave_.run_id;
    Abort(db);
    throw adapter::Error(RFT_ERR_INVALID_ARGUMENT,
                         "write_commit: run '" + std::string(View(run.run_id)) +
                             "' is not the run of the open wave ('" + open +
                             "'); the wave was rolled back");
  }
  try {
    Settle(db, log);
    Run(db, call, "committing run " + wave_.run_id, true,
        [&] { FinishIn(db, run.finished_at, call, log); });
  } catch (...) {
    wave_ = Wave{};
    throw;
  }
  return Close(log);
}

RecordStore::~RecordStore() { StopPending(); }

void RecordStore::FailWave(Database& db, rft_status status, std::string why) {
  // A part that failed before the load did is the first failure.
  if (const auto job = JoinPending(); job && job->error) {
    std::tie(status, why) = Classify(job->error, job->doing);
  }
  if (!wave_.open || !wave_.failure.empty()) return;
  Fail(db, status, std::move(why));
}

void RecordStore::Abort(Database& db) noexcept {
  StopPending();
  if (!wave_.open) return;
  Release(db);
  wave_ = Wave{};
}

bool RecordStore::InWaveTransaction() const {
  return wave_.open && wave_.failure.empty() && wave_.in_transaction;
}

void RecordStore::RunInWave(Database& db, const adapter::Call& call,
                            const std::string& doing,
                            const std::function<void()>& body) {
  if (auto refused = Refusal(doing.c_str())) throw *refused;
  Run(db, call, doing, true, body);
}

void RecordStore::Start(const rft_writeback_run& run, const HoldTarget* hold,
                        const char* what) {
  if (wave_.open) {
    throw adapter::Error(RFT_ERR_INVALID_ARGUMENT,
                         std::string(what) + ": the wave of run '" +
                             wave_.run_id +
                             "' is open on this handle; commit or abort it "
                             "first");
  }
  Wave w;
  w.run_id = std::string(View(run.run_id));
  if (w.run_id.empty()) {
    throw adapter::Error(RFT_ERR_INVALID_ARGUMENT,
                         std::string(what) + ": the run has no run_id");
  }
  w.open = true;
  w.ruleset = OptText(run.ruleset);
  w.started_at = run.started_at;
  w.finished_at = run.finished_at;
  w.now = Stamp(NowUnixUs());
  w.checked_at = run.finished_at.kind == RFT_TIME_UTC
                     ? Stamp(run.finished_at.value)
                     : w.now;
  w.hold = run.apply_holds != 0 ? hold : nullptr;
  wave_ = std::move(w);
}

std::optional<adapter::Error> RecordStore::Refusal(const char* what) const {
  if (!wave_.open) {
    return adapter::Error(RFT_ERR_INVALID_ARGUMENT,
                          std::string(what) +
                              ": no wave is open on this handle (write_begin "
                              "opens one)");
  }
  if (!wave_.failure.empty()) {
    return adapter::Error(wave_.failure_status,
                          std::string(what) + ": the wave of run '" +
                              wave_.run_id +
                              "' was rolled back after an earlier failure (" +
                              wave_.failure + "); nothing of it is written");
  }
  return std::nullopt;
}

void RecordStore::Run(Database& db, const adapter::Call& call,
                      const std::string& doing, bool next_call,
                      const std::function<void()>& body) {
  try {
    // A connection lost since write_begin took the transaction with it:
    // the next statement would run on a new connection, outside it.
    if (next_call && !db.Healthy()) {
      throw adapter::Error(RFT_ERR_DATABASE,
                           "the connection to the database was lost after "
                           "write_begin");
    }
    RunDatabaseCall(db, call, doing, [&] {
      if (next_call) LimitStatements(db);
      body();
    });
  } catch (...) {
    const auto [status, why] = Classify(std::current_exception(), doing);
    Fail(db, status, why);
    throw;
  }
}

std::pair<rft_status, std::string> RecordStore::Classify(
    const std::exception_ptr& error, const std::string& doing) {
  try {
    std::rethrow_exception(error);
  } catch (const adapter::Error& e) {
    return {e.status(), e.what()};
  } catch (...) {
    return {RFT_ERR_ADAPTER, "failed while " + doing};
  }
}

void RecordStore::Fail(Database& db, rft_status status, std::string why) {
  Release(db);
  wave_.failure = std::move(why);
  wave_.failure_status = status;
}

void RecordStore::RunBesideWave(Database& wave_db, const std::string& doing,
                                const std::function<void()>& body) {
  try {
    body();
  } catch (...) {
    const auto [status, why] = Classify(std::current_exception(), doing);
    FailWave(wave_db, status, why);
    throw;
  }
}

void RecordStore::Release(Database& db) noexcept {
  if (db.Connected()) {
    if (wave_.in_transaction) {
      try {
        db.Exec("ROLLBACK");
      } catch (const std::exception& e) {
        // Whatever the transaction holds goes with the connection: the
        // next call reconnects.
        try {
          (void)db.Translate(e, "rolling back");
        } catch (...) {
        }
      } catch (...) {
      }
    }
    if (wave_.holds_lock) {
      try {
        db.QueryValue(std::string("SELECT ") +
                      AsText(dialect_, std::string("RELEASE_LOCK(") +
                                           kMysqlLockName + ")"));
      } catch (...) {
      }
    }
    if (wave_.statement_time_set && dialect_ == Dialect::kMysql) {
      try {
        db.Exec("SET SESSION max_statement_time = 0");
      } catch (...) {
      }
    }
  }
  wave_.in_transaction = false;
  wave_.holds_lock = false;
  wave_.statement_time_set = false;
}

void RecordStore::LimitStatements(Database& db) {
  if (dialect_ == Dialect::kSqlite) return;  // each call's progress handler
  const int64_t budget = db.StatementBudgetMs();
  if (budget == 0 && !wave_.statement_time_set) return;
  if (dialect_ == Dialect::kPostgres) {
    db.Exec("SET LOCAL statement_timeout = " + std::to_string(budget));
  } else {
    db.Exec("SET SESSION max_statement_time = " +
            std::to_string(static_cast<double>(budget) / 1000.0));
  }
  wave_.statement_time_set = budget > 0;
}

WriteSummary RecordStore::Close(const adapter::Logger& log) {
  WriteSummary summary = wave_.summary;
  if (summary.already_written) {
    log.Info("write-back: run " + wave_.run_id +
             " was written before; nothing changed");
  } else {
    summary.findings_seen_again =
        wave_.findings - std::min(wave_.findings, summary.findings_new);
    log.Info("write-back: run " + wave_.run_id + ": " +
             std::to_string(summary.check_runs) + " check-run rows, " +
             std::to_string(summary.findings_new) + " new findings, " +
             std::to_string(summary.findings_seen_again) + " seen again, " +
             std::to_string(summary.resolved) + " resolved");
  }
  wave_ = Wave{};
  return summary;
}

void RecordStore::BeginIn(Database& db) {
  if (dialect_ == Dialect::kPostgres) {
    BeginPostgres(db);
  } else {
    BeginGeneric(db);
  }
}

void RecordStore::PartIn(Database& db, const Rows& rows,
                         const adapter::Call& call, const adapter::Logger& log,
                         std::vector<PgChunk>* deferred) {
  if (wave_.already_written) return;
  log.Debug("write-back: writing " + std::to_string(rows.rows.size()) +
            " check-run rows and " + std::to_string(rows.findings.size()) +
            " findings of run " + wave_.run_id);
  if (dialect_ == Dialect::kPostgres) {
    // Each statement is built and run in turn (its arrays then exist one
    // at a time), or all are built for the background (one page's).
    if (deferred != nullptr) {
      BuildPostgres(rows,
                    [&](PgChunk&& c) { deferred->push_back(std::move(c)); });
    } else if (rows.rows.size() > kPgChunkRows ||
               rows.findings.size() > kPgChunkFindings) {
      BuildAheadPostgres(db, rows, call, log);
    } else {
      BuildPostgres(
          rows, [&](PgChunk&& c) { RunPostgres(db, std::move(c), call, log); });
    }
  } else {
    PartGeneric(db, rows, call, log);
  }
  wave_.orders += rows.rows.size();
  wave_.findings += rows.findings.size();
}

void RecordStore::FinishIn(Database& db, const rft_time& finished_at,
                           const adapter::Call& call,
                           const adapter::Logger& log) {
  if (wave_.already_written) return;
  if (dialect_ == Dialect::kPostgres) {
    FinishPostgres(db, finished_at, call, log);
  } else {
    FinishGeneric(db, finished_at);
  }
  wave_.in_transaction = false;
  Release(db);  // the lock and the statement limit
}

Param RecordStore::TimeParam(const rft_time& t) const {
  if (t.kind != RFT_TIME_UTC) return Null();
  return Text(Stamp(t.value));
}

std::string RecordStore::Stamp(int64_t unix_us) const {
  std::string s = FormatTimestampUtc(unix_us);
  if (dialect_ == Dialect::kPostgres) s += "+00";
  return s;
}

// The hold and release flags of a run, from its check-run rows, in two
// statements. Orders already flagged are left alone, released or held:
// rewriting a row costs a new row version (and index entries) each.
// Returns the number of orders newly held.
size_t RecordStore::ApplyHolds(Database& db, const HoldTarget& hold,
                               const std::string& run_id) {
  const std::string cr = Q(tables_.check_runs);
  const std::string table =
      QuoteIdentifier(dialect_, hold.table, "sources.orders.hold.table");
  const std::string key = QuoteIdentifier(dialect_, hold.key_column,
                                          "sources.orders.hold.key_column");
  const std::string column =
      QuoteIdentifier(dialect_, hold.column, "sources.orders.hold.column");
  auto differs = [&](SqlBuilder& b, const std::string& value) {
    const std::string v = b.Bind(Text(value));
    switch (dialect_) {
      case Dialect::kMysql:
        return "NOT (" + column + " <=> " + v + ")";
      case Dialect::kPostgres:
        return column + " IS DISTINCT FROM " + v;
      default:
        return column + " IS NOT " + v;
    }
  };
  SqlBuilder b;
  b << "UPDATE " << table << " SET " << column << " = "
    << b.Bind(Text(hold.value)) << " WHERE " << key
    << " IN (SELECT order_ref FROM " << cr
    << " WHERE run_id = " << b.Bind(Text(run_id))
    << " AND verdict = 'hold') AND ";
  b << differs(b, hold.value);
  const auto held = static_cast<size_t>(db.Exec(std::move(b)));
  if (hold.release_value) {
    SqlBuilder r;
    r << "UPDATE " << table << " SET " << column << " = "
      << r.Bind(Text(*hold.release_value)) << " WHERE " << key
      << " IN (SELECT order_ref FROM " << cr
      << " WHERE run_id = " << r.Bind(Text(run_id))
      << " AND verdict <> 'hold' AND decided_by = 'checks') AND ";
    r << differs(r, *hold.release_value);
    db.Exec(std::move(r));
  }
  return held;
}

// PostgreSQL: one round trip starts the transaction (its limits, the lock,
// the schema table and its version), one statement per chunk of orders
// writes everything of those orders (data-modifying CTEs: the run row, the
// check-run rows, the upsert of the findings, the resolve, the hold and
// release flags, returning the counts), then COMMIT. A single order is
// three round trips.
void RecordStore::BeginPostgres(Database& db) {
  const HoldTarget* hold = wave_.hold;
  // PostgreSQL refuses a data-modifying WITH part on a table with rules
  // (an audit rule "ON UPDATE ... DO ALSO" on the WMS's orders, say): the
  // flags of such a table are set by separate statements at the commit.
  wave_.holds_in_chunks = hold != nullptr;
  std::string begin = "BEGIN; SET LOCAL client_min_messages = warning; ";
  // Always set: without a limit, 0 overrides the session's (a load's).
  const int64_t budget = db.StatementBudgetMs();
  begin += "SET LOCAL statement_timeout = " + std::to_string(budget) + "; ";
  wave_.statement_time_set = budget > 0;
  if (db.PgServerVersion() >= 120000) {
    // A release call's few orders: its statement is prepared and keeps
    // its generic plan (planning it cost more than running it). Anything
    // bigger is planned for its own arrays, as the server's setting says.
    begin += wave_.small ? "SET LOCAL plan_cache_mode = force_generic_plan; "
                         : "SET LOCAL plan_cache_mode TO DEFAULT; ";
  }
  // The schema table's "already exists" notice stays off the host's
  // stderr; the component name is a constant of this file. The last
  // statement returns "<version>|<hold table has rules>"; the hold
  // table's name is a validated, quoted identifier.
  std::string rules = "false";
  if (hold != nullptr) {
    const std::string literal = QuotedText(
        QuoteIdentifier(dialect_, hold->table, "sources.orders.hold.table"));
    rules =
        "COALESCE((SELECT CAST(relhasrules AS text) FROM pg_class WHERE "
        "oid = to_regclass('" +
        literal + "')), 'false')";
  }
  begin += std::string("SELECT pg_advisory_xact_lock(") + kPgLockKey + "); " +
           SchemaTableDdl() +
           "; SELECT COALESCE((SELECT CAST(version AS text) FROM " +
           Q(tables_.schema) + " WHERE component = '" + kComponent +
           "'), '') || '|' || " + rules;
  wave_.in_transaction = true;
  const std::string answer = db.QueryValue(begin).value_or("|false");
  const size_t bar = answer.find('|');
  std::optional<std::string> version;
  if (bar != 0 && bar != std::string::npos) version = answer.substr(0, bar);
  if (bar != std::string::npos && answer.substr(bar + 1) == "true") {
    wave_.holds_in_chunks = false;
  }
  MigrateFrom(db, version);
}

// The first chunk of a run also writes its run row, with the totals known
// so far; FinishPostgres corrects them when later parts added to them.
void RecordStore::BuildPostgres(const Rows& p,
                                const std::function<void(PgChunk&&)>& emit,
                                size_t first_rows) {
  if (wave_.run_row_planned && p.rows.empty() && p.findings.empty()) {
    return;
  }
  const HoldTarget* hold = wave_.hold;
  const bool holds_in_chunks = wave_.holds_in_chunks;
  std::string hold_table, hold_key, hold_column;
  if (holds_in_chunks) {
    hold_table =
        QuoteIdentifier(dialect_, hold->table, "sources.orders.hold.table");
    hold_key = QuoteIdentifier(dialect_, hold->key_column,
                               "sources.orders.hold.key_column");
    hold_column =
        QuoteIdentifier(dialect_, hold->column, "sources.orders.hold.column");
  }
  const std::string& run_id = wave_.run_id;
  const std::string er = Q(tables_.error_records);
  const std::string cr = Q(tables_.check_runs);
  const Param& ruleset = wave_.ruleset;

  // Orders in ref order, cut into chunks of contiguous refs, each with the
  // findings of its orders: the resolve of a chunk then sees every finding
  // of its orders, and each statement works on a narrow range of the
  // indexes and of the hold table instead of pages all over them (at
  // 100,000 orders the hold UPDATEs and index inserts of chunks in serving
  // sequence touched most pages of the orders table once per chunk).
  std::vector<const rft_check_run_row*> rows(p.rows);
  std::sort(rows.begin(), rows.end(), [](const auto* a, const auto* b) {
    return View(a->order_ref) < View(b->order_ref);
  });
  std::vector<const rft_finding_row*> findings(p.findings);
  std::stable_sort(findings.begin(), findings.end(),
                   [](const auto* a, const auto* b) {
                     return View(a->order_ref) < View(b->order_ref);
                   });
  // At most kPgChunkRows orders per statement and, unless one order alone
  // has more, at most kPgChunkFindings findings: a statement's arrays and
  // its time under the statement limit stay bounded when orders have many
  // findings each. A finding goes with the last order whose ref is not
  // greater than its own (findings before the first order go with it).
  struct Chunk {
    size_t begin = 0, end = 0;      // rows[begin, end)
    size_t f_begin = 0, f_end = 0;  // findings[f_begin, f_end)
  };
  std::vector<Chunk> chunks;
  {
    Chunk cur;
    size_t fi = 0;
    for (size_t i = 0; i < rows.size(); ++i) {
      size_t f_end = findings.size();
      if (i + 1 < rows.size()) {
        const std::string_view next = View(rows[i + 1]->order_ref);
        f_end = fi;
        while (f_end < findings.size() &&
               View(findings[f_end]->order_ref) < next) {
          ++f_end;
        }
      }
      if (i > cur.begin &&
          (i - cur.begin >= (chunks.empty() ? first_rows : kPgChunkRows) ||
           cur.f_end - cur.f_begin + (f_end - fi) > kPgChunkFindings)) {
        chunks.push_back(cur);
        cur = Chunk{i, i, fi, fi};
      }
      cur.end = i + 1;
      cur.f_end = f_end;
      fi = f_end;
    }
    if (rows.empty()) cur.f_end = findings.size();
    chunks.push_back(cur);
  }

  size_t findings_done = 0;
  for (size_t chunk = 0; chunk < chunks.size(); ++chunk) {
    const bool first = !wave_.run_row_planned;
    const size_t start = chunks[chunk].begin;
    const size_t end = chunks[chunk].end;
    const std::span<const rft_finding_row* const> fs(
        findings.data() + chunks[chunk].f_begin,
        chunks[chunk].f_end - chunks[chunk].f_begin);
    SqlBuilder b;
    b << "WITH ";
    // The run row: a run id written before inserts nothing, and then
    // nothing else of the first chunk is written either.
    if (first) {
      b << "run AS (";
      InsertRunRow(b, wave_.finished_at, wave_.orders + rows.size(),
                   wave_.findings + p.findings.size());
      b << " ON CONFLICT (run_id) DO NOTHING RETURNING 1), ";
    }
    const char* gate = first ? " WHERE EXISTS (SELECT 1 FROM run)" : "";
    {
      PgColumns cols(11, !wave_.small);
      for (size_t i = start; i < end; ++i) {
        const auto& r = *rows[i];
        cols.AddText(0, View(r.order_ref));
        cols.AddText(1, VerdictName(r.verdict));
        cols.AddText(2, r.decided_by == RFT_DECIDED_BY_FAILURE_POLICY
                            ? "failure_policy"
                            : "checks");
        cols.AddOpt(3, r.reason);
        cols.AddInt(4, r.blocking_findings);
        cols.AddInt(5, r.warning_findings);
        cols.AddInt(6, r.duration_us);
        cols.AddOpt(7, r.site);
        cols.AddOpt(8, r.provider);
        cols.AddOpt(9, r.customer_ref);
        cols.AddOpt(10, r.customer_order_ref);
      }
      b << "cr AS (INSERT INTO " << cr
        << " (run_id, order_ref, verdict, decided_by, reason, "
           "blocking_findings, warning_findings, duration_us, ruleset, site, "
           "provider, customer_ref, customer_order_ref, checked_at) SELECT "
           "CAST("
        << b.Bind(Text(run_id))
        << " AS text), u.c0, u.c1, u.c2, u.c3, CAST(u.c4 AS integer), "
           "CAST(u.c5 AS integer), CAST(u.c6 AS bigint), CAST("
        << b.Bind(ruleset) << " AS text), u.c7, u.c8, u.c9, u.c10, CAST("
        << b.Bind(Text(wave_.checked_at)) << " AS timestamptz) FROM "
        << cols.Unnest(b, "u") << gate
        << " RETURNING order_ref, verdict, decided_by), ";
    }
    {
      PgColumns cols(7, !wave_.small);
      for (const rft_finding_row* f : fs) {
        cols.AddText(0, View(f->order_ref));
        cols.AddInt(1, f->line_no);
        cols.AddOpt(2, f->line_ref);
        cols.AddText(3, View(f->check_id));
        cols.AddText(4, SeverityName(f->severity));
        cols.AddOpt(5, f->message);
        if (HasDetails(*f)) {
          cols.AddOpt(6, f->details_json);
        } else {
          cols.AddNull(6);
        }
      }
      b << "f AS (SELECT u.c0 AS order_ref, CAST(u.c1 AS integer) AS line_no, "
           "u.c2 AS line_ref, u.c3 AS check_id, u.c4 AS severity, u.c5 AS "
           "message, u.c6 AS details FROM "
        << cols.Unnest(b, "u") << "), ";
    }
    // Findings: upsert on the active record of (order, line, check).
    b << "er AS (INSERT INTO " << er
      << " (order_ref, line_no, line_ref, check_id, severity, message, "
         "details, status, open_key, first_seen_run, last_seen_run, "
         "first_seen_at, last_seen_at, times_seen, ruleset) SELECT "
         "f.order_ref, f.line_no, f.line_ref, f.check_id, f.severity, "
         "f.message, f.details, 'open', 1, CAST("
      << b.Bind(Text(run_id)) << " AS text), CAST(" << b.Bind(Text(run_id))
      << " AS text), CAST(" << b.Bind(Text(wave_.now))
      << " AS timestamptz), CAST(" << b.Bind(Text(wave_.now))
      << " AS timestamptz), 1, CAST(" << b.Bind(ruleset) << " AS text) FROM f"
      << gate
      << " ON CONFLICT (order_ref, line_no, check_id, open_key) DO UPDATE SET "
         "last_seen_run = excluded.last_seen_run, last_seen_at = "
         "excluded.last_seen_at, times_seen = "
      << er
      << ".times_seen + 1, severity = excluded.severity, message = "
         "excluded.message, details = excluded.details, line_ref = "
         "excluded.line_ref, ruleset = excluded.ruleset RETURNING "
         "first_seen_run), ";
    // Resolve the active records of this chunk's orders (judged by the
    // checks) whose finding this run did not see again. All parts of one
    // statement see the tables as they were before it: the records the
    // upsert updates are left out by key, not by last_seen_run.
    b << "res AS (UPDATE " << er
      << " e SET status = 'resolved', open_key = NULL, resolved_at = "
      << b.Bind(Text(wave_.now)) << ", resolved_run = " << b.Bind(Text(run_id))
      << " WHERE e.open_key = 1 AND e.last_seen_run <> " << b.Bind(Text(run_id))
      << " AND e.order_ref IN (SELECT order_ref FROM cr WHERE decided_by = "
         "'checks') AND NOT EXISTS (SELECT 1 FROM f WHERE f.order_ref = "
         "e.order_ref AND f.line_no = e.line_no AND f.check_id = e.check_id) "
         "RETURNING 1)";
    if (holds_in_chunks) {
      // Orders already flagged are left alone, released or held: rewriting
      // a row costs a new row version and index entries each.
      b << ", held AS (UPDATE " << hold_table << " SET " << hold_column << " = "
        << b.Bind(Text(hold->value)) << " WHERE " << hold_key
        << " IN (SELECT order_ref FROM cr WHERE verdict = 'hold') AND "
        << hold_column << " IS DISTINCT FROM " << b.Bind(Text(hold->value))
        << " RETURNING 1)";
      if (hold->release_value) {
        // The orders judged by the checks that passed, less those whose
        // flag the load read at the release value (KnownReleased): an
        // index probe each saved, most orders of most waves.
        PgColumns probe(1, !wave_.small);
        size_t probed = 0;
        for (size_t i = start; i < end; ++i) {
          const auto& r = *rows[i];
          if (r.verdict == RFT_VERDICT_HOLD ||
              r.decided_by == RFT_DECIDED_BY_FAILURE_POLICY) {
            continue;
          }
          const std::string_view ref = View(r.order_ref);
          if (known_released_ != nullptr && known_released_->count(ref) != 0) {
            continue;
          }
          probe.AddText(0, ref);
          ++probed;
        }
        if (probed > 0) {
          b << ", released AS (UPDATE " << hold_table << " SET " << hold_column
            << " = " << b.Bind(Text(*hold->release_value)) << " WHERE "
            << hold_key << " IN (SELECT p.c0 FROM " << probe.Unnest(b, "p")
            << ") AND " << hold_column << " IS DISTINCT FROM "
            << b.Bind(Text(*hold->release_value))
            << (first ? " AND EXISTS (SELECT 1 FROM run)" : "")
            << " RETURNING 1)";
        }
      }
    }
    b << " SELECT "
      << (first ? "CAST((SELECT COUNT(*) FROM run) AS text)" : "'1'")
      << ", CAST((SELECT COUNT(*) FROM cr) AS text), CAST((SELECT COUNT(*) "
         "FROM er WHERE first_seen_run = "
      << b.Bind(Text(run_id))
      << ") AS text), CAST((SELECT COUNT(*) FROM res) AS text), "
      << (holds_in_chunks ? "CAST((SELECT COUNT(*) FROM held) AS text)"
                          : "'0'");
    PgChunk c;
    c.sql = std::move(b.sql);
    c.params = std::move(b.params);
    c.first = first;
    c.small = wave_.small;
    if (first) {
      wave_.run_row_planned = true;
      c.row_orders = wave_.orders + rows.size();
      c.row_findings = wave_.findings + p.findings.size();
    }
    findings_done += fs.size();
    c.log = "write-back: " + std::to_string(end) + " of " +
            std::to_string(rows.size()) + " check-run rows and " +
            std::to_string(findings_done) + " of " +
            std::to_string(p.findings.size()) + " findings written";
    emit(std::move(c));
  }
}

// Several statements: the next one is built on a thread of its own while
// the server runs this one (building a chunk of 5,000 orders takes the
// client about a tenth of the time the server takes to write it). One
// chunk at most waits built, and one more is being built: memory holds
// three chunks' arrays at most.
// BuildPostgres then writes only wave_.run_row_planned, which nothing on
// this thread reads meanwhile. Without a thread, one after the other.
void RecordStore::BuildAheadPostgres(Database& db, const Rows& rows,
                                     const adapter::Call& call,
                                     const adapter::Logger& log) {
  struct Queue {
    std::mutex mu;
    std::condition_variable cv;
    std::optional<PgChunk> ready;
    bool done = false, stop = false;
    std::exception_ptr error;
  } q;
  auto build = [&] {
    try {
      // A small first statement: the server starts sooner, and builds
      // overlap its work from the second one on.
      BuildPostgres(
          rows,
          [&](PgChunk&& c) {
            std::unique_lock lock(q.mu);
            q.cv.wait(lock, [&] { return !q.ready || q.stop; });
            if (q.stop) throw std::runtime_error("stopped");
            q.ready = std::move(c);
            q.cv.notify_all();
          },
          kPgChunkRows / 5);
    } catch (...) {
      std::lock_guard lock(q.mu);
      if (!q.stop) q.error = std::current_exception();
    }
    std::lock_guard lock(q.mu);
    q.done = true;
    q.cv.notify_all();
  };
  std::thread builder;
  try {
    builder = std::thread(build);
  } catch (const std::system_error&) {
    BuildPostgres(
        rows, [&](PgChunk&& c) { RunPostgres(db, std::move(c), call, log); });
    return;
  }
  // Stops the builder and waits for it, however this function ends.
  struct Join {
    Queue& q;
    std::thread& t;
    ~Join() {
      {
        std::lock_guard lock(q.mu);
        q.stop = true;
      }
      q.cv.notify_all();
      t.join();
    }
  } join{q, builder};
  for (;;) {
    std::optional<PgChunk> next;
    {
      std::unique_lock lock(q.mu);
      q.cv.wait(lock, [&] { return q.ready || q.done; });
      if (!q.ready) break;
      next = std::move(q.ready);
      q.ready.reset();
      q.cv.notify_all();
    }
    RunPostgres(db, std::move(*next), call, log);
    if (wave_.already_written) return;
  }
  if (q.error) std::rethrow_exception(q.error);
}

// Runs one statement of BuildPostgres now, unless the run was found
// written before.
void RecordStore::RunPostgres(Database& db, PgChunk&& chunk,
                              const adapter::Call& call,
                              const adapter::Logger& log) {
  if (wave_.already_written) return;
  std::vector<PgChunk> one;
  one.push_back(std::move(chunk));
  PgOutcome outcome;
  ExecutePostgres(db, one, call, &outcome, nullptr);
  MergePostgres(one, outcome, log);
}

// Runs the statements of BuildPostgres in order, until the first one finds
// the run written before (it then rolls back). Reads no member that
// changes: it may run on a thread of its own (Launch).
void RecordStore::ExecutePostgres(Database& db, std::vector<PgChunk>& chunks,
                                  const adapter::Call& call, PgOutcome* out,
                                  const std::atomic<bool>* stop) {
  for (PgChunk& c : chunks) {
    call.ThrowIfStopped();
    if (stop != nullptr && stop->load()) {
      throw adapter::Error(RFT_ERR_CANCELLED, "the wave was given up");
    }
    std::vector<int64_t> counts;
    auto take = [&](const TextBatch& batch) {
      for (size_t col = 0; col < 5; ++col) {
        counts.push_back(ParseInteger(batch.At(0, col)).value_or(0));
      }
    };
    if (c.small) {
      db.QueryPrepared(c.sql, std::move(c.params), 5, 2, take);
    } else {
      db.QueryDirect(c.sql, c.params, 5, take);
      std::vector<Param>().swap(c.params);
    }
    std::string().swap(c.sql);
    if (counts.size() != 5) {
      throw adapter::Error(RFT_ERR_DATABASE,
                           "write-back: the database returned no counts");
    }
    if (c.first && counts[0] == 0) {
      db.Exec("ROLLBACK");
      out->already_written = true;
      return;
    }
    out->counts.push_back(
        {counts[0], counts[1], counts[2], counts[3], counts[4]});
  }
}

// Takes the counts of the statements ExecutePostgres ran into the wave.
void RecordStore::MergePostgres(const std::vector<PgChunk>& chunks,
                                const PgOutcome& outcome,
                                const adapter::Logger& log) {
  WriteSummary& summary = wave_.summary;
  for (size_t i = 0; i < outcome.counts.size() && i < chunks.size(); ++i) {
    const PgChunk& c = chunks[i];
    const auto& counts = outcome.counts[i];
    if (c.first) {
      wave_.run_row = true;
      wave_.row_orders = c.row_orders;
      wave_.row_findings = c.row_findings;
    }
    summary.check_runs += static_cast<size_t>(counts[1]);
    summary.findings_new += static_cast<size_t>(counts[2]);
    summary.resolved += static_cast<size_t>(counts[3]);
    summary.holds_applied += static_cast<size_t>(counts[4]);
    log.Debug(c.log);
  }
  if (outcome.already_written) {
    summary.already_written = true;
    wave_.already_written = true;
    wave_.in_transaction = false;
  }
}

// The statements of a part run on a thread of their own, on `db` (the
// wave's connection, which nothing else uses until Settle): the caller
// meanwhile loads and checks the next page on its other connection. The
// call's deadline goes with them; Abort stops them between statements.
void RecordStore::Launch(Database& db, std::vector<PgChunk> chunks,
                         const adapter::Call& call) {
  auto job = std::make_unique<Pending>();
  job->chunks = std::move(chunks);
  job->call.struct_size = sizeof job->call;
  job->call.deadline_unix_ms =
      call.raw() != nullptr ? call.raw()->deadline_unix_ms : 0;
  job->doing = "writing a part of run " + wave_.run_id;
  job->canceller = db.MakeCanceller();
  Pending* j = job.get();
  try {
    j->thread = std::thread([&db, j] {
      const adapter::Call c(&j->call);
      try {
        if (!db.Healthy()) {
          throw adapter::Error(RFT_ERR_DATABASE,
                               "the connection to the database was lost "
                               "after write_begin");
        }
        RunDatabaseCall(db, c, j->doing, [&] {
          ExecutePostgres(db, j->chunks, c, &j->outcome, &j->stop);
        });
      } catch (...) {
        j->error = std::current_exception();
        // The transaction goes at once, with its locks, not at the next
        // call (a lost connection took it already).
        if (db.Connected()) {
          try {
            db.Exec("ROLLBACK");
            j->rolled_back = true;
          } catch (...) {
          }
        }
      }
    });
  } catch (const std::exception& e) {
    Fail(db, RFT_ERR_ADAPTER,
         std::string("the part could not be started: ") + e.what());
    throw adapter::Error(wave_.failure_status, wave_.failure);
  }
  pending_ = std::move(job);
}

std::unique_ptr<RecordStore::Pending> RecordStore::JoinPending() noexcept {
  if (!pending_) return nullptr;
  if (pending_->thread.joinable()) pending_->thread.join();
  if (pending_->rolled_back) wave_.in_transaction = false;
  return std::move(pending_);
}

void RecordStore::Settle(Database& db, const adapter::Logger& log) {
  const std::unique_ptr<Pending> job = JoinPending();
  if (!job) return;
  if (!job->error) {
    MergePostgres(job->chunks, job->outcome, log);
    return;
  }
  const auto [status, why] = Classify(job->error, job->doing);
  Fail(db, status, why);
  throw adapter::Error(status, why);
}

void RecordStore::StopPending() noexcept {
  if (!pending_) return;
  pending_->stop = true;
  // The running statement is cancelled, not waited for.
  if (pending_->canceller) pending_->canceller->Cancel();
  JoinPending();
}

// What comes last: the run row of a run without orders (and the run-id
// check with it), the flags of a hold table with rules, the run row's
// final time and totals when parts came after its first chunk, COMMIT.
void RecordStore::FinishPostgres(Database& db, const rft_time& finished_at,
                                 const adapter::Call& call,
                                 const adapter::Logger& log) {
  if (!wave_.run_row_planned) {
    BuildPostgres(
        Rows{}, [&](PgChunk&& c) { RunPostgres(db, std::move(c), call, log); });
  }
  if (wave_.already_written) return;
  if (wave_.hold != nullptr && !wave_.holds_in_chunks) {
    wave_.summary.holds_applied += ApplyHolds(db, *wave_.hold, wave_.run_id);
  }
  if (wave_.row_orders != wave_.orders ||
      wave_.row_findings != wave_.findings ||
      finished_at.kind != wave_.finished_at.kind ||
      finished_at.value != wave_.finished_at.value) {
    SqlBuilder b;
    b << "UPDATE " << Q(tables_.runs)
      << " SET finished_at = " << b.Bind(TimeParam(finished_at))
      << ", orders = " << b.Bind(Text(std::to_string(wave_.orders)))
      << ", findings = " << b.Bind(Text(std::to_string(wave_.findings)))
      << " WHERE run_id = " << b.Bind(Text(wave_.run_id));
    db.Exec(std::move(b));
  }
  db.Exec("COMMIT");
}

// SQLite and MySQL: the lock and the migration, the run-id check (a run
// written before is rolled back at once, its lock released).
void RecordStore::BeginGeneric(Database& db) {
  if (dialect_ == Dialect::kSqlite) {
    db.Exec("BEGIN IMMEDIATE");
    wave_.in_transaction = true;
    Migrate(db);
  } else {
    LimitStatements(db);
    const int64_t budget = db.StatementBudgetMs();
    int64_t wait_s = budget > 0 ? (budget + 999) / 1000 : 60;
    auto got = db.QueryValue(
        "SELECT " + AsText(dialect_, std::string("GET_LOCK(") + kMysqlLockName +
                                         ", " + std::to_string(wait_s) + ")"));
    if (!got || *got != "1") {
      throw adapter::Error(RFT_ERR_TIMEOUT,
                           "another write-back held the lock for " +
                               std::to_string(wait_s) + " s");
    }
    wave_.holds_lock = true;
    // DDL commits implicitly on MySQL: migrate before the transaction,
    // under the lock.
    Migrate(db);
    db.Exec("START TRANSACTION");
    wave_.in_transaction = true;
  }

  auto existing =
      db.QueryValue("SELECT " + AsText(dialect_, "COUNT(*)") + " FROM " +
                        Q(tables_.runs) + " WHERE run_id = :p0",
                    {Text(wave_.run_id)});
  if (existing && *existing != "0") {
    wave_.summary.already_written = true;
    wave_.already_written = true;
    Release(db);
  }
}

// SQLite and MySQL: one multi-row INSERT per chunk of check-run rows and of
// findings (upserted).
void RecordStore::PartGeneric(Database& db, const Rows& p,
                              const adapter::Call& call,
                              const adapter::Logger& log) {
  const bool my = dialect_ == Dialect::kMysql;
  const Param& ruleset = wave_.ruleset;
  const std::string er = Q(tables_.error_records);
  const std::string cr = Q(tables_.check_runs);
  const std::string& run_id = wave_.run_id;
  const std::string& now = wave_.now;
  const auto& rows = p.rows;
  const auto& findings = p.findings;
  for (size_t start = 0; start < rows.size(); start += kChunkRows) {
    call.ThrowIfStopped();
    size_t end = std::min(rows.size(), start + kChunkRows);
    SqlBuilder b;
    b << "INSERT INTO " << cr
      << " (run_id, order_ref, verdict, decided_by, reason, "
         "blocking_findings, warning_findings, duration_us, ruleset, "
         "site, provider, customer_ref, customer_order_ref, checked_at) "
         "VALUES ";
    for (size_t i = start; i < end; ++i) {
      const auto& r = *rows[i];
      if (i > start) b << ", ";
      b << "(" << b.Bind(Text(run_id)) << ", " << b.Bind(OptText(r.order_ref))
        << ", " << b.Bind(Text(std::string(VerdictName(r.verdict)))) << ", "
        << b.Bind(Text(r.decided_by == RFT_DECIDED_BY_FAILURE_POLICY
                           ? "failure_policy"
                           : "checks"))
        << ", " << b.Bind(OptText(r.reason)) << ", "
        << b.Bind(Text(std::to_string(r.blocking_findings))) << ", "
        << b.Bind(Text(std::to_string(r.warning_findings))) << ", "
        << b.Bind(Text(std::to_string(r.duration_us))) << ", "
        << b.Bind(ruleset) << ", " << b.Bind(OptText(r.site)) << ", "
        << b.Bind(OptText(r.provider)) << ", "
        << b.Bind(OptText(r.customer_ref)) << ", "
        << b.Bind(OptText(r.customer_order_ref)) << ", "
        << b.Bind(Text(wave_.checked_at)) << ")";
    }
    db.Exec(std::move(b));
    wave_.summary.check_runs += end - start;
    log.Debug("write-back: " + std::to_string(end) + " of " +
              std::to_string(rows.size()) + " check-run rows written");
  }
  // Findings: upsert on the active record of (order, line, check).
  for (size_t start = 0; start < findings.size(); start += kChunkRows) {
    call.ThrowIfStopped();
    size_t end = std::min(findings.size(), start + kChunkRows);
    SqlBuilder b;
    b << "INSERT INTO " << er
      << " (order_ref, line_no, line_ref, check_id, severity, message, "
         "details, status, open_key, first_seen_run, last_seen_run, "
         "first_seen_at, last_seen_at, times_seen, ruleset) VALUES ";
    for (size_t i = start; i < end; ++i) {
      const auto& f = *findings[i];
      if (i > start) b << ", ";
      b << "(" << b.Bind(OptText(f.order_ref)) << ", "
        << b.Bind(Text(std::to_string(f.line_no))) << ", "
        << b.Bind(OptText(f.line_ref)) << ", " << b.Bind(OptText(f.check_id))
        << ", " << b.Bind(Text(std::string(SeverityName(f.severity)))) << ", "
        << b.Bind(OptText(f.message)) << ", "
        << b.Bind(HasDetails(f) ? OptText(f.details_json) : Null())
        << ", 'open', 1, " << b.Bind(Text(run_id)) << ", "
        << b.Bind(Text(run_id)) << ", " << b.Bind(Text(now)) << ", "
        << b.Bind(Text(now)) << ", 1, " << b.Bind(ruleset) << ")";
    }
    if (my) {
      b << " ON DUPLICATE KEY UPDATE last_seen_run = "
           "VALUES(last_seen_run), last_seen_at = VALUES(last_seen_at), "
           "times_seen = times_seen + 1, severity = VALUES(severity), "
           "message = VALUES(message), details = VALUES(details), "
           "line_ref = VALUES(line_ref), ruleset = VALUES(ruleset)";
    } else {
      b << " ON CONFLICT (order_ref, line_no, check_id, open_key) DO "
           "UPDATE SET last_seen_run = excluded.last_seen_run, "
           "last_seen_at = excluded.last_seen_at, times_seen = "
        << er
        << ".times_seen + 1, severity = excluded.severity, message = "
           "excluded.message, details = excluded.details, line_ref = "
           "excluded.line_ref, ruleset = excluded.ruleset";
    }
    db.Exec(std::move(b));
    log.Debug("write-back: " + std::to_string(end) + " of " +
              std::to_string(findings.size()) + " findings written");
  }
}

// SQLite and MySQL: the resolve, the hold and release UPDATEs, the count of
// new records, the run row with its final time and totals, COMMIT.
void RecordStore::FinishGeneric(Database& db, const rft_time& finished_at) {
  const std::string er = Q(tables_.error_records);
  const std::string cr = Q(tables_.check_runs);
  const std::string& run_id = wave_.run_id;
  const std::string& now = wave_.now;
  WriteSummary& summary = wave_.summary;
  // Resolve the active records of orders the checks judged in this run
  // whose finding was not seen again.
  {
    SqlBuilder b;
    b << "UPDATE " << er << " SET status = 'resolved', open_key = NULL, "
      << "resolved_at = " << b.Bind(Text(now))
      << ", resolved_run = " << b.Bind(Text(run_id))
      << " WHERE open_key = 1 AND last_seen_run <> " << b.Bind(Text(run_id))
      << " AND order_ref IN (SELECT order_ref FROM " << cr
      << " WHERE run_id = " << b.Bind(Text(run_id))
      << " AND decided_by = 'checks')";
    summary.resolved = static_cast<size_t>(db.Exec(std::move(b)));
  }
  if (wave_.hold != nullptr) {
    summary.holds_applied = ApplyHolds(db, *wave_.hold, run_id);
  }
  auto fresh =
      db.QueryValue("SELECT " + AsText(dialect_, "COUNT(*)") + " FROM " + er +
                        // New records were last seen in this run too:
                        // the index on last_seen_run finds them.
                        " WHERE last_seen_run = :p0 AND first_seen_run = :p1",
                    {Text(run_id), Text(run_id)});
  summary.findings_new =
      fresh ? static_cast<size_t>(ParseInteger(*fresh).value_or(0)) : 0;
  {
    SqlBuilder b;
    InsertRunRow(b, finished_at, wave_.orders, wave_.findings);
    db.Exec(std::move(b));
  }
  db.Exec("COMMIT");
}

void RecordStore::InsertRunRow(SqlBuilder& b, const rft_time& finished_at,
                               size_t orders, size_t findings) const {
  b << "INSERT INTO " << Q(tables_.runs)
    << " (run_id, ruleset, started_at, finished_at, written_at, orders, "
       "findings) VALUES ("
    << b.Bind(Text(wave_.run_id)) << ", " << b.Bind(wave_.ruleset) << ", "
    << b.Bind(TimeParam(wave_.started_at)) << ", "
    << b.Bind(TimeParam(finished_at)) << ", " << b.Bind(Text(wave_.now)) << ", "
    << b.Bind(Text(std::to_string(orders))) << ", "
    << b.Bind(Text(std::to_string(findings))) << ")";
}

}  // namespace rftgate::adapters

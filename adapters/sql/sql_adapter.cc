#include "adapters/sql/sql_adapter.h"

#include <atomic>
#include <exception>
#include <filesystem>
#include <functional>
#include <future>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

namespace rftgate::sql_adapter {
namespace {

using adapter::Error;
using adapters::AsText;
using adapters::Param;
using adapters::SqlBuilder;
using adapters::Text;
using adapters::TextBatch;

constexpr size_t kBatchRows = 1024;

// Reads typed values from one row of a text batch. Strings are views into
// the batch (valid during the batch callback only).
class RowReader {
 public:
  // Column 0 of the reader is column `first` of the batch.
  RowReader(const TextBatch& batch, size_t row, adapters::TimestampMode mode,
            size_t* bad_values, size_t first = 0)
      : batch_(batch),
        row_(row),
        first_(first),
        mode_(mode),
        bad_(bad_values) {}

  std::string_view View(size_t col) const {
    return batch_.At(row_, first_ + col);
  }

  rft_str Str(size_t col) const {
    std::string_view v = View(col);
    return v.data() == nullptr ? adapter::NullStr()
                               : rft_str{v.data(), v.size()};
  }
  bool Null(size_t col) const { return batch_.IsNull(row_, first_ + col); }
  rft_decimal Decimal(size_t col) const {
    if (Null(col)) return adapter::NullDecimal();
    auto d = adapters::ParseDecimal(View(col));
    if (!d) {
      ++*bad_;
      return adapter::NullDecimal();
    }
    return *d;
  }
  rft_time Time(size_t col) const {
    if (Null(col) || View(col).empty()) return adapter::NoTime();
    auto t = adapters::ParseTime(View(col), mode_);
    if (!t) {
      ++*bad_;
      return adapter::NoTime();
    }
    return *t;
  }
  int32_t Int(size_t col, int32_t absent) const {
    if (Null(col)) return absent;
    auto v = adapters::ParseInteger(View(col));
    if (!v || *v < INT32_MIN || *v > INT32_MAX) {
      ++*bad_;
      return absent;
    }
    return static_cast<int32_t>(*v);
  }
  int32_t Flag(size_t col) const {
    if (Null(col)) return RFT_FLAG_UNKNOWN;
    int32_t f = adapters::ParseFlag(View(col));
    if (f == RFT_FLAG_UNKNOWN) ++*bad_;
    return f;
  }
  // Counts a value of this row that could not be read.
  void Bad() const { ++*bad_; }
  std::string Lower(size_t col) const {
    std::string s(View(col));
    for (auto& ch : s) ch = static_cast<char>(std::tolower(ch));
    return s;
  }

 private:
  const TextBatch& batch_;
  size_t row_;
  size_t first_;
  adapters::TimestampMode mode_;
  size_t* bad_;
};

int32_t RemovalStrategy(const RowReader& r, size_t col) {
  if (r.Null(col)) return RFT_REMOVAL_DEFAULT;
  std::string s = r.Lower(col);
  if (s == "fefo") return RFT_REMOVAL_FEFO;
  if (s == "fifo") return RFT_REMOVAL_FIFO;
  if (s == "as_listed" || s == "listed") return RFT_REMOVAL_AS_LISTED;
  return RFT_REMOVAL_DEFAULT;
}

int32_t FactorKind(const RowReader& r, size_t col) {
  if (r.Null(col)) return RFT_FACTOR_MULTIPLY;
  std::string s = r.Lower(col);
  if (s == "divide" || s == "1" || s == "bigger" || s == "smaller_divide") {
    return RFT_FACTOR_DIVIDE;
  }
  return RFT_FACTOR_MULTIPLY;
}

int32_t LotStatus(const RowReader& r, size_t col) {
  if (r.Null(col)) return RFT_LOT_RELEASED;
  std::string s = r.Lower(col);
  for (const char* v :
       {"released", "available", "ok", "active", "free", "0", ""}) {
    if (s == v) return RFT_LOT_RELEASED;
  }
  for (const char* v : {"quarantine", "quarantined", "qc", "q", "hold", "1"}) {
    if (s == v) return RFT_LOT_QUARANTINE;
  }
  for (const char* v : {"blocked", "block", "b", "damaged", "recalled", "2"}) {
    if (s == v) return RFT_LOT_BLOCKED;
  }
  return RFT_LOT_UNKNOWN;
}

std::string MessageOf(const YAML::Exception& e) {
  std::string msg = e.msg;
  if (e.mark.line >= 0) {
    msg = "line " + std::to_string(e.mark.line + 1) + ": " + msg;
  }
  return msg;
}

}  // namespace

// Builds and runs the queries of one load.
class SqlAdapter::Loader {
 public:
  // `keys_only`: the orders query alone, with the serving sequence's keys
  // (a list); otherwise the whole load.
  Loader(SqlAdapter& a, const rft_selection& selection, adapter::Sink& sink,
         adapter::Call& call, bool keys_only = false)
      : a_(a),
        m_(a.mapping_),
        d_(a.db_->dialect()),
        sel_(selection),
        sink_(sink),
        call_(call),
        skipped_(Skipped(sink.Needs())),
        keys_only_(keys_only),
        left_out_(!keys_only && a.store_->InWaveTransaction()),
        folded_(!keys_only && !left_out_ && d_ == Dialect::kPostgres &&
                sel_.mode == RFT_SELECT_REFS && sel_.ref_count <= kFoldedRefs) {
  }

  void Run();
  int64_t CountReady();

 private:
  // The inputs whose queries this load leaves out: those the plugin's
  // checks do not read (the sink's needs).
  static uint64_t Skipped(uint64_t needs) {
    constexpr uint64_t kQueried =
        RFT_CAP_ITEMS | RFT_CAP_UNITS | RFT_CAP_STOCK | RFT_CAP_LOTS |
        RFT_CAP_LOCATIONS | RFT_CAP_CUSTOMERS | RFT_CAP_CARRIERS |
        RFT_CAP_RESERVATIONS | RFT_CAP_HISTORY;
    uint64_t skipped = kQueried & ~needs;
    if (skipped & RFT_CAP_ITEMS) skipped |= RFT_CAP_WEIGHTS;  // item columns
    return skipped;
  }
  bool Wanted(uint64_t capability) const {
    return (skipped_ & capability) == 0;
  }
  std::string Q(const std::string& name) const {
    return adapters::QuoteIdentifier(d_, name, "identifier");
  }
  std::string From(const Source& s) const {
    if (!s.table.empty()) return Q(s.table);
    return "(" + s.query + ")";
  }
  std::string Col(const Source& s, const std::string& field,
                  const char* alias) const {
    return std::string(alias) + "." + Q(s.resolved.at(field));
  }
  // The field as text, or NULL when the mapping does not provide it.
  std::string Out(const Source& s, const std::string& field,
                  const char* alias) const {
    if (!s.Has(field)) return "NULL";
    return AsText(d_, Col(s, field, alias));
  }
  std::string OutList(const Source& s, const std::vector<std::string>& fields,
                      const char* alias) const {
    std::string out;
    for (const auto& f : fields) {
      out += (out.empty() ? "" : ", ") + Out(s, f, alias);
    }
    return out;
  }
  std::string Cond(SqlBuilder& b, const Condition& c, const char* alias) const {
    std::string col = std::string(alias) + "." + Q(c.column);
    auto list = [&] {
      std::string out;
      for (const auto& v : c.values) {
        out += (out.empty() ? "" : ", ") + b.Bind(Text(v));
      }
      return out;
    };
    switch (c.op) {
      case Condition::Op::kEquals:
        return col + " = " + b.Bind(Text(c.values[0]));
      case Condition::Op::kNotEquals:
        return "(" + col + " <> " + b.Bind(Text(c.values[0])) + " OR " + col +
               " IS NULL)";
      case Condition::Op::kIn:
        return col + " IN (" + list() + ")";
      case Condition::Op::kNotIn:
        return "(" + col + " NOT IN (" + list() + ") OR " + col + " IS NULL)";
      case Condition::Op::kIsNull:
        return col + " IS NULL";
      case Condition::Op::kIsNotNull:
        return col + " IS NOT NULL";
    }
    return "1 = 1";
  }
  std::string AndWhere(SqlBuilder& b, const std::vector<Condition>& conds,
                       const char* alias) const {
    std::string out;
    for (const auto& c : conds) out += " AND " + Cond(b, c, alias);
    return out;
  }
  std::string RefsTable(SqlBuilder& b, const std::string& json) const {
    return ValuesTable(b, json, refs_);
  }
  // A table of `values` (also given as the JSON array `json`), for `IN`.
  template <typename Values>
  std::string ValuesTable(SqlBuilder& b, const std::string& json,
                          const Values& values) const {
    switch (d_) {
      case Dialect::kSqlite:
        return "SELECT value FROM json_each(" + b.Bind(Text(json)) + ")";
      case Dialect::kPostgres:
        return "SELECT jsonb_array_elements_text(CAST(" + b.Bind(Text(json)) +
               " AS jsonb))";
      case Dialect::kMysql: {
        // MariaDB refuses to compare strings of two different implicit
        // collations (a WMS's utf8mb4_unicode_ci column against a JSON_TABLE
        // column in the connection's collation). Bound values are literals
        // that take the column's collation (and keep its index usable);
        // beyond a few hundred refs the JSON_TABLE column gets an explicit
        // binary collation, which wins over any column's: refs then match
        // byte for byte.
        if (values.size() <= kMysqlBoundRefs) {
          std::string list;
          for (const auto& r : values) {
            if (!list.empty()) list += ", ";
            list += b.Bind(Text(std::string(r)));
          }
          return list.empty() ? "SELECT NULL FROM DUAL WHERE 1 = 0" : list;
        }
        return "SELECT rj.v COLLATE utf8mb4_bin FROM JSON_TABLE(" +
               b.Bind(Text(json)) +
               ", '$[*]' COLUMNS (v VARCHAR(512) CHARACTER SET utf8mb4 PATH "
               "'$')) AS rj";
      }
    }
    return "";
  }

  // The keys of the selected orders, as a subquery (fresh binds each time).
  std::string OrderKeys(SqlBuilder& b) const {
    if (cte_ready_) return "SELECT k FROM rft_wk";
    const Source& o = m_.orders;
    std::string cond = OrderCondition(b, "w");
    if (sel_.max_orders == 0) {
      return "SELECT " + Col(o, "key", "w") + " FROM " + From(o) + " w WHERE " +
             cond;
    }
    return "SELECT wk.k FROM (SELECT " + Col(o, "key", "w") + " AS k FROM " +
           From(o) + " w WHERE " + cond + " ORDER BY " + Col(o, "ref", "w") +
           " LIMIT " + std::to_string(sel_.max_orders) + ") wk";
  }
  // The condition that selects the orders, on the orders source as `alias`.
  std::string OrderCondition(SqlBuilder& b, const char* alias) const {
    const Source& o = m_.orders;
    std::string cond = "1 = 1" + AndWhere(b, o.where, alias);
    switch (sel_.mode) {
      case RFT_SELECT_READY:
        cond += AndWhere(b, m_.ready, alias);
        break;
      case RFT_SELECT_REFS:
        // PostgreSQL: one bound array, looked up as a hash (a JSON array
        // unnested into a join costs about twice as much at 20,000 refs).
        cond += " AND " + (d_ == Dialect::kPostgres
                               ? AnyOf(b, Col(o, "ref", alias), refs_)
                               : Col(o, "ref", alias) + " IN (" +
                                     RefsTable(b, refs_json_) + ")");
        break;
      case RFT_SELECT_RANGE:
        // Placeholders bind by position: one Bind() per statement.
        cond += " AND " + Col(o, m_.range_field, alias) + " >= ";
        cond += b.Bind(Text(range_from_));
        cond += " AND " + Col(o, m_.range_field, alias) + " < ";
        cond += b.Bind(Text(range_to_excl_));
        break;
    }
    return cond;
  }
  // `column` IN the keys of the selected orders. In a folded load, an
  // array built once from rft_wk: PostgreSQL then looks the keys up by
  // index instead of joining the common table expression.
  std::string InKeys(SqlBuilder& b, const std::string& column) const {
    if (cte_ready_) return column + " = ANY(ARRAY(SELECT k FROM rft_wk))";
    if (keys_loaded_) return AnyOf(b, column, order_keys_);
    return column + " IN (" + OrderKeys(b) + ")";
  }

  // SKUs on the lines of the selected orders, as a subquery.
  std::string SkuSet(SqlBuilder& b) const {
    const Source& l = m_.lines;
    return "SELECT " + Col(l, "sku", "sl") + " FROM " + From(l) + " sl WHERE " +
           Col(l, "order_key", "sl") + " IN (" + OrderKeys(b) + ")" +
           AndWhere(b, l.where, "sl");
  }

  // `column` IN the wave's SKUs. On PostgreSQL, once the lines are loaded,
  // the SKUs they name are bound as one array: every later query then
  // reads only its own table instead of the wave's lines again (which cost
  // each of them a scan of the orders and lines). The array is untyped, so
  // PostgreSQL reads it as an array of the column's type. Elsewhere, the
  // subquery.
  //
  // `one_per_sku`: the table has one row per SKU (items). Other tables
  // (stock, lots, units) have several, and PostgreSQL then weighs every
  // value of a bound array against the column's most common values while
  // it plans `= ANY(...)`: with 11,600 SKUs, 70-90 ms of planning for a
  // query that runs in 3-8 ms. A large array is joined instead (AnySet).
  std::string SkuFilter(SqlBuilder& b, const Source& s, const char* alias,
                        bool one_per_sku = false) const {
    const std::string column = Col(s, "sku", alias);
    if (cte_ready_) return column + " = ANY(ARRAY(SELECT sku FROM rft_wl))";
    if (d_ == Dialect::kPostgres && (left_out_ || lines_loaded_)) {
      // A few SKUs: AnyOf (the planner then knows them, and a few are
      // looked up by index); many: AnySet, the column's type read first.
      return one_per_sku || wave_skus_.size() <= kAnyOfMost
                 ? AnyOf(b, column, wave_skus_)
                 : AnySet(b, column, wave_skus_, TypeOf(s, "sku", alias));
    }
    if (left_out_) return InValues(b, column, wave_skus_);
    return column + " IN (" + SkuSet(b) + ")";
  }
  // PostgreSQL: the type of `field` of `s` as PostgreSQL names it
  // ("character varying", "citext"...), read once per source and field;
  // empty while the source has no row.
  std::string TypeOf(const Source& s, const std::string& field,
                     const char* alias) const {
    const std::string key = From(s) + "|" + field;
    auto it = a_.column_types_.find(key);
    if (it != a_.column_types_.end()) return it->second;
    std::optional<std::string> type = a_.db_->QueryValue(
        "SELECT CAST(pg_typeof(" + Col(s, field, alias) + ") AS text) FROM " +
        From(s) + " " + alias + " LIMIT 1");
    if (!type) return std::string();
    a_.column_types_.emplace(key, *type);
    return *type;
  }
  // `column` IN `values`, bound, on every backend.
  std::string InValues(SqlBuilder& b, const std::string& column,
                       const adapters::StringSet& values) const {
    if (values.empty()) return "1 = 0";
    if (d_ == Dialect::kPostgres) return AnyOf(b, column, values);
    nlohmann::json array(values);
    return column + " IN (" +
           ValuesTable(b,
                       array.dump(-1, ' ', false,
                                  nlohmann::json::error_handler_t::replace),
                       values) +
           ")";
  }
  // Adds `s` to *set unless absent.
  static void Remember(adapters::StringSet* set, const rft_str& s) {
    if (s.data != nullptr) set->insert(std::string_view(s.data, s.len));
  }
  // Leaves out of *set what the open wave's earlier pages put (`known`).
  static void LeaveOut(adapters::StringSet* set,
                       const adapters::StringSet& known) {
    set->erase_if([&](std::string_view v) { return known.contains(v); });
  }
  template <typename Values>
  static std::string AnyOf(SqlBuilder& b, const std::string& column,
                           const Values& values) {
    if (values.empty()) return "1 = 0";
    return column + " = ANY(" + b.Bind(Text(ArrayText(values))) + ")";
  }
  // PostgreSQL: `column` IN `values`, planned without looking at each
  // value: a semi-join with the array unnested, whose planning does not
  // grow with it. The array is cast to the column's own `type`, so values
  // compare as `= ANY` compares them (a citext column without regard to
  // case, an integer column by number) and the column's index serves.
  // AnyOf when the type is unknown (the source has no row).
  static constexpr size_t kAnyOfMost = 256;
  template <typename Values>
  static std::string AnySet(SqlBuilder& b, const std::string& column,
                            const Values& values, const std::string& type) {
    if (values.empty() || type.empty()) return AnyOf(b, column, values);
    return column + " IN (SELECT unnest(CAST(" +
           b.Bind(Text(ArrayText(values))) + " AS " + type + "[])))";
  }
  // A PostgreSQL array literal of `values`, each quoted.
  template <typename Values>
  static std::string ArrayText(const Values& values) {
    std::string array = "{";
    for (const auto& v : values) {
      if (array.size() > 1) array += ',';
      array += '"';
      for (char c : v) {
        if (c == '"' || c == '\\') array += '\\';
        array += c;
      }
      array += '"';
    }
    array += '}';
    return array;
  }

  // One query of the load: its statement, its number of columns, what to
  // do with each row and after each batch of rows.
  struct Part {
    SqlBuilder b;
    size_t columns;
    std::function<void(const RowReader&)> row;
    std::function<void()> flush;
  };

  // Runs a query whose rows become records of one kind: `fill` sets the
  // fields of each (struct_size is set).
  template <typename Record, typename Fill>
  void RunRecords(const char* what, rft_record_kind kind, SqlBuilder b,
                  size_t columns, Fill fill) {
    (void)what;
    auto recs = std::make_shared<std::vector<Record>>();
    RunPart(Part{std::move(b), columns,
                 [recs, fill](const RowReader& r) {
                   Record x{};
                   x.struct_size = sizeof(Record);
                   fill(r, x);
                   recs->push_back(x);
                 },
                 [this, recs, kind] {
                   if (!recs->empty()) PutAll(kind, *recs);
                 }});
  }

  // Runs `part` now, or keeps it for RunFolded or for the second
  // connection (SideRun).
  void RunPart(Part part) {
    if (to_side_) {
      side_parts_.push_back(std::move(part));
      return;
    }
    if (folded_) {
      parts_.push_back(std::move(part));
      return;
    }
    StreamPart(*a_.db_, part, &bad_values_, stop_first_);
    ++queries_;
  }
  // Streams the rows of `part` on `db`, counting unreadable values in *bad;
  // stops (RFT_ERR_CANCELLED) once *stop is set.
  void StreamPart(adapters::Database& db, Part& part, size_t* bad,
                  const std::atomic<bool>* stop) {
    auto check = [&] {
      call_.ThrowIfStopped();
      if (stop != nullptr && stop->load()) {
        throw Error(RFT_ERR_CANCELLED,
                    "loading a wave: the other connection failed");
      }
    };
    check();
    db.Stream(part.b.sql, std::move(part.b.params), part.columns, BatchRows(),
              [&](const TextBatch& batch) {
                for (size_t i = 0; i < batch.rows(); ++i) {
                  part.row(RowReader(batch, i, m_.timestamps, bad));
                }
                part.flush();
                check();
              });
  }
  // ROLLBACK after a failure, whose own failure changes nothing (the
  // connection is then reconnected by its next call).
  static void RollbackQuietly(adapters::Database& db) noexcept {
    try {
      db.Exec("ROLLBACK");
    } catch (...) {
    }
  }
  // Runs the parts kept for the second connection on this one.
  void RunSidePartsHere() {
    for (Part& part : side_parts_) {
      StreamPart(*a_.db_, part, &bad_values_, nullptr);
      ++queries_;
    }
    side_parts_.clear();
  }

  // The parts kept for the second connection, run there on a thread of
  // their own in the snapshot of this connection's transaction (exported
  // as snapshot_), from construction until Join. The sink receives the
  // records of both connections, one put at a time (put_mu_). A failure on
  // either side stops the other: it starts no further statement, and the
  // statement it runs is cancelled.
  class SideRun {
   public:
    // Starts the thread; throws std::system_error when it cannot.
    explicit SideRun(Loader& l);
    // Unless joined: stops the second connection and waits for its thread.
    ~SideRun();
    SideRun(const SideRun&) = delete;
    SideRun& operator=(const SideRun&) = delete;

    // Set when the second connection failed (this connection then stops).
    const std::atomic<bool>& failed() const { return failed_; }
    // Waits until the second connection reads in the snapshot (true) or
    // gave up before (false); this connection's transaction may end once
    // it does.
    bool WaitImported();
    // True when the second connection could not take up the snapshot (a
    // proxy or a replica in between): nothing was read there.
    bool ImportFailed() const { return import_failed_; }
    // After a failure of this connection: when the second connection
    // failed first (and cancelled this one's statement), waits for it and
    // throws its failure instead.
    void RethrowIfFailed();
    // Waits for the second connection's queries; rethrows their failure.
    void Join();
    // Waits for the thread and drops its failure (ImportFailed).
    void Abandon();

   private:
    void Body();
    void Imported(bool ok);
    Loader& l_;
    std::unique_ptr<adapters::Database::Canceller> cancel_;
    std::unique_ptr<adapters::Database::Canceller> cancel_first_;
    std::exception_ptr error_;
    size_t bad_ = 0;
    std::atomic<bool> stop_{false};    // this connection failed
    std::atomic<bool> failed_{false};  // the second connection failed
    bool import_failed_ = false;
    bool import_signalled_ = false;
    std::promise<bool> imported_;
    std::future<bool> imported_future_ = imported_.get_future();
    std::promise<void> ended_;
    std::future<void> ended_future_ = ended_.get_future();
    std::thread thread_;
  };

  // A few orders read a few rows: buffers sized for a wave (columns x
  // kBatchRows strings, allocated per query) would cost more than the
  // query.
  size_t BatchRows() const {
    return sel_.mode == RFT_SELECT_REFS && sel_.ref_count <= 8 ? 64
                                                               : kBatchRows;
  }

  // The keys of the selected orders and the SKUs of their lines, as the
  // common table expressions rft_wk (k) and rft_wl (sku) of a folded load.
  void BeginFolded() {
    const Source& l = m_.lines;
    cte_.sql = "WITH rft_wk (k) AS (";
    cte_.sql += OrderKeys(cte_);
    cte_.sql += "), rft_wl (sku) AS (SELECT " + Col(l, "sku", "sl") +
                " AS sku FROM " + From(l) + " sl WHERE " +
                Col(l, "order_key", "sl") + " IN (SELECT k FROM rft_wk)";
    cte_.sql += AndWhere(cte_, l.where, "sl");
    cte_.sql += ") ";
    cte_ready_ = true;
  }

  // Runs the parts kept by RunPart as one statement: each part's rows
  // tagged with its number in the first column, its columns padded with
  // NULLs to the widest part's; one round trip for the whole load.
  void RunFolded() {
    if (parts_.empty()) return;
    size_t width = 0;
    for (const Part& p : parts_) width = std::max(width, p.columns);
    SqlBuilder b = std::move(cte_);
    for (size_t i = 0; i < parts_.size(); ++i) {
      Part& p = parts_[i];
      b.sql += i == 0 ? "" : " UNION ALL ";
      b.sql += "SELECT CAST('" + std::to_string(i) + "' AS text), p" +
               std::to_string(i) + ".*";
      for (size_t c = p.columns; c < width; ++c) {
        b.sql += ", CAST(NULL AS text)";
      }
      b.sql += " FROM (" + Renumbered(p.b.sql, b.params.size()) + ") p" +
               std::to_string(i);
      for (Param& v : p.b.params) b.params.push_back(std::move(v));
    }
    call_.ThrowIfStopped();
    // The same text at every release call of one order: prepared once.
    auto take = [&](const TextBatch& batch) {
      for (size_t r = 0; r < batch.rows(); ++r) {
        auto tag = adapters::ParseInteger(batch.At(r, 0));
        if (!tag || *tag < 0 || static_cast<size_t>(*tag) >= parts_.size()) {
          throw Error(RFT_ERR_INTERNAL, "load: a row of an unknown query");
        }
        parts_[static_cast<size_t>(*tag)].row(
            RowReader(batch, r, m_.timestamps, &bad_values_, 1));
      }
      for (Part& p : parts_) p.flush();
      call_.ThrowIfStopped();
    };
    if (folded_begin_.empty()) {
      a_.db_->QueryPrepared(b.sql, std::move(b.params), width + 1, BatchRows(),
                            take);
    } else {
      a_.db_->QueryPreparedInTransaction(folded_begin_, b.sql,
                                         std::move(b.params), width + 1,
                                         BatchRows(), take);
    }
    ++queries_;
    parts_.clear();
  }

  // `sql` with its placeholders :p0, :p1... renumbered from `offset`, to
  // follow another statement's. Quoted text and identifiers are left alone.
  static std::string Renumbered(const std::string& sql, size_t offset) {
    return adapters::RewritePlaceholders(
        sql, [offset](size_t n) { return ":p" + std::to_string(n + offset); });
  }

  template <typename Record>
  void PutAll(rft_record_kind kind, std::vector<Record>& records) {
    std::lock_guard<std::mutex> lock(put_mu_);
    sink_.Put(kind, records.data(), records.size());
    counts_[kind] += records.size();
    records.clear();
  }

  // The queries of the load (or of the list), in one transaction.
  void Queries();
  // Queries' end when parts were kept for the second connection: starts
  // them there, reads the stock and the locations here.
  void StockBesideTheSecondConnection();
  // Runs Queries in a read-only transaction of their own.
  void OwnTransaction(const std::string& doing);
  void LoadOrders();
  void LoadLines();
  void LoadItems();
  void LoadUnits();
  void LoadItemUnits();
  void LoadStock();
  void LoadLots();
  void LoadLocations();
  void LoadCustomers();
  void LoadCarriers();
  void LoadReservations();
  void LoadHistory();

  SqlAdapter& a_;
  const Mapping& m_;
  Dialect d_;
  const rft_selection& sel_;
  adapter::Sink& sink_;
  adapter::Call& call_;
  const uint64_t skipped_;
  const bool keys_only_;
  // A page of an open wave: reference records put by earlier pages are
  // left out (RFT_CAP_KNOWN_LEFT_OUT); the queries filter by the SKUs,
  // locations and customers this page names and no earlier one did.
  const bool left_out_;
  adapters::StringSet page_customers_;
  // Orders by ref on PostgreSQL: once the orders are loaded, the later
  // queries find them by their keys, bound as one array, instead of looking
  // the refs up again in each (see InKeys).
  adapters::StringSet order_keys_;
  bool keys_loaded_ = false;
  // A few orders by ref on PostgreSQL: every query of the load is one
  // statement (RunFolded).
  const bool folded_;
  static constexpr size_t kFoldedRefs = 64;
  SqlBuilder cte_;
  bool cte_ready_ = false;
  std::vector<Part> parts_;
  // PostgreSQL: the transaction RunFolded's statement runs in (see
  // OwnTransaction); empty: none of its own.
  std::vector<std::string> folded_begin_;
  std::string refs_json_;
  std::vector<std::string> refs_;
  // Up to this many refs are bound one by one on MySQL/MariaDB.
  static constexpr size_t kMysqlBoundRefs = 500;
  // What the loaded lines (and stock) name (PostgreSQL, and pages of an
  // open wave; see SkuFilter and LoadLocations).
  bool lines_loaded_ = false;
  bool stock_loaded_ = false;
  adapters::StringSet wave_skus_;
  adapters::StringSet wave_locations_;
  std::string range_from_;
  std::string range_to_excl_;
  std::string history_since_;
  size_t queries_ = 0;
  size_t bad_values_ = 0;
  std::map<int, size_t> counts_;
  // A wave's load on PostgreSQL with `parallel_load`: the second
  // connection, the snapshot it imports, the parts it runs (RunPart keeps
  // them while to_side_ is set) and what serializes the sink's puts.
  adapters::Database* side_db_ = nullptr;
  std::string snapshot_;
  bool to_side_ = false;
  std::vector<Part> side_parts_;
  std::mutex put_mu_;
  // While the second connection runs: its failure stops this connection.
  const std::atomic<bool>* stop_first_ = nullptr;
  // The second connection's run, once this connection's queries are done;
  // joined after this connection's COMMIT (see OwnTransaction). Last: it is
  // stopped and waited for before what its thread uses goes.
  std::unique_ptr<SideRun> side_;
};

SqlAdapter::Loader::SideRun::SideRun(Loader& l) : l_(l) {
  cancel_ = l_.side_db_->MakeCanceller();
  cancel_first_ = l_.a_.db_->MakeCanceller();
  thread_ = std::thread([this] {
    try {
      Body();
    } catch (...) {
      error_ = std::current_exception();
      if (!import_failed_) {
        // This connection stops too: its statement is cancelled, and it
        // starts no other (it checks failed_ between batches).
        failed_ = true;
        if (cancel_first_) cancel_first_->Cancel();
      }
    }
    Imported(false);  // no-op when already told
    ended_.set_value();
  });
}

SqlAdapter::Loader::SideRun::~SideRun() {
  if (!thread_.joinable()) return;
  // The first connection failed: the second starts nothing more, and
  // whatever it runs is cancelled. A cancel that reaches the server between
  // two of its statements stops nothing: it is sent again until the thread
  // ends.
  stop_ = true;
  do {
    if (cancel_) cancel_->Cancel();
  } while (ended_future_.wait_for(std::chrono::milliseconds(50)) !=
           std::future_status::ready);
  thread_.join();
}

void SqlAdapter::Loader::SideRun::Imported(bool ok) {
  if (import_signalled_) return;
  import_signalled_ = true;
  imported_.set_value(ok);
}

bool SqlAdapter::Loader::SideRun::WaitImported() {
  return imported_future_.get();
}

void SqlAdapter::Loader::SideRun::RethrowIfFailed() {
  if (!failed_) return;
  thread_.join();
  std::rethrow_exception(error_);
}

void SqlAdapter::Loader::SideRun::Join() {
  thread_.join();
  if (error_) std::rethrow_exception(error_);
  l_.bad_values_ += bad_;
  l_.queries_ += l_.side_parts_.size();
}

void SqlAdapter::Loader::SideRun::Abandon() { thread_.join(); }

void SqlAdapter::Loader::SideRun::Body() {
  adapters::Database& db = *l_.side_db_;
  const std::string& snapshot = l_.snapshot_;
  if (snapshot.empty() || snapshot.find_first_not_of(
                              "0123456789ABCDEFabcdef-") != std::string::npos) {
    import_failed_ = true;
    throw Error(RFT_ERR_DATABASE,
                "loading a wave: the server exported no usable snapshot for "
                "the second connection");
  }
  adapters::RunDatabaseCall(
      db, l_.call_, "loading a wave (second connection)", [&] {
        bool in_transaction = false;
        try {
          in_transaction = true;
          try {
            db.Exec(
                "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET "
                "TRANSACTION SNAPSHOT '" +
                snapshot + "'; SET LOCAL statement_timeout = " +
                std::to_string(db.StatementBudgetMs()));
          } catch (...) {
            import_failed_ = true;
            throw;
          }
          Imported(true);
          for (Part& part : l_.side_parts_) {
            l_.StreamPart(db, part, &bad_, &stop_);
          }
          db.Exec("COMMIT");
          in_transaction = false;
        } catch (...) {
          if (in_transaction) RollbackQuietly(db);
          throw;
        }
      });
}

void SqlAdapter::Loader::LoadOrders() {
  const Source& o = m_.orders;
  // The serving sequence's keys first: a list reads those alone.
  static const std::vector<std::string> kFields = {"ref",
                                                   "key",
                                                   "ship_date",
                                                   "priority",
                                                   "site",
                                                   "provider",
                                                   "customer_ref",
                                                   "customer_order_ref",
                                                   "ship_to_name",
                                                   "street",
                                                   "city",
                                                   "postcode",
                                                   "country",
                                                   "carrier",
                                                   "carrier_service",
                                                   "created_at",
                                                   "release_at",
                                                   "status"};
  constexpr size_t kKeys = 5;  // and the site, whose time zone dates them
  const std::vector<std::string> fields(
      kFields.begin(), keys_only_ ? kFields.begin() + kKeys : kFields.end());
  const bool all = !keys_only_;
  // The hold flag, for the write-back's release (SqlAdapter::known_released_).
  const bool hold_flag = all && !a_.hold_at_load_.empty();
  SqlBuilder b;
  b << "SELECT " << OutList(o, fields, "o")
    << (hold_flag ? ", " + AsText(d_, "o." + Q(a_.hold_at_load_)) : "")
    << " FROM " << From(o) << " o WHERE ";
  if (!cte_ready_ && !keys_loaded_ && sel_.max_orders == 0) {
    // The selected orders themselves, not their keys looked up again (a
    // second scan of the orders and a join). An order without a key has no
    // lines to find: left out, as the lookup by key leaves it out.
    b << OrderCondition(b, "o") << " AND " << Col(o, "key", "o")
      << " IS NOT NULL";
  } else {
    b << InKeys(b, Col(o, "key", "o"));
  }
  const bool collect_keys = all && !folded_ && d_ == Dialect::kPostgres &&
                            sel_.mode == RFT_SELECT_REFS;
  const std::string* release = hold_flag ? &*m_.hold->release_value : nullptr;
  const size_t hold_col = fields.size();
  RunRecords<rft_order>(
      "orders", RFT_REC_ORDER, std::move(b), hold_col + (hold_flag ? 1 : 0),
      [this, all, collect_keys, release, hold_col](const RowReader& r,
                                                   rft_order& x) {
        if (release != nullptr && r.View(hold_col).data() != nullptr &&
            r.View(hold_col) == *release) {
          a_.known_released_.emplace(r.View(0));
        }
        x.ref = r.Str(0);
        x.stable_id = r.Str(1);
        if (collect_keys) Remember(&order_keys_, x.stable_id);
        x.ship_date = r.Time(2);
        x.priority = r.Int(3, 0);
        x.site = r.Str(4);
        if (!all) return;
        x.provider = r.Str(5);
        x.customer_ref = r.Str(6);
        if (left_out_) Remember(&page_customers_, x.customer_ref);
        x.customer_order_ref = r.Str(7);
        x.ship_to_name = r.Str(8);
        x.street = r.Str(9);
        x.city = r.Str(10);
        x.postcode = r.Str(11);
        x.country = r.Str(12);
        x.carrier = r.Str(13);
        x.carrier_service = r.Str(14);
        x.created_at = r.Time(15);
        x.release_at = r.Time(16);
        x.status_text = r.Str(17);
      });
  keys_loaded_ = collect_keys;
}

void SqlAdapter::Loader::LoadLines() {
  const Source& o = m_.orders;
  const Source& l = m_.lines;
  static const std::vector<std::string> kFields = {
      "line_no", "line_ref", "sku", "qty", "uom", "location", "lot"};
  SqlBuilder b;
  b << "SELECT " << Out(o, "ref", "o") << ", " << OutList(l, kFields, "l")
    << " FROM " << From(l) << " l JOIN " << From(o) << " o ON "
    << Col(o, "key", "o") << " = " << Col(l, "order_key", "l") << " WHERE "
    << InKeys(b, Col(o, "key", "o")) << AndWhere(b, l.where, "l");
  // On PostgreSQL, the SKUs and locations the lines name, for the
  // reference queries that follow (see SkuFilter); not when they are part
  // of the same statement.
  const bool collect = (d_ == Dialect::kPostgres && !folded_) || left_out_;
  RunRecords<rft_order_line>(
      "lines", RFT_REC_LINE, std::move(b), kFields.size() + 1,
      [this, collect](const RowReader& r, rft_order_line& x) {
        x.order_ref = r.Str(0);
        x.line_no = r.Int(1, 0);
        x.line_ref = r.Str(2);
        x.sku = r.Str(3);
        x.qty = r.Decimal(4);
        x.uom = r.Str(5);
        x.location = r.Str(6);
        x.lot = r.Str(7);
        if (collect) {
          Remember(&wave_skus_, x.sku);
          Remember(&wave_locations_, x.location);
        }
      });
  lines_loaded_ = collect;
  if (left_out_) LeaveOut(&wave_skus_, a_.put_in_wave_.skus);
}

void SqlAdapter::Loader::LoadItems() {
  const Source& s = m_.items;
  if (!s.present || !Wanted(RFT_CAP_ITEMS)) return;
  static const std::vector<std::string> kFields = {"sku",
                                                   "active",
                                                   "lot_tracked",
                                                   "serial_tracked",
                                                   "removal_strategy",
                                                   "base_uom",
                                                   "hazmat_class",
                                                   "unit_weight_kg",
                                                   "unit_volume_m3",
                                                   "min_shelf_life_days",
                                                   "description"};
  SqlBuilder b;
  b << "SELECT " << OutList(s, kFields, "i") << " FROM " << From(s)
    << " i WHERE " << SkuFilter(b, s, "i", true) << AndWhere(b, s.where, "i");
  RunRecords<rft_item>("items", RFT_REC_ITEM, std::move(b), kFields.size(),
                       [](const RowReader& r, rft_item& x) {
                         x.sku = r.Str(0);
                         x.active = r.Flag(1);
                         x.lot_tracked = r.Flag(2);
                         x.serial_tracked = r.Flag(3);
                         x.removal_strategy = RemovalStrategy(r, 4);
                         x.base_uom = r.Str(5);
                         x.hazmat_class = r.Str(6);
                         x.unit_weight_kg = r.Decimal(7);
                         x.unit_volume_m3 = r.Decimal(8);
                         x.min_shelf_life_days = r.Int(9, -1);
                         x.description = r.Str(10);
                       });
}

void SqlAdapter::Loader::LoadUnits() {
  const Source& s = m_.units;
  if (!s.present || !Wanted(RFT_CAP_UNITS)) return;
  if (left_out_ && a_.put_in_wave_.units) return;  // every unit, once
  static const std::vector<std::string> kFields = {"code", "category", "factor",
                                                   "factor_kind", "rounding"};
  SqlBuilder b;
  b << "SELECT " << OutList(s, kFields, "u") << " FROM " << From(s)
    << " u WHERE 1 = 1" << AndWhere(b, s.where, "u");
  RunRecords<rft_unit>("units", RFT_REC_UNIT, std::move(b), kFields.size(),
                       [](const RowReader& r, rft_unit& x) {
                         x.code = r.Str(0);
                         x.category = r.Str(1);
                         x.factor = r.Decimal(2);
                         x.factor_kind = FactorKind(r, 3);
                         x.rounding = r.Decimal(4);
                       });
}

void SqlAdapter::Loader::LoadItemUnits() {
  const Source& s = m_.item_units;
  if (!s.present || !Wanted(RFT_CAP_UNITS)) return;
  static const std::vector<std::string> kFields = {"sku", "uom", "factor",
                                                   "factor_kind"};
  SqlBuilder b;
  b << "SELECT " << OutList(s, kFields, "iu") << " FROM " << From(s)
    << " iu WHERE " << SkuFilter(b, s, "iu") << AndWhere(b, s.where, "iu");
  RunRecords<rft_item_unit>("item units", RFT_REC_ITEM_UNIT, std::move(b),
                            kFields.size(),
                            [](const RowReader& r, rft_item_unit& x) {
                              x.sku = r.Str(0);
                              x.uom = r.Str(1);
                              x.factor = r.Decimal(2);
                              x.factor_kind = FactorKind(r, 3);
                            });
}

void SqlAdapter::Loader::LoadStock() {
  const Source& s = m_.stock;
  if (!s.present || !Wanted(RFT_CAP_STOCK)) return;
  static const std::vector<std::string> kFields = {
      "sku", "location", "lot", "on_hand", "reserved_qty", "in_date"};
  SqlBuilder b;
  b << "SELECT " << OutList(s, kFields, "s") << " FROM " << From(s)
    << " s WHERE " << SkuFilter(b, s, "s") << AndWhere(b, s.where, "s");
  const bool has_reserved = s.Has("reserved_qty");
  // On PostgreSQL, the locations of the stock, for the locations query
  // (see LoadLocations).
  const bool collect = lines_loaded_;
  RunRecords<rft_stock>(
      "stock", RFT_REC_STOCK, std::move(b), kFields.size(),
      [this, has_reserved, collect](const RowReader& r, rft_stock& x) {
        x.sku = r.Str(0);
        x.location = r.Str(1);
        if (collect) Remember(&wave_locations_, x.location);
        x.lot = r.Str(2);
        x.on_hand = r.Decimal(3);
        x.reserved_qty = has_reserved ? r.Decimal(4) : rft_decimal{0, 0, 0};
        if (x.reserved_qty.is_null != 0 && has_reserved) {
          x.reserved_qty = rft_decimal{0, 0, 0};
        }
        x.in_date = r.Time(5);
      });
  stock_loaded_ = collect;
}

void SqlAdapter::Loader::LoadLots() {
  const Source& s = m_.lots;
  if (!s.present || !Wanted(RFT_CAP_LOTS)) return;
  static const std::vector<std::string> kFields = {"sku", "lot", "expiry",
                                                   "removal_date", "status"};
  SqlBuilder b;
  b << "SELECT " << OutList(s, kFields, "lt") << " FROM " << From(s)
    << " lt WHERE " << SkuFilter(b, s, "lt") << AndWhere(b, s.where, "lt");
  RunRecords<rft_lot>("lots", RFT_REC_LOT, std::move(b), kFields.size(),
                      [](const RowReader& r, rft_lot& x) {
                        x.sku = r.Str(0);
                        x.lot = r.Str(1);
                        x.expiry = r.Time(2);
                        x.removal_date = r.Time(3);
                        x.status = LotStatus(r, 4);
                      });
}

void SqlAdapter::Loader::LoadLocations() {
  const Source& s = m_.locations;
  if (!s.present || !Wanted(RFT_CAP_LOCATIONS)) return;
  static const std::vector<std::string> kFields = {"code", "pickable",
                                                   "blocked", "zone", "parent"};
  SqlBuilder b;
  b << "SELECT " << OutList(s, kFields, "loc") << " FROM " << From(s)
    << " loc WHERE ";
  std::string code = Col(s, "code", "loc");
  std::vector<std::string> parts;
  if (left_out_) {
    // The codes this page's lines and new stock name, less those put.
    LeaveOut(&wave_locations_, a_.put_in_wave_.locations);
    parts.push_back(InValues(b, code, wave_locations_));
  } else if (cte_ready_) {
    // Folded: one array of the codes the stock and the lines name.
    std::string named;
    if (m_.stock.present) {
      const Source& st = m_.stock;
      named = "SELECT " + Col(st, "location", "ls") + " FROM " + From(st) +
              " ls WHERE " + SkuFilter(b, st, "ls");
    }
    if (m_.lines.Has("location")) {
      const Source& l = m_.lines;
      named += (named.empty() ? "" : " UNION ") + std::string("SELECT ") +
               Col(l, "location", "ll") + " FROM " + From(l) + " ll WHERE " +
               InKeys(b, Col(l, "order_key", "ll"));
    }
    if (!named.empty()) parts.push_back(code + " = ANY(ARRAY(" + named + "))");
  } else if (stock_loaded_) {
    // PostgreSQL: the codes the loaded stock and lines name, one array.
    parts.push_back(AnyOf(b, code, wave_locations_));
  } else if (m_.stock.present) {
    const Source& st = m_.stock;
    parts.push_back(code + " IN (SELECT " + Col(st, "location", "ls") +
                    " FROM " + From(st) + " ls WHERE " +
                    SkuFilter(b, st, "ls") + ")");
  }
  if (left_out_ || cte_ready_ || stock_loaded_) {
    // Already in the part above.
  } else if (m_.lines.Has("location") && lines_loaded_) {
    parts.push_back(AnyOf(b, code, wave_locations_));
  } else if (m_.lines.Has("location")) {
    const Source& l = m_.lines;
    parts.push_back(code + " IN (SELECT " + Col(l, "location", "ll") +
                    " FROM " + From(l) + " ll WHERE " +
                    Col(l, "order_key", "ll") + " IN (" + OrderKeys(b) + "))");
  }
  if (parts.empty()) {
    b << "1 = 1";
  } else {
    b << "(" << parts[0];
    for (size_t i = 1; i < parts.size(); ++i) b << " OR " << parts[i];
    b << ")";
  }
  b << AndWhere(b, s.where, "loc");
  RunRecords<rft_location>("locations", RFT_REC_LOCATION, std::move(b),
                           kFields.size(),
                           [](const RowReader& r, rft_location& x) {
                             x.code = r.Str(0);
                             x.pickable = r.Flag(1);
                             x.blocked = r.Flag(2);
                             x.zone = r.Str(3);
                             x.parent = r.Str(4);
                           });
}

void SqlAdapter::Loader::LoadCustomers() {
  const Source& s = m_.customers;
  if (!s.present || !m_.orders.Has("customer_ref") ||
      !Wanted(RFT_CAP_CUSTOMERS))
    return;
  const Source& o = m_.orders;
  static const std::vector<std::string> kFields = {
      "ref",        "name", "blocked", "credit_hold", "min_shelf_life_days",
      "hold_reason"};
  SqlBuilder b;
  b << "SELECT " << OutList(s, kFields, "c") << " FROM " << From(s)
    << " c WHERE ";
  if (left_out_) {
    LeaveOut(&page_customers_, a_.put_in_wave_.customers);
    b << InValues(b, Col(s, "ref", "c"), page_customers_);
  } else {
    b << Col(s, "ref", "c") << " IN (SELECT " << Col(o, "customer_ref", "oc")
      << " FROM " << From(o) << " oc WHERE " << InKeys(b, Col(o, "key", "oc"))
      << ")";
  }
  b << AndWhere(b, s.where, "c");
  RunRecords<rft_customer>("customers", RFT_REC_CUSTOMER, std::move(b),
                           kFields.size(),
                           [](const RowReader& r, rft_customer& x) {
                             x.ref = r.Str(0);
                             x.name = r.Str(1);
                             x.blocked = r.Flag(2);
                             x.credit_hold = r.Flag(3);
                             x.min_shelf_life_days = r.Int(4, -1);
                             x.hold_reason = r.Str(5);
                           });
}

void SqlAdapter::Loader::LoadCarriers() {
  const Source& s = m_.carrier_services;
  if (!s.present || !Wanted(RFT_CAP_CARRIERS)) return;
  if (left_out_ && a_.put_in_wave_.carriers) return;  // every service, once
  static const std::vector<std::string> kFields = {
      "code", "carrier", "hazmat_allowed", "max_parcel_weight_kg", "cutoff"};
  SqlBuilder b;
  b << "SELECT " << OutList(s, kFields, "cs") << " FROM " << From(s)
    << " cs WHERE 1 = 1" << AndWhere(b, s.where, "cs");
  RunRecords<rft_carrier_service>(
      "carrier services", RFT_REC_CARRIER_SERVICE, std::move(b), kFields.size(),
      [](const RowReader& r, rft_carrier_service& x) {
        x.code = r.Str(0);
        x.carrier = r.Str(1);
        x.hazmat_allowed = r.Flag(2);
        x.max_parcel_weight_kg = r.Decimal(3);
        x.cutoff_minute = -1;
        if (!r.Null(4)) {
          auto m = adapters::ParseMinuteOfDay(r.View(4));
          if (m) {
            x.cutoff_minute = *m;
          } else {
            r.Bad();
          }
        }
      });
}

void SqlAdapter::Loader::LoadReservations() {
  const Source& s = m_.reservations;
  if (!s.present || !Wanted(RFT_CAP_RESERVATIONS)) return;
  const Source& o = m_.orders;
  static const std::vector<std::string> kFields = {"line_no", "location", "lot",
                                                   "qty"};
  SqlBuilder b;
  b << "SELECT " << Out(o, "ref", "o") << ", " << OutList(s, kFields, "r")
    << " FROM " << From(s) << " r JOIN " << From(o) << " o ON "
    << Col(o, "key", "o") << " = " << Col(s, "order_key", "r") << " WHERE "
    << InKeys(b, Col(o, "key", "o")) << AndWhere(b, s.where, "r");
  RunRecords<rft_reservation>("reservations", RFT_REC_RESERVATION, std::move(b),
                              kFields.size() + 1,
                              [](const RowReader& r, rft_reservation& x) {
                                x.order_ref = r.Str(0);
                                x.line_no = r.Int(1, 0);
                                x.location = r.Str(2);
                                x.lot = r.Str(3);
                                x.qty = r.Decimal(4);
                              });
}

void SqlAdapter::Loader::LoadHistory() {
  if (!m_.history_enabled || !m_.orders.Has("customer_ref") ||
      !Wanted(RFT_CAP_HISTORY))
    return;
  const Source& o = m_.orders;
  SqlBuilder b;
  if (!m_.history.table.empty() || !m_.history.query.empty()) {
    const Source& h = m_.history;
    static const std::vector<std::string> kFields = {
        "order_ref", "customer_ref", "sku", "qty", "created_at"};
    b << "SELECT " << OutList(h, kFields, "h") << " FROM " << From(h)
      << " h WHERE " << Col(h, "customer_ref", "h") << " IN (SELECT "
      << Col(o, "customer_ref", "hc") << " FROM " << From(o) << " hc WHERE "
      << InKeys(b, Col(o, "key", "hc")) << ") AND " << Col(h, "created_at", "h")
      << " >= " << b.Bind(Text(history_since_)) << " AND "
      << Col(h, "order_ref", "h") << " NOT IN (SELECT " << Col(o, "ref", "hx")
      << " FROM " << From(o) << " hx WHERE " << InKeys(b, Col(o, "key", "hx"))
      << ")" << AndWhere(b, h.where, "h");
  } else {
    const Source& l = m_.lines;
    b << "SELECT " << Out(o, "ref", "o") << ", " << Out(o, "customer_ref", "o")
      << ", " << Out(l, "sku", "l") << ", " << Out(l, "qty", "l") << ", "
      << Out(o, "created_at", "o") << " FROM " << From(l) << " l JOIN "
      << From(o) << " o ON " << Col(o, "key", "o") << " = "
      << Col(l, "order_key", "l") << " WHERE " << Col(o, "customer_ref", "o")
      << " IN (SELECT " << Col(o, "customer_ref", "hc") << " FROM " << From(o)
      << " hc WHERE " << InKeys(b, Col(o, "key", "hc")) << ") AND "
      << Col(o, "created_at", "o") << " >= " << b.Bind(Text(history_since_))
      << " AND "
      << " NOT (" << InKeys(b, Col(o, "key", "o")) << ")"
      << AndWhere(b, m_.history.where, "o") << AndWhere(b, l.where, "l");
  }
  RunRecords<rft_history_line>("history", RFT_REC_HISTORY_LINE, std::move(b), 5,
                               [](const RowReader& r, rft_history_line& x) {
                                 x.order_ref = r.Str(0);
                                 x.customer_ref = r.Str(1);
                                 x.sku = r.Str(2);
                                 x.qty = r.Decimal(3);
                                 x.created_at = r.Time(4);
                               });
}

void SqlAdapter::Loader::Run() {
  // Selection parameters.
  int64_t today = adapters::NowUnixUs() / 86400000000LL;
  int64_t history_from = today - m_.history_days;
  switch (sel_.mode) {
    case RFT_SELECT_READY:
      break;
    case RFT_SELECT_REFS: {
      nlohmann::json refs = nlohmann::json::array();
      for (size_t i = 0; i < sel_.ref_count; ++i) {
        refs.push_back(std::string(adapter::View(sel_.refs[i])));
        refs_.emplace_back(adapter::View(sel_.refs[i]));
      }
      refs_json_ =
          refs.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      break;
    }
    case RFT_SELECT_RANGE: {
      if (sel_.from.kind != RFT_TIME_DATE || sel_.to.kind != RFT_TIME_DATE) {
        throw Error(RFT_ERR_INVALID_ARGUMENT,
                    "load: a date range needs from and to as dates");
      }
      if (!m_.orders.Has(m_.range_field)) {
        throw Error(RFT_ERR_CONFIG,
                    "mapping: past orders are selected by their release date: "
                    "map sources.orders.columns.release_at or set "
                    "sources.orders.range_column");
      }
      range_from_ = adapters::FormatDate(sel_.from.value);
      range_to_excl_ = adapters::FormatDate(sel_.to.value + 1);
      history_from = sel_.from.value - m_.history_days;
      break;
    }
    default:
      throw Error(RFT_ERR_INVALID_ARGUMENT,
                  "load: unknown selection mode " + std::to_string(sel_.mode));
  }
  history_since_ = adapters::FormatDate(history_from);
  if (!keys_only_) {
    // This load's orders replace the last one's.
    a_.known_released_.clear();
    sink_.SetCapabilities((a_.Capabilities() & ~skipped_) |
                          (left_out_ ? uint64_t{RFT_CAP_KNOWN_LEFT_OUT} : 0));
  }
  if (sel_.mode == RFT_SELECT_REFS && sel_.ref_count == 0) return;

  adapters::Database& db = *a_.db_;
  const std::string doing = keys_only_ ? "listing a wave" : "loading a wave";
  if (a_.store_->InWaveTransaction()) {
    if (&a_.WaveDb() != a_.db_.get()) {
      // The wave writes on its own connection, maybe a page right now: the
      // load has a transaction of its own here.
      a_.store_->RunBesideWave(a_.WaveDb(), doing,
                               [&] { OwnTransaction(doing); });
    } else {
      // Inside the open wave's write transaction: no transaction
      // statements of its own.
      a_.store_->RunInWave(db, call_, doing, [&] { Queries(); });
    }
    if (left_out_) {
      // What this page put; later pages leave it out.
      PutInWave& put = a_.put_in_wave_;
      put.skus.insert_all(wave_skus_);
      put.locations.insert_all(wave_locations_);
      put.customers.insert_all(page_customers_);
      put.units = put.units || (m_.units.present && Wanted(RFT_CAP_UNITS));
      put.carriers = put.carriers ||
                     (m_.carrier_services.present && Wanted(RFT_CAP_CARRIERS));
    }
  } else {
    // A wave's load (not a list, nor the one statement of a few orders):
    // half its queries on the second connection when it can serve.
    if (d_ == Dialect::kPostgres && !keys_only_ && !folded_) {
      side_db_ = a_.LoadSideDb();
    }
    OwnTransaction(doing);
  }
  if (keys_only_) {
    a_.log_.Info("sql adapter: listed " +
                 std::to_string(counts_[RFT_REC_ORDER]) + " orders");
    return;
  }
  a_.log_.Info("sql adapter: loaded " + std::to_string(counts_[RFT_REC_ORDER]) +
               " orders, " + std::to_string(counts_[RFT_REC_LINE]) +
               " lines in " + std::to_string(queries_) + " queries");
  if (bad_values_ > 0) {
    a_.log_.Warn("sql adapter: " + std::to_string(bad_values_) +
                 " values could not be read (passed on as absent)");
  }
}

void SqlAdapter::Loader::Queries() {
  if (keys_only_) {
    LoadOrders();
    return;
  }
  if (folded_) BeginFolded();
  LoadOrders();
  LoadLines();
  // What needs no more than the lines; with a second connection, kept for
  // it (RunPart), read there while this one reads the stock and then the
  // locations the stock and the lines name.
  to_side_ = side_db_ != nullptr;
  LoadItems();
  LoadUnits();
  LoadItemUnits();
  LoadLots();
  LoadCustomers();
  LoadCarriers();
  LoadReservations();
  LoadHistory();
  to_side_ = false;
  if (!side_parts_.empty()) {
    StockBesideTheSecondConnection();
    return;
  }
  LoadStock();
  LoadLocations();
  RunFolded();
}

void SqlAdapter::Loader::StockBesideTheSecondConnection() {
  // The second connection reads in this transaction's snapshot.
  snapshot_ =
      a_.db_->QueryValue("SELECT pg_export_snapshot()").value_or(std::string());
  std::unique_ptr<SideRun> side;
  try {
    side = std::make_unique<SideRun>(*this);
  } catch (const std::system_error&) {
    // No thread to be had: everything on this connection.
    RunSidePartsHere();
  }
  stop_first_ = side ? &side->failed() : nullptr;
  try {
    LoadStock();
    LoadLocations();
  } catch (...) {
    stop_first_ = nullptr;
    if (side) side->RethrowIfFailed();
    throw;
  }
  stop_first_ = nullptr;
  if (!side) return;
  if (!side->WaitImported() && side->ImportFailed()) {
    // A proxy or a replica between the connections, say: nothing was read
    // there, and this transaction still holds the snapshot.
    side->Abandon();
    side.reset();
    a_.parallel_load_ = false;
    a_.log_.Warn(
        "sql adapter: the second connection could not read in the load's "
        "snapshot (is a proxy or a replica between the connections?); this "
        "handle loads on one connection from now on");
    RunSidePartsHere();
    return;
  }
  // The snapshot is taken up (or the second connection failed): this
  // transaction may end before the second connection's queries do.
  side_ = std::move(side);
}

void SqlAdapter::Loader::OwnTransaction(const std::string& doing) {
  adapters::Database& db = *a_.db_;
  adapters::RunDatabaseCall(db, call_, doing, [&] {
    bool in_transaction = false;
    bool statement_time_set = false;
    try {
      int64_t budget = db.StatementBudgetMs();
      switch (d_) {
        case Dialect::kSqlite:
          db.Exec("BEGIN");
          in_transaction = true;
          break;
        case Dialect::kPostgres:
          if (folded_ && db.UsesPreparedStatements() &&
              db.PgServerVersion() >= 120000) {
            // One prepared statement, run with its generic plan: planning
            // it for each call's values costs more than running it. Set
            // for its transaction alone (a pooler's server session is
            // shared), sent with it and COMMIT in one round trip.
            folded_begin_ = {
                "BEGIN READ ONLY",
                "SET LOCAL statement_timeout = " + std::to_string(budget),
                "SET LOCAL plan_cache_mode = force_generic_plan"};
            Queries();
            return;
          }
          if (folded_ || keys_only_) {
            // One statement, which sees one snapshot by itself: no BEGIN
            // and COMMIT around it.
            db.SessionStatementTimeout(budget);
            Queries();
            return;
          }
          // One round trip for the snapshot, its time limit (0 for none,
          // whatever the session's) and its plans, made for their values.
          in_transaction = true;
          db.Exec(
              "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET "
              "LOCAL statement_timeout = " +
              std::to_string(budget) +
              (db.PgServerVersion() >= 120000
                   ? "; SET LOCAL plan_cache_mode TO DEFAULT"
                   : ""));
          break;
        case Dialect::kMysql:
          if (budget > 0) {
            db.Exec("SET SESSION max_statement_time = " +
                    std::to_string(static_cast<double>(budget) / 1000.0));
            statement_time_set = true;
          }
          db.Exec("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY");
          in_transaction = true;
          break;
      }
      Queries();
      db.Exec("COMMIT");
      in_transaction = false;
      if (side_) {
        // The second connection's queries, after this transaction ended
        // (a server's idle-in-transaction limit would otherwise apply).
        std::unique_ptr<SideRun> side = std::move(side_);
        side->Join();
      }
      if (statement_time_set) db.Exec("SET SESSION max_statement_time = 0");
    } catch (...) {
      side_.reset();  // stopped, and waited for
      if (in_transaction) RollbackQuietly(db);
      if (statement_time_set) {
        try {
          db.Exec("SET SESSION max_statement_time = 0");
        } catch (...) {
        }
      }
      throw;
    }
  });
}

int64_t SqlAdapter::Loader::CountReady() {
  SqlBuilder b;
  b << "SELECT " << AsText(d_, "COUNT(*)") << " FROM (" << OrderKeys(b)
    << ") rc";
  auto v = a_.db_->QueryValue(b.sql, std::move(b.params));
  return v ? adapters::ParseInteger(*v).value_or(-1) : -1;
}

SqlAdapter::SqlAdapter(const adapter::OpenParams& params)
    : log_(params.log, params.log_ctx) {
  nlohmann::json options;
  try {
    options = nlohmann::json::parse(params.options_json.empty()
                                        ? std::string_view("{}")
                                        : params.options_json);
  } catch (const std::exception& e) {
    throw Error(RFT_ERR_CONFIG,
                std::string("adapter.options is not valid JSON: ") + e.what());
  }
  if (!options.is_object() || !options.contains("mapping")) {
    throw Error(RFT_ERR_CONFIG,
                "adapter.options.mapping is missing: give the path of the "
                "mapping file (docs/adapters/sql.md)");
  }
  for (const auto& [key, value] : options.items()) {
    if (key != "mapping" && key != "trace_statements" &&
        key != "prepared_statements" && key != "pipelined_pages" &&
        key != "parallel_load") {
      throw Error(RFT_ERR_CONFIG, "adapter.options." + key +
                                      ": unknown option (expected mapping, "
                                      "trace_statements, prepared_statements, "
                                      "pipelined_pages, parallel_load)");
    }
    if (key != "mapping" && !value.is_boolean()) {
      throw Error(RFT_ERR_CONFIG, "adapter.options." + key +
                                      ": expected true or false, got " +
                                      value.dump());
    }
  }
  const auto& m = options["mapping"];
  try {
    if (m.is_string()) {
      std::filesystem::path path(m.get<std::string>());
      if (path.is_relative() && !params.config_dir.empty()) {
        path = std::filesystem::path(std::string(params.config_dir)) / path;
      }
      if (!std::filesystem::exists(path)) {
        throw Error(RFT_ERR_CONFIG,
                    "mapping file '" + path.string() + "' does not exist");
      }
      YAML::Node root;
      try {
        root = YAML::LoadFile(path.string());
      } catch (const YAML::Exception& e) {
        throw Error(RFT_ERR_CONFIG,
                    "mapping " + path.string() + ": " + MessageOf(e));
      }
      mapping_ = ParseMapping(root, path.string());
    } else if (m.is_object()) {
      mapping_ = ParseMapping(YAML::Load(m.dump()), "adapter.options.mapping");
    } else {
      throw Error(RFT_ERR_CONFIG,
                  "adapter.options.mapping: expected a file path or a mapping");
    }
  } catch (const YAML::Exception& e) {
    throw Error(RFT_ERR_CONFIG, "mapping: " + MessageOf(e));
  }
  adapters::ConnectionSpec spec =
      adapters::ParseConnection(params.connection, params.config_dir);
  store_ =
      std::make_unique<adapters::RecordStore>(spec.dialect, mapping_.tables);
  trace_ = options.value("trace_statements", false);
  prepared_ = options.value("prepared_statements", true);
  db_ = Connect(spec);
  if (spec.dialect == Dialect::kPostgres) {
    pipelined_ = options.value("pipelined_pages", true);
    parallel_load_ = options.value("parallel_load", true);
    if (pipelined_ || parallel_load_) spec_ = spec;
  }
  ResolveMapping(mapping_, *db_);
  if (spec.dialect == Dialect::kPostgres && mapping_.hold &&
      mapping_.hold->release_value && !mapping_.orders.table.empty() &&
      mapping_.hold->table == mapping_.orders.table &&
      mapping_.hold->key_column == mapping_.orders.resolved.at("ref")) {
    // The flag is a column of the orders table, found by ref: the load
    // reads it, and the write-back leaves out the release of the orders
    // whose flag is already at its release value.
    hold_at_load_ = mapping_.hold->column;
    store_->KnownReleased(&known_released_);
  }
  log_.Info("sql adapter: connected to " + db_->Describe());
}

uint64_t SqlAdapter::Capabilities() const {
  const Mapping& m = mapping_;
  uint64_t caps = 0;
  if (m.items.present) caps |= RFT_CAP_ITEMS;
  if (m.units.present || m.item_units.present) caps |= RFT_CAP_UNITS;
  if (m.stock.present) caps |= RFT_CAP_STOCK;
  if (m.lots.present) caps |= RFT_CAP_LOTS;
  if (m.locations.present) caps |= RFT_CAP_LOCATIONS;
  if (m.customers.present && m.orders.Has("customer_ref")) {
    caps |= RFT_CAP_CUSTOMERS;
  }
  if (m.carrier_services.present) caps |= RFT_CAP_CARRIERS;
  if (m.reservations.present) caps |= RFT_CAP_RESERVATIONS;
  if (m.history_enabled && m.orders.Has("customer_ref"))
    caps |= RFT_CAP_HISTORY;
  if (m.items.present && m.items.Has("unit_weight_kg")) caps |= RFT_CAP_WEIGHTS;
  for (const char* f : {"street", "city", "postcode", "country"}) {
    if (m.orders.Has(f)) caps |= RFT_CAP_ADDRESSES;
  }
  return caps;
}

SqlAdapter::~SqlAdapter() {
  if (store_ && db_) store_->Abort(WaveDb());
}

std::unique_ptr<adapters::Database> SqlAdapter::Connect(
    const adapters::ConnectionSpec& spec) const {
  auto db = std::make_unique<adapters::Database>(spec, log_);
  if (trace_) db->TraceStatements(true);
  db->UsePreparedStatements(prepared_);
  return db;
}

adapters::Database& SqlAdapter::WaveDb() {
  return wave_on_second_ && write_db_ ? *write_db_ : *db_;
}

void SqlAdapter::OpenSecondDb() {
  if (!write_db_) {
    write_db_ = Connect(*spec_);
  } else {
    write_db_->EnsureConnected();
  }
}

adapters::Database* SqlAdapter::LoadSideDb() {
  if (!parallel_load_ || store_->WaveOpen()) return nullptr;
  const auto now = std::chrono::steady_clock::now();
  if (now < side_retry_at_) return nullptr;
  try {
    OpenSecondDb();
    return write_db_.get();
  } catch (const std::exception& e) {
    // A server at its connection limit: the loads of the next minute run
    // on the one connection without asking again. No wave is open: the
    // connection that could not be opened again goes (the next wave in
    // pages then opens one, or writes on the first).
    write_db_.reset();
    side_retry_at_ = now + std::chrono::minutes(1);
    log_.Warn(std::string("sql adapter: a second connection for the load "
                          "could not be opened (") +
              e.what() +
              "); waves are loaded on one connection, and the next minute's "
              "loads do not try again");
    return nullptr;
  }
}

void SqlAdapter::Load(const rft_selection& selection, adapter::Sink& sink,
                      adapter::Call& call) {
  Read("load", selection, sink, call, false);
}

void SqlAdapter::List(const rft_selection& selection, adapter::Sink& sink,
                      adapter::Call& call) {
  Read("list", selection, sink, call, true);
}

void SqlAdapter::Read(const char* what, const rft_selection& selection,
                      adapter::Sink& sink, adapter::Call& call,
                      bool keys_only) {
  if (selection.struct_size <
      offsetof(rft_selection, max_orders) + sizeof(selection.max_orders)) {
    throw Error(RFT_ERR_INVALID_ARGUMENT,
                std::string(what) + ": selection struct too small");
  }
  Loader loader(*this, selection, sink, call, keys_only);
  loader.Run();
}

void SqlAdapter::WriteBack(const adapter::WriteBackBatch& batch,
                           adapter::Call& call) {
  // What the last load found is used once: the write changes the flags.
  struct Forget {
    adapters::RefSet& refs;
    ~Forget() { refs.clear(); }
  } forget{known_released_};
  store_->Write(*db_, batch, Hold(), call, log_);
}

void SqlAdapter::WriteBegin(const rft_writeback_run& run, adapter::Call& call) {
  // While a wave is open, Begin refuses the next one, on the open wave's
  // connection: nothing changes here.
  if (!store_->WaveOpen()) {
    if (pipelined_) {
      // The wave's own connection, opened by the first wave in pages (or
      // load) and kept. A server that refuses it (its connection limit)
      // gets the wave written on the load's connection, one page after the
      // other.
      try {
        OpenSecondDb();
      } catch (const std::exception& e) {
        write_db_.reset();
        log_.Warn(std::string("sql adapter: a second connection for the "
                              "wave's writes could not be opened (") +
                  e.what() +
                  "); the wave is written on the load's connection, each "
                  "page after it is loaded");
      }
    }
    wave_on_second_ = pipelined_ && write_db_ != nullptr;
    store_->PipelineParts(wave_on_second_);
  }
  store_->Begin(WaveDb(), run, Hold(), call, log_);
  put_in_wave_ = PutInWave();
}

void SqlAdapter::WritePart(const adapter::WriteBackBatch& part,
                           adapter::Call& call) {
  store_->Part(WaveDb(), part, call, log_);
}

void SqlAdapter::WriteCommit(const rft_writeback_run& run,
                             adapter::Call& call) {
  known_released_.clear();
  store_->Commit(WaveDb(), run, call, log_);
}

void SqlAdapter::WriteAbort(adapter::Call&) {
  known_released_.clear();
  store_->Abort(WaveDb());
}

const adapters::HoldTarget* SqlAdapter::Hold() const {
  return mapping_.hold ? &*mapping_.hold : nullptr;
}

void SqlAdapter::Describe(const adapter::DescribeFn& emit,
                          adapter::Call& call) {
  emit("backend", adapters::DialectName(db_->dialect()));
  emit("database", db_->Describe());
  const adapters::RecordTables& t = mapping_.tables;
  emit("records", "tables " + t.error_records + " (findings) and " +
                      t.check_runs + " (one row per order checked) in " +
                      db_->Describe());
  std::string found;
  for (const Source* s : mapping_.Sources()) {
    if (!s->present) continue;
    found += (found.empty() ? "" : ", ") + s->name + "=" +
             (s->table.empty() ? std::string("query") : s->table);
  }
  emit("sources", found);
  rft_selection ready{};
  ready.struct_size = sizeof ready;
  ready.mode = RFT_SELECT_READY;
  rft_wave_sink no_sink{};
  adapter::Sink sink(&no_sink);
  Loader loader(*this, ready, sink, call);
  int64_t count = -1;
  int version = 0;
  std::string totals;
  adapters::RunDatabaseCall(*db_, call, "describing the database", [&] {
    count = loader.CountReady();
    version = store_->SchemaVersion(*db_);
    if (version > 0) totals = store_->RunTotals(*db_);
  });
  emit("orders ready for release", std::to_string(count));
  emit("rftgate schema version",
       version == 0 ? std::string("none (tables are created by the first "
                                  "write-back)")
                    : std::to_string(version));
  if (!totals.empty()) emit("rftgate records written", totals);
  emit("rftgate tables",
       mapping_.tables.runs + ", " + mapping_.tables.check_runs + ", " +
           mapping_.tables.error_records + ", " + mapping_.tables.schema);
}

}  // namespace rftgate::sql_adapter

RFTGATE_DEFINE_ADAPTER(rftgate::sql_adapter::SqlAdapter, "sql", "0.1.0",
                       RFT_CAP_ITEMS | RFT_CAP_UNITS | RFT_CAP_STOCK |
                           RFT_CAP_LOTS | RFT_CAP_LOCATIONS |
                           RFT_CAP_CUSTOMERS | RFT_CAP_CARRIERS |
                           RFT_CAP_RESERVATIONS | RFT_CAP_HISTORY |
                           RFT_CAP_WEIGHTS | RFT_CAP_ADDRESSES)

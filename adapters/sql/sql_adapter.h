// The generic SQL adapter: reads rftgate's domain model from any WMS schema
// described by a mapping (adapters/sql/mapping.h), on SQLite, PostgreSQL or
// MySQL/MariaDB through SOCI, and writes check runs and error records back
// (adapters/common/record_store.h).
//
// Options (adapter.options in the config, as JSON):
//   mapping: path of the mapping file (relative to the config's folder), or
//            the mapping itself as an object
//   trace_statements: true logs every SQL statement SQLite runs (DEBUG)
//
// Loading a wave takes a fixed number of set-based queries, whatever its
// size: one per source (orders, lines, items, units, item units, stock,
// lots, locations, customers, carrier services, reservations, history),
// each joined to the selected orders, inside one read-only transaction, or
// inside the write transaction of a wave in pages while one is open. On
// PostgreSQL (`parallel_load`) the queries after the lines run on two
// connections at once, in one snapshot.
#ifndef RFTGATE_ADAPTERS_SQL_SQL_ADAPTER_H_
#define RFTGATE_ADAPTERS_SQL_SQL_ADAPTER_H_

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "adapters/common/database.h"
#include "adapters/common/record_store.h"
#include "adapters/common/string_set.h"
#include "adapters/sql/mapping.h"
#include "rftgate/adapter.hpp"

namespace rftgate::sql_adapter {

class SqlAdapter {
 public:
  // Connects and checks the mapping against the database. Throws
  // adapter::Error (RFT_ERR_CONFIG for a bad mapping or options,
  // RFT_ERR_DATABASE when the database refuses).
  explicit SqlAdapter(const adapter::OpenParams& params);

  // Rolls back a wave still open.
  ~SqlAdapter();

  void Load(const rft_selection& selection, adapter::Sink& sink,
            adapter::Call& call);
  void WriteBack(const adapter::WriteBackBatch& batch, adapter::Call& call);
  void Describe(const adapter::DescribeFn& emit, adapter::Call& call);

  // A wave in pages (adapter ABI 1.2). List runs the orders query of the
  // selection alone, for the order keys; WriteBegin opens the wave's write
  // transaction (adapters/common/record_store.h). Every load until
  // WriteCommit or WriteAbort runs its queries inside it, or on PostgreSQL
  // with `pipelined_pages` (the default) the wave is written on a second
  // connection, each part in the background while the next page loads.
  void List(const rft_selection& selection, adapter::Sink& sink,
            adapter::Call& call);
  void WriteBegin(const rft_writeback_run& run, adapter::Call& call);
  void WritePart(const adapter::WriteBackBatch& part, adapter::Call& call);
  void WriteCommit(const rft_writeback_run& run, adapter::Call& call);
  void WriteAbort(adapter::Call& call);

  // The rft_capability bits the mapping provides.
  uint64_t Capabilities() const;

 private:
  class Loader;

  // A load or a list (`keys_only`) of `selection`.
  void Read(const char* what, const rft_selection& selection,
            adapter::Sink& sink, adapter::Call& call, bool keys_only);
  // A connection to `spec` with the adapter's options (trace, prepared
  // statements). Throws adapter::Error.
  std::unique_ptr<adapters::Database> Connect(
      const adapters::ConnectionSpec& spec) const;
  // The connection of the wave's writes.
  adapters::Database& WaveDb();
  // The second connection, opened (or reconnected) now. Throws.
  void OpenSecondDb();
  // PostgreSQL with `parallel_load`: the second connection, opened now if
  // it is not yet and connected, for half the queries of a wave's load;
  // nullptr when it cannot serve (another option, a wave open on it, a
  // server that refused it less than a minute ago).
  adapters::Database* LoadSideDb();
  // Where held orders are flagged, when the mapping says.
  const adapters::HoldTarget* Hold() const;

  // The reference records the loads of the open wave put so far: later
  // pages leave them out (RFT_CAP_KNOWN_LEFT_OUT). Reset by WriteBegin.
  struct PutInWave {
    adapters::StringSet skus, locations, customers;
    bool units = false, carriers = false;
  };

  adapter::Logger log_;
  Mapping mapping_;
  PutInWave put_in_wave_;
  // PostgreSQL, when the hold flag is a column of the orders table: the
  // refs of the last load's orders whose flag was at the release value
  // (RecordStore::KnownReleased), and that column's name.
  adapters::RefSet known_released_;
  std::string hold_at_load_;
  // PostgreSQL: column types read by the loads (source|field -> type).
  std::unordered_map<std::string, std::string> column_types_;
  std::unique_ptr<adapters::Database> db_;
  // PostgreSQL: a second connection (opened when first needed, kept). With
  // `pipelined_pages` a wave in pages writes on it, so that the next page
  // loads on db_ while the server writes the last one; with
  // `parallel_load` a wave's load reads half its queries on it, in the
  // same snapshot, while db_ reads the rest.
  std::optional<adapters::ConnectionSpec> spec_;
  std::unique_ptr<adapters::Database> write_db_;
  bool trace_ = false, prepared_ = true;
  bool pipelined_ = false, parallel_load_ = false;
  // The open (or last) wave in pages writes on write_db_.
  bool wave_on_second_ = false;
  std::chrono::steady_clock::time_point side_retry_at_{};
  // Declared after the connections: a part still being written is waited
  // for before they close.
  std::unique_ptr<adapters::RecordStore> store_;
};

}  // namespace rftgate::sql_adapter

#endif  // RFTGATE_ADAPTERS_SQL_SQL_ADAPTER_H_

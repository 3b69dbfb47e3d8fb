// The check engine: pure, no I/O. Given a wave built from adapter records
// and a ruleset, decides pass / warn / hold for each order, with findings.
#ifndef RFTGATE_PLUGIN_ENGINE_ENGINE_H_
#define RFTGATE_PLUGIN_ENGINE_ENGINE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "plugin/engine/catalogue.h"
#include "plugin/engine/ruleset.h"
#include "plugin/engine/wave.h"

namespace rftgate {

// Values match rft_verdict / rft_decided_by of the C ABI.
enum class Verdict : int32_t { kPass = 0, kWarn = 1, kHold = 2 };
enum class DecidedBy : int32_t { kChecks = 0, kFailurePolicy = 1 };

// The text of findings and order results views storage that the result
// owns (ResultStore): it stays valid as long as the WaveResult, or the
// store it was moved into, lives. Copies of a Finding or an OrderResult
// view the same text: keep the store with them.
struct Finding {
  int32_t line_no = 0;        // 1-based position in the order; 0 = whole order
  std::string_view line_ref;  // the WMS's own line id, may be empty
  std::string_view check_id;
  Severity severity = Severity::kWarn;  // kWarn or kBlock
  std::string_view message;             // what to fix, for a picker or planner
  std::string_view details_json;        // JSON object: observed, threshold, ...
};

// What an order line was given from stock, in the item's base unit. Filled
// only when RunContext::record_allocations is set.
struct Allocation {
  int32_t line_no = 0;
  std::string sku;
  std::string location;
  std::string lot;                // empty for stock without a lot
  std::string qty;                // exact decimal text, base unit
  bool from_reservation = false;  // the line's own reservation
};

struct OrderResult {
  std::string_view ref;
  std::string_view stable_id;
  std::string_view site;
  std::string_view provider;
  std::string_view customer;
  std::string_view customer_order_ref;
  Verdict verdict = Verdict::kPass;
  DecidedBy decided_by = DecidedBy::kChecks;
  std::string_view reason;            // set when decided by the failure policy
  std::span<const Finding> findings;  // ordered by line_no
  // Kept by the order when it is not held; given back when it is held.
  std::vector<Allocation> allocations;
};

// A check that did not run on this wave, and why.
struct CheckNote {
  std::string check_id;  // empty = about the run as a whole
  std::string message;
};

// What the views of order results and findings point into: the wave's
// interned strings (shared with the wave, so the result may outlive it),
// every finding of the run, and text made for the result (messages and
// details), kept in large blocks rather than one allocation per string.
class ResultStore {
 public:
  ResultStore() = default;
  ResultStore(const ResultStore&) = delete;
  ResultStore& operator=(const ResultStore&) = delete;

  // A copy of s that lives as long as the store.
  std::string_view Keep(std::string_view s);

  // Keeps `owner` (what other views of the result point into) alive as
  // long as the store.
  void KeepAlive(std::shared_ptr<const void> owner) {
    owners_.push_back(std::move(owner));
  }

  // Every finding of the run, grouped by order (OrderResult::findings
  // views its run of them).
  std::vector<Finding> findings;

 private:
  static constexpr size_t kBlockSize = 64 * 1024;
  std::vector<std::shared_ptr<const void>> owners_;
  std::vector<std::unique_ptr<char[]>> blocks_;
  char* at_ = nullptr;
  size_t left_ = 0;
};

struct WaveResult {
  // In the sequence the wave was served (priority desc, ship date asc with
  // missing dates last, ref bytewise, stable id).
  std::vector<OrderResult> orders;
  std::vector<CheckNote> notes;
  // What `orders` views; keep it with the orders when moving them out.
  std::shared_ptr<const ResultStore> store;
};

struct RunContext {
  // "Now" for release time, cut-off and duplicate windows: microseconds
  // since the Unix epoch, UTC.
  int64_t now_unix_us = 0;
  // Past orders (dry run over a date range): checks that need current
  // stock run only if the wave has RFT_CAP_STOCK_AS_OF.
  bool past_orders = false;
  // Report each order's allocations in OrderResult::allocations (costs
  // allocations per line; for tests, dry runs and diagnostics).
  bool record_allocations = false;
};

// What the earlier pages of a wave leave to the later ones, when a wave is
// checked a page at a time: the stock that earlier pages' orders took, and
// the signatures order.duplicate compares. Its size grows with the stock
// rows touched and a few bytes per order, not with lines or their text.
// Starts empty (the first page); pass the same carry to every page of the
// wave, in the serving sequence. Not thread-safe: one carry per wave.
class WaveCarry {
 public:
  WaveCarry();
  ~WaveCarry();
  WaveCarry(WaveCarry&&) noexcept;
  WaveCarry& operator=(WaveCarry&&) noexcept;

  // Approximate heap bytes held.
  size_t memory_bytes() const;

 private:
  friend class Engine;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class Engine {
 public:
  // The ruleset is copied; the engine is immutable afterwards and Run may
  // be called from several threads at once.
  explicit Engine(Ruleset ruleset);
  ~Engine();
  Engine(Engine&&) noexcept;
  Engine& operator=(Engine&&) noexcept;

  const Ruleset& ruleset() const;

  // Checks every order of the wave. Never throws on bad data: bad data is
  // a finding. Deterministic: the same wave and context give the same
  // result whatever the order the records arrived in.
  //
  // carry == nullptr: the wave is whole. Otherwise the wave is one page of
  // a larger wave whose pages are passed in the serving sequence (every
  // order of this page comes after every order of earlier pages): Run
  // reads what earlier pages left in *carry and adds this page's part.
  // Stock is then given as if the pages were one wave: the stock of a slot
  // (SKU, location, lot) that earlier pages' orders took is taken off the
  // page's free and reserved quantities of that slot. Orders are compared
  // for order.duplicate with the orders of earlier pages too; of two equal
  // orders on different pages, the one on the later page is reported.
  // Everything else is judged per order. Notes are of this page's records.
  WaveResult Run(const Wave& wave, const RunContext& context,
                 WaveCarry* carry = nullptr) const;

  // The refs of the wave's orders in the serving sequence Run uses, with
  // the ruleset's site time zones. Views are valid while `wave` lives.
  std::vector<std::string_view> ServingRefs(const Wave& wave) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The refs of the wave's orders in the serving sequence (priority desc,
// ship date asc with missing dates last, ref bytewise, stable id) — the
// same sequence Run uses. Reads only the order records: works for a wave
// that holds only orders (the keys of a wave listed for paging), without
// lines. Ship dates given as instants (RFT_TIME_UTC) are taken as days in
// UTC; Engine::ServingRefs takes them in the site's time zone, as Run
// does. Views are valid while `wave` lives.
std::vector<std::string_view> ServingRefs(const Wave& wave);

}  // namespace rftgate

#endif  // RFTGATE_PLUGIN_ENGINE_ENGINE_H_

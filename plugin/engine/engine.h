// The check engine: pure, no I/O. Given a wave built from adapter records
// and a ruleset, decides pass / warn / hold for each order, with findings.
#ifndef RFTGATE_PLUGIN_ENGINE_ENGINE_H_
#define RFTGATE_PLUGIN_ENGINE_ENGINE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "plugin/engine/catalogue.h"
#include "plugin/engine/ruleset.h"
#include "plugin/engine/wave.h"

namespace rftgate {

// Values match rft_verdict / rft_decided_by of the C ABI.
enum class Verdict : int32_t { kPass = 0, kWarn = 1, kHold = 2 };
enum class DecidedBy : int32_t { kChecks = 0, kFailurePolicy = 1 };

struct Finding {
  int32_t line_no = 0;   // 1-based position in the order; 0 = whole order
  std::string line_ref;  // the WMS's own line id, may be empty
  std::string check_id;
  Severity severity = Severity::kWarn;  // kWarn or kBlock
  std::string message;                  // what to fix, for a picker or planner
  std::string details_json;  // JSON object: observed, threshold, expected...
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
  std::string ref;
  std::string stable_id;
  std::string site;
  std::string provider;
  std::string customer;
  std::string customer_order_ref;
  Verdict verdict = Verdict::kPass;
  DecidedBy decided_by = DecidedBy::kChecks;
  std::string reason;  // set when decided by the failure policy
  std::vector<Finding> findings;
  // Kept by the order when it is not held; given back when it is held.
  std::vector<Allocation> allocations;
};

// A check that did not run on this wave, and why.
struct CheckNote {
  std::string check_id;  // empty = about the run as a whole
  std::string message;
};

struct WaveResult {
  // In the sequence the wave was served (priority desc, ship date asc with
  // missing dates last, ref bytewise, stable id).
  std::vector<OrderResult> orders;
  std::vector<CheckNote> notes;
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
  WaveResult Run(const Wave& wave, const RunContext& context) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rftgate

#endif  // RFTGATE_PLUGIN_ENGINE_ENGINE_H_

// RunResult: what the host reads through the result accessors of the host
// ABI. Immutable once built.
#ifndef RFTGATE_PLUGIN_CORE_RUN_RESULT_H_
#define RFTGATE_PLUGIN_CORE_RUN_RESULT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "plugin/engine/engine.h"

namespace rftgate {

struct RunResult {
  std::string run_id;
  std::string ruleset;
  bool dry_run = false;
  bool written = false;
  std::string written_to;  // where the records went, for people
  int64_t duration_us = 0;
  std::vector<OrderResult> orders;  // in serving sequence
  // What the orders' and findings' text views.
  std::shared_ptr<const ResultStore> store;
  std::vector<CheckNote> notes;

  uint64_t passed = 0, warned = 0, held = 0, by_policy = 0, findings = 0;
  // Set when the orders were handed to the host page by page: `orders` is
  // empty and `streamed_orders` says how many were handed over.
  bool streamed = false;
  uint64_t streamed_orders = 0;

  uint64_t order_count() const {
    return streamed ? streamed_orders : orders.size();
  }

  // Recomputes the counts from `orders`.
  void Count();
};

}  // namespace rftgate

#endif  // RFTGATE_PLUGIN_CORE_RUN_RESULT_H_

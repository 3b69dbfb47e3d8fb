/*
 * rftgate/host_abi.h: the boundary between a host (a WMS, an ERP, the
 * `rftgate` command) and the rftgate plugin (librftgate.so).
 *
 * The plugin exports exactly one symbol, `rft_plugin_entry`. A host loads
 * the library (dlopen, ctypes, JNA, P/Invoke...), calls the entry with the
 * ABI version it was built against and receives the plugin's table of
 * functions (`rft_plugin_api`). A different major version is refused with a
 * message naming both versions; a host built for a higher minor version
 * must check `struct_size` before using members it knows and the plugin
 * might not have.
 *
 * Lifecycle:
 *   rft_plugin_entry -> api->open -> api->check / api->dry_run (any number
 *   of times) -> api->result_* to read each result -> api->result_free ->
 *   api->close.
 *
 * Threads: `open`, `close` and the catalogue functions may be called from
 * any thread. Calls on one `rft_gate` handle are serialised by the plugin
 * (safe from several threads; they run one after another); use one handle
 * per thread for parallel waves. A result is immutable: its accessors may be
 * called from any number of threads at once. Handles do not survive fork():
 * a child process must open its own handle (and must not close the
 * parent's).
 *
 * Errors: every fallible function returns an `rft_status` and writes a
 * message into the caller's buffer `error` of capacity `error_cap` (always
 * NUL-terminated when error_cap > 0; truncated to fit). No exception ever
 * leaves the plugin; a failure inside the plugin or an adapter becomes a
 * status and a message.
 *
 * Output structs (`rft_result_summary`, `rft_order_verdict`...) are
 * provided by the caller with `struct_size` set to the caller's sizeof; the
 * plugin fills only the fields inside that size and leaves the rest.
 * Strings in them point into the result (or the gate, for the catalogue)
 * and stay valid until `result_free` (or `close`).
 */
#ifndef RFTGATE_HOST_ABI_H_
#define RFTGATE_HOST_ABI_H_

#include "rftgate/adapter_abi.h"
#include "rftgate/common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define RFT_HOST_ABI_MAJOR 1
#define RFT_HOST_ABI_MINOR 1

/* Name of the entry symbol, for loaders. */
#define RFT_PLUGIN_ENTRY_SYMBOL "rft_plugin_entry"

/* An open gate: config, ruleset, adapter connection. Opaque.
 * OWNERSHIP: created by `open`, destroyed by `close`; owned by the host. */
typedef struct rft_gate rft_gate;

/* The outcome of one check or dry run. Opaque.
 * OWNERSHIP: created by `check`/`dry_run`, owned by the host, freed with
 * `result_free`. Independent of the gate: it may outlive `close`. */
typedef struct rft_result rft_result;

/* How to open a gate. Exactly one of `config_path` and `config_yaml` is
 * present. With `config_yaml`, relative paths resolve from `base_dir`
 * (absent = the current directory).
 * `log`/`log_ctx`: when set, every log line of the plugin (passwords
 * masked) goes to this callback instead of stderr; the callback and its ctx
 * must stay valid until `close`.
 * OWNERSHIP: borrowed for the duration of `open`. */
typedef struct rft_open_params {
  uint32_t struct_size;
  rft_str config_path;
  rft_str config_yaml;
  rft_str base_dir;
  rft_log_fn log;
  void* log_ctx;
} rft_open_params;

/* Called during a long check: `done` of `total` orders processed so far.
 * May be called from the thread running the check only. */
typedef void (*rft_progress_fn)(void* ctx, uint64_t done, uint64_t total);

/* Called with the verdicts of one page of a wave (ABI 1.1), on the thread
 * running the check, once per page in the serving sequence. `page` is
 * BORROWED: read it with result_summary / result_order / result_finding
 * during the call only, and never pass it to result_free; the plugin frees
 * the page's orders, findings and text when the callback returns. Its
 * summary counts the page's orders; `written` is always 0 in a page: only
 * the final result says whether the records were written. The callback
 * must not call check, dry_run, describe or close on the same gate (they
 * wait for the call that runs the callback: a deadlock), and must not
 * throw (C++) or unwind through the plugin. */
typedef void (*rft_page_fn)(void* ctx, const rft_result* page);

/* What to check. `selection` picks the orders (see adapter_abi.h:
 * ready for release, by refs, or a past date range).
 * `run_id`: absent = the plugin makes a new one; a host retrying a failed
 * call passes the run id of the first attempt so that nothing is written
 * twice.
 * `on_page`/`on_page_ctx` (ABI 1.1; NULL or outside struct_size = absent):
 * when set, the verdicts are handed to `on_page` page by page (a wave
 * checked whole is one page) and dropped once it returns, so that the
 * memory of a check does not grow with the wave. Every order that gets a
 * verdict is handed over exactly once. The result stored by check/dry_run
 * then holds the totals, notes and what was written, but no orders
 * (`summary.streamed` = 1, `result_order` returns RFT_ERR_NOT_FOUND).
 * Pages are handed over before the records are committed: act on
 * "written" only from the final result. See docs/host-abi.md for the
 * failure paths.
 * OWNERSHIP: borrowed for the duration of the call. */
typedef struct rft_check_request {
  uint32_t struct_size;
  rft_selection selection;
  rft_str run_id;
  rft_progress_fn progress;
  void* progress_ctx;
  /* ABI 1.1 */
  rft_page_fn on_page;
  void* on_page_ctx;
} rft_check_request;

typedef struct rft_result_summary {
  uint32_t struct_size;
  int32_t dry_run;  /* 1 = nothing was written */
  int32_t written;  /* 1 = records were written back */
  int32_t streamed; /* ABI 1.1: 1 = the orders were handed to `on_page`
                       and are not in this result (0 with ABI 1.0) */
  uint64_t orders;  /* with `streamed`: the orders handed over in all */
  uint64_t passed;
  uint64_t warned;
  uint64_t held;
  uint64_t by_policy; /* verdicts decided by the failure policy */
  uint64_t findings;
  uint64_t notes; /* entries readable with `result_note` */
  rft_str run_id;
  rft_str ruleset;    /* hash of the effective config */
  rft_str written_to; /* where the records went, for people */
  int64_t duration_us;
} rft_result_summary;

typedef struct rft_order_verdict {
  uint32_t struct_size;
  int32_t verdict;    /* rft_verdict */
  int32_t decided_by; /* rft_decided_by */
  int32_t reserved;
  uint64_t finding_count;
  rft_str ref;
  rft_str site;
  rft_str customer;
  rft_str provider;
  rft_str reason; /* absent unless decided by the failure policy */
} rft_order_verdict;

typedef struct rft_finding_view {
  uint32_t struct_size;
  int32_t line_no;  /* 1-based position; 0 = the whole order */
  int32_t severity; /* rft_severity */
  rft_str line_ref; /* the WMS's own line id; may be absent */
  rft_str check_id;
  rft_str message;
  rft_str details_json; /* a JSON object */
} rft_finding_view;

/* A note about the run as a whole: a check that did not apply and why
 * (its input is missing, or stock as it was is unknown for past orders). */
typedef struct rft_note {
  uint32_t struct_size;
  int32_t reserved;
  rft_str check_id; /* absent = the run as a whole */
  rft_str message;
} rft_note;

/* One entry of the check catalogue. */
typedef struct rft_check_info {
  uint32_t struct_size;
  int32_t default_severity; /* rft_severity */
  int32_t severity;         /* effective severity in this gate's config
                               (= default when no gate was given) */
  rft_str id;
  rft_str summary;    /* one line: what it catches */
  rft_str parameters; /* "name=default, ..." or empty */
} rft_check_info;

/* An adapter library found in the gate's adapter directories. */
typedef struct rft_adapter_info {
  uint32_t struct_size;
  uint32_t abi_major;
  uint32_t abi_minor;
  int32_t loadable; /* 1 = its entry accepted this plugin */
  rft_str name;
  rft_str path;
  rft_str version;
  rft_str problem; /* why not loadable; absent otherwise */
} rft_adapter_info;

/* Called once per adapter found by `list_adapters`; borrowed strings. */
typedef void (*rft_adapter_info_fn)(void* ctx, const rft_adapter_info* info);

/* The plugin's table of functions. Only ever grows at the end; members
 * outside `struct_size` do not exist in the loaded plugin.
 * OWNERSHIP: static storage in the plugin; valid while it is loaded. */
typedef struct rft_plugin_api {
  uint32_t struct_size;
  uint32_t abi_major;
  uint32_t abi_minor;
  uint32_t reserved;
  const char* version; /* the plugin's version, NUL-terminated */

  /* Reads and validates the config, loads and opens the adapter. Stores a
   * new gate in *out and returns RFT_OK, or stores NULL and returns
   * RFT_ERR_CONFIG (message: file:line:column and what is wrong),
   * RFT_ERR_ADAPTER or RFT_ERR_DATABASE. */
  rft_status (*open)(const rft_open_params* params, rft_gate** out, char* error,
                     size_t error_cap);

  /* Closes the adapter and frees the gate. NULL is ignored. Results stay
   * valid. */
  void (*close)(rft_gate* gate);

  /* Checks the selected orders and writes the findings back into the WMS.
   * Stores a new result in *out and returns RFT_OK when every requested
   * order got a verdict, from the checks or from the failure policy (read
   * `decided_by`). Returns an error and stores NULL when no verdict could
   * be produced (e.g. the orders could not even be listed). */
  rft_status (*check)(rft_gate* gate, const rft_check_request* request,
                      rft_result** out, char* error, size_t error_cap);

  /* The same checks with nothing written anywhere. */
  rft_status (*dry_run)(rft_gate* gate, const rft_check_request* request,
                        rft_result** out, char* error, size_t error_cap);

  /* Frees a result. NULL is ignored, and so is a page borrowed by
   * `on_page` (the plugin frees it). */
  void (*result_free)(rft_result* result);

  /* Fills *out (caller sets out->struct_size). */
  rft_status (*result_summary)(const rft_result* result,
                               rft_result_summary* out);

  /* Fills *out with order `index` (0 <= index < summary.orders), in the
   * sequence the wave was served. RFT_ERR_NOT_FOUND past the end, and for
   * every index of a result whose orders were streamed. */
  rft_status (*result_order)(const rft_result* result, uint64_t index,
                             rft_order_verdict* out);

  /* Fills *out with finding `finding_index` of order `order_index`. */
  rft_status (*result_finding)(const rft_result* result, uint64_t order_index,
                               uint64_t finding_index, rft_finding_view* out);

  /* Fills *out with note `index` (0 <= index < summary.notes). */
  rft_status (*result_note)(const rft_result* result, uint64_t index,
                            rft_note* out);

  /* Number of checks in the catalogue. */
  uint64_t (*catalogue_size)(void);

  /* Fills *out with catalogue entry `index`. `gate` may be NULL (defaults
   * only); strings are static or live as long as the gate. */
  rft_status (*catalogue_entry)(const rft_gate* gate, uint64_t index,
                                rft_check_info* out);

  /* Lists the adapter libraries in the adapter directories of `params`'s
   * config (or the default directories when `params` is NULL), calling
   * `emit` once per library. Loads each one to read its ABI version. */
  rft_status (*list_adapters)(const rft_open_params* params,
                              rft_adapter_info_fn emit, void* emit_ctx,
                              char* error, size_t error_cap);

  /* Reports what an open gate's adapter found in its database as key/value
   * pairs (backend, schema, counts), for `config validate --connect`. */
  rft_status (*describe)(rft_gate* gate, rft_describe_fn emit, void* emit_ctx,
                         char* error, size_t error_cap);

  /* Room for later minor versions: record_escape, resolve, measures. */
} rft_plugin_api;

/* The entry symbol. The host passes the ABI version it was built against;
 * the plugin stores its table in *out and returns RFT_OK, or returns
 * RFT_ERR_ABI with a message naming both versions. Idempotent; does nothing
 * else. */
typedef rft_status (*rft_plugin_entry_fn)(uint32_t host_abi_major,
                                          uint32_t host_abi_minor,
                                          const rft_plugin_api** out,
                                          char* error, size_t error_cap);

RFT_EXPORT rft_status rft_plugin_entry(uint32_t host_abi_major,
                                       uint32_t host_abi_minor,
                                       const rft_plugin_api** out, char* error,
                                       size_t error_cap);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* RFTGATE_HOST_ABI_H_ */

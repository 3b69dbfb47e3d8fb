/*
 * rftgate/adapter_abi.h: the boundary between the rftgate plugin and an
 * adapter library (librftgate_adapter_<name>.so) that knows one WMS.
 *
 * An adapter exports exactly one symbol, `rft_adapter_entry`. The plugin
 * calls it first, with the ABI version it was built against; the adapter
 * answers with its table of functions (`rft_adapter_api`) or refuses. The
 * plugin then checks the table's version too: a different major version is
 * refused with a message naming both versions; a lower minor version is
 * accepted and only the functions inside the table's `struct_size` are used.
 *
 * Data flows from the adapter to the plugin as arrays of plain records pushed
 * into a sink the plugin provides (`rft_wave_sink`). Records and the strings
 * in them are borrowed only for the duration of the `put` call: the plugin
 * copies what it keeps. Quantities in stock, reservation and history
 * records are in the item's base unit; quantities on order lines are in the
 * line's unit.
 *
 * Errors: every function that can fail returns an `rft_status` and writes a
 * message into `call->error` (capacity `call->error_cap`, always
 * NUL-terminated). No C++ exception may leave an adapter function: the C++
 * helper in rftgate/adapter.hpp puts a catch-all barrier around each one.
 *
 * Threads: the plugin never calls into one `rft_adapter` handle from two
 * threads at once, but may use different handles from different threads and
 * may call from a thread other than the one that opened the handle. Handles
 * do not survive fork(): open a new one in the child.
 */
#ifndef RFTGATE_ADAPTER_ABI_H_
#define RFTGATE_ADAPTER_ABI_H_

#include "rftgate/common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define RFT_ADAPTER_ABI_MAJOR 1
#define RFT_ADAPTER_ABI_MINOR 2

/* Name of the entry symbol, for loaders. */
#define RFT_ADAPTER_ENTRY_SYMBOL "rft_adapter_entry"

/* An open connection of an adapter to its WMS. Opaque.
 * OWNERSHIP: created by `open`, destroyed by `close`; owned by the plugin in
 * between. */
typedef struct rft_adapter rft_adapter;

/* Per-call context, provided by the plugin for every call.
 * `deadline_unix_ms`: the call should give up with RFT_ERR_TIMEOUT after
 * this moment (milliseconds since the Unix epoch, UTC); 0 = no deadline.
 * Adapters pass the remaining time on to their database (statement timeout)
 * where they can. The plugin also enforces the deadline on its side.
 * `cancelled`: when non-NULL and *cancelled != 0 the call should stop soon
 * with RFT_ERR_CANCELLED; adapters check it between batches of rows. The
 * plugin sets it from another thread with a relaxed atomic store: read it
 * with a relaxed atomic load (`__atomic_load_n`, as Call::Cancelled in
 * rftgate/adapter.hpp does).
 * `error`/`error_cap`: where the message of a failed call goes.
 * OWNERSHIP: all pointers borrowed for the duration of the call. */
typedef struct rft_call {
  uint32_t struct_size;
  int64_t deadline_unix_ms;
  const volatile int32_t* cancelled;
  char* error;
  size_t error_cap;
} rft_call;

/* ---------------------------------------------------------------- records */

/* Kinds of records an adapter puts into the sink. Values never change; new
 * kinds are appended. */
typedef enum rft_record_kind {
  RFT_REC_ORDER = 1,            /* rft_order */
  RFT_REC_LINE = 2,             /* rft_order_line */
  RFT_REC_ITEM = 3,             /* rft_item */
  RFT_REC_UNIT = 4,             /* rft_unit */
  RFT_REC_ITEM_UNIT = 5,        /* rft_item_unit */
  RFT_REC_STOCK = 6,            /* rft_stock */
  RFT_REC_LOT = 7,              /* rft_lot */
  RFT_REC_LOCATION = 8,         /* rft_location */
  RFT_REC_CUSTOMER = 9,         /* rft_customer */
  RFT_REC_CARRIER_SERVICE = 10, /* rft_carrier_service */
  RFT_REC_RESERVATION = 11,     /* rft_reservation */
  RFT_REC_HISTORY_LINE = 12     /* rft_history_line */
} rft_record_kind;

/* Optional inputs an adapter can provide for a wave. A check whose input is
 * not provided reports itself as not applicable, never as a pass. */
typedef enum rft_capability {
  RFT_CAP_ITEMS = 1u << 0,        /* item master (item.*, uom.*, lot.missing) */
  RFT_CAP_UNITS = 1u << 1,        /* unit conversions */
  RFT_CAP_STOCK = 1u << 2,        /* stock by location and lot, now */
  RFT_CAP_LOTS = 1u << 3,         /* lots with expiry and status */
  RFT_CAP_LOCATIONS = 1u << 4,    /* locations: pickable, blocked */
  RFT_CAP_CUSTOMERS = 1u << 5,    /* customers: holds, shelf life */
  RFT_CAP_CARRIERS = 1u << 6,     /* carrier services and their limits */
  RFT_CAP_RESERVATIONS = 1u << 7, /* each order's own reservations */
  RFT_CAP_HISTORY = 1u << 8,      /* past order lines per customer and SKU
                                     (qty.outlier, order.duplicate) */
  RFT_CAP_WEIGHTS = 1u << 9,      /* item unit weights (carrier weight) */
  RFT_CAP_ADDRESSES = 1u << 10,   /* ship-to addresses on orders */
  RFT_CAP_STOCK_AS_OF = 1u << 11, /* for past orders, stock and lots as they
                                     were at each order's release */
  /* Not an input (since ABI 1.2): announced by a `load` of one page of a
   * paged wave (between `write_begin` and the wave's end) that left out the
   * reference records it put for earlier pages of the same wave. The keys:
   * items, item units, stock and lots by SKU; units, locations and carrier
   * services by code; customers by ref. All records of one key are put
   * together, in one page; a key put again replaces what was put before.
   * The plugin keeps what earlier pages put and uses it for the keys a page
   * leaves out. Without this bit, a page carries every record it needs. */
  RFT_CAP_KNOWN_LEFT_OUT = 1u << 12
} rft_capability;

/* Order status values as the plugin understands them; the WMS's own status
 * text travels in `status_text`. */
typedef struct rft_order {
  uint32_t struct_size;
  rft_str ref;       /* required; unique within a wave (e.g. WH/OUT/00042) */
  rft_str stable_id; /* the WMS's own primary key, as text; tie-breaker */
  rft_str site;      /* warehouse / site code */
  rft_str provider;  /* who picks it: own team or 3PL */
  rft_str customer_ref;
  rft_str customer_order_ref; /* the customer's order this transfer serves;
                                 an order counts once in the RFT rate */
  rft_str ship_to_name;
  rft_str street;
  rft_str city;
  rft_str postcode;
  rft_str country; /* ISO 3166-1 alpha-2 preferred; names accepted */
  rft_str carrier;
  rft_str carrier_service; /* matches rft_carrier_service.code */
  rft_time ship_date;      /* requested ship date */
  rft_time created_at;
  rft_time release_at; /* when released for picking; absent = now */
  int32_t priority;    /* larger = more urgent */
  int32_t reserved;    /* zero */
  rft_str status_text; /* the WMS's own status, for messages */
} rft_order;

/* One line of an order. `line_no` is the 1-based position in the order as
 * the WMS shows it; `line_ref` is the WMS's own id of the line. */
typedef struct rft_order_line {
  uint32_t struct_size;
  int32_t line_no;
  rft_str order_ref;
  rft_str line_ref;
  rft_str sku;
  rft_decimal qty;  /* in `uom` */
  rft_str uom;      /* unit code; absent = the item's base unit */
  rft_str location; /* assigned pick location, optional */
  rft_str lot;      /* assigned lot or serial, optional */
} rft_order_line;

typedef enum rft_removal_strategy {
  RFT_REMOVAL_DEFAULT = 0,  /* the WMS did not say: FEFO for lot-tracked
                               items with expiry, FIFO otherwise */
  RFT_REMOVAL_FEFO = 1,     /* first expiring (lot removal date, then expiry) */
  RFT_REMOVAL_FIFO = 2,     /* first received (stock in_date) */
  RFT_REMOVAL_AS_LISTED = 3 /* the order in which stock rows were put */
} rft_removal_strategy;

typedef struct rft_item {
  uint32_t struct_size;
  rft_str sku;
  int32_t active;              /* rft_flag */
  int32_t lot_tracked;         /* rft_flag */
  int32_t serial_tracked;      /* rft_flag */
  int32_t removal_strategy;    /* rft_removal_strategy */
  rft_str base_uom;            /* unit code */
  rft_str hazmat_class;        /* absent or empty = not dangerous goods */
  rft_decimal unit_weight_kg;  /* per base unit; null = unknown */
  rft_decimal unit_volume_m3;  /* per base unit; null = unknown */
  int32_t min_shelf_life_days; /* remaining at ship date; -1 = none */
  int32_t reserved;            /* zero */
  rft_str description;
} rft_item;

typedef enum rft_factor_kind {
  /* one of this unit = factor x the category's reference unit
     (a case of 12 has factor 12 against "each") */
  RFT_FACTOR_MULTIPLY = 0,
  /* one reference unit = factor x this unit (Odoo's uom_uom.factor:
     a dozen is 0.08333 against "unit") */
  RFT_FACTOR_DIVIDE = 1
} rft_factor_kind;

/* A unit of measure valid for all items (Odoo's uom_uom). Units of the same
 * category convert through their factors; units of different categories
 * never convert. */
typedef struct rft_unit {
  uint32_t struct_size;
  int32_t factor_kind; /* rft_factor_kind */
  rft_str code;
  rft_str category;
  rft_decimal factor;
  rft_decimal rounding; /* the unit's precision, e.g. 1 for units, 0.001 for
                           kg; null = exact */
} rft_unit;

/* A unit that holds a fixed number of one item's base unit (a case of 12 of
 * this SKU, a pallet of 40 cases). Takes precedence over `rft_unit`. */
typedef struct rft_item_unit {
  uint32_t struct_size;
  int32_t factor_kind; /* rft_factor_kind, against the item's base unit */
  rft_str sku;
  rft_str uom;
  rft_decimal factor;
} rft_item_unit;

/* Stock of one SKU at one location and lot. Several rows with the same
 * (sku, location, lot) add up. Stock must be reported at the locations that
 * hold it, never summed again at a parent location. */
typedef struct rft_stock {
  uint32_t struct_size;
  int32_t reserved0; /* zero */
  rft_str sku;
  rft_str location;
  rft_str lot;              /* absent for untracked items */
  rft_decimal on_hand;      /* base unit; may be negative in bad data */
  rft_decimal reserved_qty; /* reserved by all orders, this wave's included */
  rft_time in_date;         /* receipt date, for FIFO */
} rft_stock;

typedef enum rft_lot_status {
  RFT_LOT_RELEASED = 0,
  RFT_LOT_QUARANTINE = 1,
  RFT_LOT_BLOCKED = 2,
  RFT_LOT_UNKNOWN = 3
} rft_lot_status;

typedef struct rft_lot {
  uint32_t struct_size;
  int32_t status; /* rft_lot_status */
  rft_str sku;
  rft_str lot;
  rft_time expiry;       /* expiry / best-before date */
  rft_time removal_date; /* FEFO removal date, when the WMS keeps one */
} rft_lot;

typedef struct rft_location {
  uint32_t struct_size;
  int32_t pickable; /* rft_flag */
  int32_t blocked;  /* rft_flag */
  int32_t reserved; /* zero */
  rft_str code;
  rft_str zone;
  rft_str parent; /* parent location code, optional */
} rft_location;

typedef struct rft_customer {
  uint32_t struct_size;
  int32_t blocked;             /* rft_flag */
  int32_t credit_hold;         /* rft_flag */
  int32_t min_shelf_life_days; /* remaining at ship date; -1 = none */
  rft_str ref;
  rft_str name;
  rft_str hold_reason; /* the WMS's own text, optional */
} rft_customer;

typedef struct rft_carrier_service {
  uint32_t struct_size;
  int32_t hazmat_allowed; /* rft_flag */
  int32_t cutoff_minute;  /* minutes after local midnight; -1 = none */
  int32_t reserved;       /* zero */
  rft_str carrier;
  rft_str code;
  rft_decimal max_parcel_weight_kg; /* null = no limit */
} rft_carrier_service;

/* Part of an order line already reserved by the WMS at a location and lot.
 * The same quantity is included in rft_stock.reserved_qty. */
typedef struct rft_reservation {
  uint32_t struct_size;
  int32_t line_no; /* the line it serves (rft_order_line.line_no) */
  rft_str order_ref;
  rft_str location;
  rft_str lot;
  rft_decimal qty; /* base unit */
} rft_reservation;

/* A line of a past order of a customer (outside the wave), for qty.outlier
 * and order.duplicate. */
typedef struct rft_history_line {
  uint32_t struct_size;
  int32_t reserved; /* zero */
  rft_str order_ref;
  rft_str customer_ref;
  rft_str sku;
  rft_decimal qty; /* base unit */
  rft_time created_at;
} rft_history_line;

/* Where an adapter puts what it loads. Provided by the plugin.
 * `put`: `count` records of `kind`, the first at `records`, each following
 * one `struct_size` bytes (of the first record) further. Returns RFT_OK, or
 * an error (bad record, cancelled) on which the adapter must stop loading
 * and return that status; the message is already in the call's buffer.
 * `set_capabilities`: which optional inputs (rft_capability bits) this load
 * provides; call once per load, before or after the records.
 * `needs` (since ABI 1.1): the optional inputs (rft_capability bits) that
 * the plugin's enabled checks read. An adapter may leave out the queries of
 * inputs not named; it must then not announce their capabilities either
 * (a check whose input is not announced reports itself not applicable,
 * never passes). 0 means everything, as does a sink whose `struct_size`
 * ends before `needs` (from a plugin built for ABI 1.0): read it with
 * RFT_SINK_NEEDS. An adapter may always load and announce more.
 * Threads: `put` may be called from a thread other than the one running
 * the load call (an adapter reading on two connections at once), never
 * from two threads at once, and never after the load call returned.
 * OWNERSHIP: the sink is borrowed for the duration of the load call;
 * records are borrowed for the duration of `put`. */
typedef struct rft_wave_sink {
  uint32_t struct_size;
  void* ctx;
  rft_status (*put)(void* ctx, int32_t kind, const void* records, size_t count);
  void (*set_capabilities)(void* ctx, uint64_t capabilities);
  uint64_t needs; /* rft_capability bits; 0 = everything (ABI 1.1) */
} rft_wave_sink;

/* The inputs a sink asks for: its `needs` when the struct holds the field
 * and it is not 0; every capability otherwise. */
#define RFT_SINK_NEEDS(sink)                                 \
  (((sink)->struct_size >=                                   \
        offsetof(rft_wave_sink, needs) + sizeof(uint64_t) && \
    (sink)->needs != 0)                                      \
       ? (sink)->needs                                       \
       : ~(uint64_t)0)

/* -------------------------------------------------------------- selection */

typedef enum rft_selection_mode {
  RFT_SELECT_READY = 0, /* every order ready for release (the mapping says
                           what "ready" means) */
  RFT_SELECT_REFS = 1,  /* the orders named in `refs` */
  RFT_SELECT_RANGE = 2  /* past orders released in [from, to] (dry run) */
} rft_selection_mode;

/* Which orders to load. For RFT_SELECT_RANGE, `from`/`to` are calendar
 * dates (RFT_TIME_DATE), both included; the adapter provides stock as it was
 * only if it announces RFT_CAP_STOCK_AS_OF.
 * `max_orders`: 0 = no limit.
 * OWNERSHIP: borrowed for the duration of the call. */
typedef struct rft_selection {
  uint32_t struct_size;
  int32_t mode;        /* rft_selection_mode */
  const rft_str* refs; /* `ref_count` refs (a plain array of rft_str) */
  size_t ref_count;
  rft_time from;
  rft_time to;
  uint64_t max_orders;
} rft_selection;

/* ------------------------------------------------------------- write-back */

typedef enum rft_verdict {
  RFT_VERDICT_PASS = 0,
  RFT_VERDICT_WARN = 1,
  RFT_VERDICT_HOLD = 2
} rft_verdict;

typedef enum rft_severity {
  RFT_SEVERITY_OFF = 0,
  RFT_SEVERITY_WARN = 1,
  RFT_SEVERITY_BLOCK = 2
} rft_severity;

typedef enum rft_decided_by {
  RFT_DECIDED_BY_CHECKS = 0,
  RFT_DECIDED_BY_FAILURE_POLICY = 1
} rft_decided_by;

/* The run being written. `run_id` is unique per run; writing the same run id
 * again must change nothing. `ruleset` is the hash of the effective
 * configuration. `apply_holds`: also set the WMS's hold flag/status on held
 * orders where the adapter's mapping names one. */
typedef struct rft_writeback_run {
  uint32_t struct_size;
  int32_t apply_holds;
  rft_str run_id;
  rft_str ruleset;
  rft_time started_at;  /* RFT_TIME_UTC */
  rft_time finished_at; /* RFT_TIME_UTC */
} rft_writeback_run;

/* One check-run row per order checked, passes included. */
typedef struct rft_check_run_row {
  uint32_t struct_size;
  int32_t verdict;    /* rft_verdict */
  int32_t decided_by; /* rft_decided_by */
  int32_t blocking_findings;
  int32_t warning_findings;
  int32_t reserved; /* zero */
  int64_t duration_us;
  rft_str order_ref;
  rft_str site;
  rft_str provider;
  rft_str customer_ref;
  rft_str customer_order_ref;
  rft_str reason; /* why the failure policy decided; absent otherwise */
} rft_check_run_row;

/* One finding. `line_no` 0 = the order as a whole. */
typedef struct rft_finding_row {
  uint32_t struct_size;
  int32_t line_no;
  int32_t severity; /* rft_severity: WARN or BLOCK */
  int32_t reserved; /* zero */
  rft_str order_ref;
  rft_str line_ref;
  rft_str check_id;
  rft_str message;
  rft_str details_json; /* a JSON object, stored as is */
} rft_finding_row;

/* ----------------------------------------------------------------- opening */

/* What the plugin passes to `open`.
 * `connection`: the connection string from config, secrets already resolved
 * (e.g. "postgresql://dbname=wms host=/run/pg password=..."). Adapters must
 * never log it unmasked.
 * `options_json`: the `adapter.options` node of the config as a JSON object
 * ("{}" when absent).
 * `config_dir`: the folder of the config file; relative paths in options
 * resolve from it.
 * `log`/`log_ctx`: where the adapter logs; may be NULL.
 * OWNERSHIP: everything borrowed for the duration of `open`; the adapter
 * copies what it keeps (the log callback and its ctx stay valid until
 * `close`). */
typedef struct rft_adapter_open_params {
  uint32_t struct_size;
  rft_str connection;
  rft_str options_json;
  rft_str config_dir;
  rft_log_fn log;
  void* log_ctx;
} rft_adapter_open_params;

/* A key/value pair reported by `describe` (for `rftgate config validate
 * --connect`): e.g. "backend" = "postgresql", "orders ready" = "1234". */
typedef void (*rft_describe_fn)(void* ctx, rft_str key, rft_str value);

/* ------------------------------------------------------------------- table */

/* The adapter's table of functions. Only ever grows at the end; a reader
 * uses only the members that lie inside `struct_size`.
 * OWNERSHIP: static storage inside the adapter library; valid while the
 * library is loaded. */
typedef struct rft_adapter_api {
  uint32_t struct_size;
  uint32_t abi_major;
  uint32_t abi_minor;
  uint32_t reserved;
  const char* name;      /* NUL-terminated, e.g. "sql" */
  const char* version;   /* the adapter's own version, NUL-terminated */
  uint64_t capabilities; /* every rft_capability it may provide */

  /* Opens a connection to the WMS. Stores a new handle in *out and returns
   * RFT_OK, or stores NULL and returns an error with a message. */
  rft_status (*open)(const rft_adapter_open_params* params, rft_adapter** out,
                     rft_call* call);

  /* Closes and frees a handle from `open`. NULL is ignored. Never fails. */
  void (*close)(rft_adapter* adapter);

  /* Loads the orders of `selection` and everything needed to judge them
   * (lines, items, units, stock, lots, locations, customers, carriers,
   * reservations, history) into `sink`. Must use a small number of
   * set-based queries whatever the number of orders. Returns RFT_OK when
   * every record was put. Orders that do not exist are simply not put. */
  rft_status (*load)(rft_adapter* adapter, const rft_selection* selection,
                     const rft_wave_sink* sink, rft_call* call);

  /* Writes the check-run rows and findings of one run in one transaction:
   * all or nothing. Open findings are upserted on (order, line, check);
   * an order that passes has its open findings resolved; the same run id
   * written twice changes nothing. `rows` holds `row_count` records walked
   * by their struct_size, `findings` likewise. */
  rft_status (*write_back)(rft_adapter* adapter, const rft_writeback_run* run,
                           const rft_check_run_row* rows, size_t row_count,
                           const rft_finding_row* findings,
                           size_t finding_count, rft_call* call);

  /* Reports what the adapter found (backend, schema version, counts) as
   * key/value pairs, for `config validate --connect`. */
  rft_status (*describe)(rft_adapter* adapter, rft_describe_fn emit,
                         void* emit_ctx, rft_call* call);

  /* ---- A wave in pages (since ABI 1.2) ----
   * So that memory does not grow with the wave, the plugin can check a
   * large wave a page of orders at a time: it lists the wave's orders,
   * sorts them into the serving sequence, then for each page loads the
   * page's orders by ref (`load` with RFT_SELECT_REFS) and writes the
   * page's records, all inside one write transaction. The orders ready
   * for release are first loaded whole: the sink refuses the first order
   * beyond a page (RFT_ERR_CANCELLED, "more orders than one page"), and the
   * load stops with that status; putting the orders before their lines
   * keeps that stopped load short. An adapter provides
   * all five functions or none of them (NULL, or a table whose
   * `struct_size` ends before them): the plugin then loads and writes every
   * wave whole. */

  /* Puts one RFT_REC_ORDER record per order of `selection` into `sink`, in
   * any sequence, and nothing else: no lines, no other kinds, no
   * capabilities. Each record holds at least `ref`, `stable_id`,
   * `priority`, `ship_date` and `site` (the serving sequence's keys, and
   * the site whose time zone dates an instant), with the values `load`
   * would put; other fields may be absent. The same orders `load` would
   * put for the same selection. */
  rft_status (*list)(rft_adapter* adapter, const rft_selection* selection,
                     const rft_wave_sink* sink, rft_call* call);

  /* Opens the one transaction a paged wave is written in, for `run`
   * (`finished_at` may be absent: the final value comes with
   * `write_commit`). Takes the locks `write_back` would take. Every `load`
   * between `write_begin` and `write_commit`/`write_abort` runs inside this
   * transaction or sees the WMS as it does (a load on another connection,
   * which does not see what the parts wrote, is fine: a page never loads
   * the orders of another page). If `run->run_id` was written
   * before, the parts and the commit change nothing (as `write_back` of the
   * same run id twice). Fails if a wave is already open on this handle. */
  rft_status (*write_begin)(rft_adapter* adapter, const rft_writeback_run* run,
                            rft_call* call);

  /* Writes the check-run rows and findings of some orders of the open run,
   * with the same rules as `write_back`. An order appears in one part only;
   * its findings are in the same part as its row. Nothing becomes visible
   * before `write_commit`. After any failure since `write_begin`, every
   * later part and the commit fail, and nothing is written. A part may be
   * written in the background after the call returned (the rows must then
   * be copied first: they are valid during the call only); its failure
   * then fails the next part or the commit, and `write_abort` waits for
   * it. */
  rft_status (*write_part)(rft_adapter* adapter, const rft_check_run_row* rows,
                           size_t row_count, const rft_finding_row* findings,
                           size_t finding_count, rft_call* call);

  /* Commits the open run: everything its parts wrote becomes visible at
   * once, or, on any error, nothing does. `run` is the run of
   * `write_begin` with its final `finished_at`. The wave is closed
   * afterwards, committed or not. */
  rft_status (*write_commit)(rft_adapter* adapter, const rft_writeback_run* run,
                             rft_call* call);

  /* Rolls back everything written since `write_begin` and closes the wave.
   * Nothing open: does nothing. `close` of a handle with an open wave rolls
   * it back too. */
  rft_status (*write_abort)(rft_adapter* adapter, rft_call* call);
} rft_adapter_api;

/* Whether an adapter table provides the paged wave (ABI 1.2): all five
 * functions inside its `struct_size` and non-NULL. */
#define RFT_ADAPTER_PAGES(api)                                                \
  ((api)->struct_size >=                                                      \
       offsetof(rft_adapter_api, write_abort) + sizeof((api)->write_abort) && \
   (api)->list != NULL && (api)->write_begin != NULL &&                       \
   (api)->write_part != NULL && (api)->write_commit != NULL &&                \
   (api)->write_abort != NULL)

/* The entry symbol every adapter library exports.
 * The plugin passes the ABI version it was built against. The adapter stores
 * its table in *out and returns RFT_OK, or returns RFT_ERR_ABI with a
 * message naming both versions when it cannot serve that major version.
 * Runs nothing else: no connection, no static initialisation that can fail. */
typedef rft_status (*rft_adapter_entry_fn)(uint32_t plugin_abi_major,
                                           uint32_t plugin_abi_minor,
                                           const rft_adapter_api** out,
                                           char* error, size_t error_cap);

RFT_EXPORT rft_status rft_adapter_entry(uint32_t plugin_abi_major,
                                        uint32_t plugin_abi_minor,
                                        const rft_adapter_api** out,
                                        char* error, size_t error_cap);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* RFTGATE_ADAPTER_ABI_H_ */

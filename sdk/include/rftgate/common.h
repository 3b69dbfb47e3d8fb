/*
 * rftgate/common.h: value types shared by both C ABIs of rftgate.
 *
 * Plain C (C99 and C++). Nothing here allocates; nothing here owns memory.
 *
 * Conventions used by every rftgate header:
 *  - Every struct that crosses a library boundary starts with `uint32_t
 *    struct_size`, set by whoever fills it in (the caller for input structs,
 *    the callee for records it hands over, the caller for output structs it
 *    provides). Readers use only the fields that lie inside `struct_size`;
 *    fields are only ever appended, so old and new libraries interoperate.
 *  - Arrays of structs are walked by the `struct_size` of their elements,
 *    never by the reader's own `sizeof`.
 *  - Strings are UTF-8 with an explicit length (`rft_str`); they need not be
 *    NUL-terminated.
 *  - Quantities and factors are exact decimals (`rft_decimal`), never binary
 *    floating point.
 *  - Errors are a status code plus a message written into a caller-provided
 *    buffer (always NUL-terminated when its capacity is not zero). No C++
 *    exception ever crosses a boundary.
 */
#ifndef RFTGATE_COMMON_H_
#define RFTGATE_COMMON_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define RFT_EXPORT __declspec(dllexport)
#else
#define RFT_EXPORT __attribute__((visibility("default")))
#endif

/* Status codes returned by every fallible function of both ABIs. */
typedef enum rft_status {
  RFT_OK = 0,
  RFT_ERR_INVALID_ARGUMENT = 1, /* a parameter or record is malformed */
  RFT_ERR_ABI = 2,              /* ABI versions do not match */
  RFT_ERR_CONFIG = 3,           /* configuration or mapping refused */
  RFT_ERR_ADAPTER = 4,          /* the adapter failed or could not load */
  RFT_ERR_DATABASE = 5,         /* the database refused or was unreachable */
  RFT_ERR_TIMEOUT = 6,          /* a deadline passed */
  RFT_ERR_CANCELLED = 7,        /* the caller asked to stop */
  RFT_ERR_NOT_FOUND = 8,        /* an index or name does not exist */
  RFT_ERR_UNSUPPORTED = 9,      /* the operation is not provided */
  RFT_ERR_INTERNAL = 10         /* a bug or resource exhaustion */
} rft_status;

/* A borrowed UTF-8 string. `data == NULL` means absent (SQL NULL); a present
 * empty string has `data != NULL` and `len == 0`.
 * OWNERSHIP: never owned by the struct; the lifetime is stated where the
 * string is handed over. */
typedef struct rft_str {
  const char* data;
  size_t len;
} rft_str;

/* An exact decimal: value = mantissa * 10^(-scale), 0 <= scale <= 18.
 * `is_null != 0` means absent (SQL NULL); mantissa and scale are then
 * ignored. 0.3 is {3, 1, 0}; 12 is {12, 0, 0}; 0.083333 is {83333, 6, 0}. */
typedef struct rft_decimal {
  int64_t mantissa;
  int32_t scale;
  int32_t is_null;
} rft_decimal;

/* Kinds of `rft_time`. */
typedef enum rft_time_kind {
  RFT_TIME_NONE = 0, /* absent */
  RFT_TIME_DATE = 1, /* a calendar date: value = days since 1970-01-01 */
  RFT_TIME_UTC = 2,  /* an instant: value = microseconds since the Unix
                        epoch, UTC (timestamptz, Unix times) */
  RFT_TIME_LOCAL = 3 /* a wall-clock time at the site, without zone:
                        value = microseconds since 1970-01-01T00:00 in the
                        site's local time (timestamp without time zone) */
} rft_time_kind;

/* A date or time as the WMS stores it. The plugin turns it into a calendar
 * date in the site's configured time zone; adapters never convert zones. */
typedef struct rft_time {
  int64_t value;
  int32_t kind;     /* rft_time_kind */
  int32_t reserved; /* zero */
} rft_time;

/* Tri-state flag: a WMS may not know. */
typedef enum rft_flag {
  RFT_FLAG_UNKNOWN = -1,
  RFT_FLAG_NO = 0,
  RFT_FLAG_YES = 1
} rft_flag;

/* Log levels used by log callbacks. */
typedef enum rft_log_level {
  RFT_LOG_TRACE = 0,
  RFT_LOG_DEBUG = 1,
  RFT_LOG_INFO = 2,
  RFT_LOG_WARN = 3,
  RFT_LOG_ERROR = 4
} rft_log_level;

/* A log sink. `message` is UTF-8, `len` bytes, borrowed for the call.
 * Must be callable from any thread the caller uses. */
typedef void (*rft_log_fn)(void* ctx, int32_t level, const char* message,
                           size_t len);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* RFTGATE_COMMON_H_ */

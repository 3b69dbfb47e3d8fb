// SQL text helpers shared by the SOCI-based adapters: dialects, identifier
// validation and quoting, value conversion from the text form databases
// return, and masking of secrets in connection strings.
//
// Every function here is pure and thread-safe.
#ifndef RFTGATE_ADAPTERS_COMMON_SQL_TEXT_H_
#define RFTGATE_ADAPTERS_COMMON_SQL_TEXT_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "rftgate/common.h"

namespace rftgate::adapters {

enum class Dialect { kSqlite, kPostgres, kMysql };

// "sqlite3", "postgresql", "mysql".
std::string_view DialectName(Dialect dialect);

// True for a plain SQL identifier: a letter or '_' first, then letters,
// digits or '_', at most 63 bytes in all (PostgreSQL's limit).
bool IsPlainIdentifier(std::string_view name);

// True for a plain identifier or two joined by one '.' (schema.table).
bool IsQualifiedIdentifier(std::string_view name);

// Quotes a (possibly schema-qualified) identifier for the dialect: "x" on
// SQLite and PostgreSQL, `x` on MySQL/MariaDB. Throws adapter::Error with
// RFT_ERR_CONFIG when `name` is not a qualified identifier; `what` names
// where the identifier came from for the message.
std::string QuoteIdentifier(Dialect dialect, std::string_view name,
                            std::string_view what);

// Wraps an SQL expression so that the database returns its text form:
// exact for NUMERIC/DECIMAL, ISO 8601 for dates and timestamps.
std::string AsText(Dialect dialect, std::string_view expression);

// `sql` with each placeholder :p<N> (as SqlBuilder writes them) replaced by
// `replace(N)`. Quoted text and identifiers are left alone.
std::string RewritePlaceholders(
    std::string_view sql, const std::function<std::string(size_t)>& replace);

// Parses a decimal number in text form ("-12.500", "3", "1e-3", "0.1").
// Trailing fractional zeros are dropped (scale is minimal). Digits that do
// not fit a 64-bit mantissa or a scale of 18 are rounded half away from
// zero. Returns nullopt for text that is not a number (including "NaN" and
// infinities).
std::optional<rft_decimal> ParseDecimal(std::string_view text);

// Parses an integer; nullopt when the text is not one (a decimal with a
// zero fraction, such as "3.0", is accepted).
std::optional<int64_t> ParseInteger(std::string_view text);

// Parses yes/no text: 1/0, t/f, true/false, y/n, yes/no, on/off (any case).
// Returns RFT_FLAG_UNKNOWN for anything else.
int32_t ParseFlag(std::string_view text);

// How timestamps without an explicit offset are read.
enum class TimestampMode { kLocal, kUtc };

// Parses a date or time as databases print them:
//  - "YYYY-MM-DD" -> RFT_TIME_DATE;
//  - "YYYY-MM-DD[ T]HH:MM[:SS[.ffffff]]" -> RFT_TIME_LOCAL or RFT_TIME_UTC
//    per `mode`;
//  - the same followed by "Z" or "+HH[:MM]"/"-HH[:MM]" -> RFT_TIME_UTC,
//    converted by the offset.
// Returns nullopt for anything else.
std::optional<rft_time> ParseTime(std::string_view text, TimestampMode mode);

// Parses a time of day "HH:MM[:SS]" or a number of minutes into minutes
// after midnight; nullopt for anything else.
std::optional<int32_t> ParseMinuteOfDay(std::string_view text);

// Days since 1970-01-01 of a civil date, and back.
int64_t DaysFromCivil(int64_t year, unsigned month, unsigned day);
void CivilFromDays(int64_t days, int64_t* year, unsigned* month, unsigned* day);

// "YYYY-MM-DD" of a day number.
std::string FormatDate(int64_t days);

// "YYYY-MM-DD HH:MM:SS.ffffff" of microseconds since the Unix epoch (UTC,
// without an offset).
std::string FormatTimestampUtc(int64_t unix_us);

// Microseconds since the Unix epoch, now.
int64_t NowUnixUs();

// The connection string with the value of every password=/pwd= parameter
// and the password of a URI's user-info replaced by "***".
std::string MaskSecrets(std::string_view text);

}  // namespace rftgate::adapters

#endif  // RFTGATE_ADAPTERS_COMMON_SQL_TEXT_H_

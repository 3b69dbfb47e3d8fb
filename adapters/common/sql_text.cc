#include "adapters/common/sql_text.h"

#include <chrono>
#include <cstdio>
#include <string>

#include "rftgate/adapter.hpp"

namespace rftgate::adapters {
namespace {

bool IsAsciiAlpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; }

bool EqualsNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

// Reads exactly `n` digits at `pos`.
bool ReadDigits(std::string_view s, size_t pos, size_t n, int64_t* out) {
  if (pos + n > s.size()) return false;
  int64_t v = 0;
  for (size_t i = 0; i < n; ++i) {
    if (!IsDigit(s[pos + i])) return false;
    v = v * 10 + (s[pos + i] - '0');
  }
  *out = v;
  return true;
}

}  // namespace

std::string_view DialectName(Dialect dialect) {
  switch (dialect) {
    case Dialect::kSqlite:
      return "sqlite3";
    case Dialect::kPostgres:
      return "postgresql";
    case Dialect::kMysql:
      return "mysql";
  }
  return "unknown";
}

bool IsPlainIdentifier(std::string_view name) {
  if (name.empty() || name.size() > 63) return false;
  if (!IsAsciiAlpha(name[0]) && name[0] != '_') return false;
  for (char c : name) {
    if (!IsAsciiAlpha(c) && !IsDigit(c) && c != '_') return false;
  }
  return true;
}

bool IsQualifiedIdentifier(std::string_view name) {
  size_t dot = name.find('.');
  if (dot == std::string_view::npos) return IsPlainIdentifier(name);
  return IsPlainIdentifier(name.substr(0, dot)) &&
         IsPlainIdentifier(name.substr(dot + 1));
}

std::string QuoteIdentifier(Dialect dialect, std::string_view name,
                            std::string_view what) {
  if (!IsQualifiedIdentifier(name)) {
    throw adapter::Error(
        RFT_ERR_CONFIG,
        std::string(what) + ": '" + std::string(name) +
            "' is not a valid SQL identifier (letters, digits and '_', "
            "starting with a letter or '_', at most 63 characters, "
            "optionally schema.name)");
  }
  const char q = dialect == Dialect::kMysql ? '`' : '"';
  std::string out;
  size_t dot = name.find('.');
  auto quote_one = [&](std::string_view part) {
    out += q;
    out += part;
    out += q;
  };
  if (dot == std::string_view::npos) {
    quote_one(name);
  } else {
    quote_one(name.substr(0, dot));
    out += '.';
    quote_one(name.substr(dot + 1));
  }
  return out;
}

std::string AsText(Dialect dialect, std::string_view expression) {
  switch (dialect) {
    case Dialect::kSqlite:
      return "CAST(" + std::string(expression) + " AS TEXT)";
    case Dialect::kPostgres:
      return "CAST(" + std::string(expression) + " AS text)";
    case Dialect::kMysql:
      return "CAST(" + std::string(expression) + " AS CHAR)";
  }
  return std::string(expression);
}

std::optional<rft_decimal> ParseDecimal(std::string_view text) {
  std::string_view s = Trim(text);
  if (s.empty()) return std::nullopt;
  bool negative = false;
  size_t i = 0;
  if (s[0] == '+' || s[0] == '-') {
    negative = s[0] == '-';
    i = 1;
  }
  // Collect significant digits and the position of the decimal point.
  std::string digits;
  int64_t point_shift = 0;  // digits after the point
  bool seen_point = false;
  bool any_digit = false;
  for (; i < s.size(); ++i) {
    char c = s[i];
    if (IsDigit(c)) {
      any_digit = true;
      if (digits.empty() && c == '0') {
        if (seen_point) ++point_shift;
        continue;
      }
      digits += c;
      if (seen_point) ++point_shift;
    } else if (c == '.' && !seen_point) {
      seen_point = true;
    } else {
      break;
    }
  }
  if (!any_digit) return std::nullopt;
  int64_t exponent = 0;
  if (i < s.size()) {
    if (s[i] != 'e' && s[i] != 'E') return std::nullopt;
    ++i;
    bool exp_negative = false;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
      exp_negative = s[i] == '-';
      ++i;
    }
    if (i >= s.size()) return std::nullopt;
    for (; i < s.size(); ++i) {
      if (!IsDigit(s[i])) return std::nullopt;
      exponent = exponent * 10 + (s[i] - '0');
      if (exponent > 400) return std::nullopt;
    }
    if (exp_negative) exponent = -exponent;
  }
  if (digits.empty()) return rft_decimal{0, 0, 0};
  // value = digits * 10^(exponent - point_shift)
  int64_t scale = point_shift - exponent;
  // Drop trailing zeros while the scale is positive.
  while (scale > 0 && digits.size() > 1 && digits.back() == '0') {
    digits.pop_back();
    --scale;
  }
  // Negative scale: append zeros.
  while (scale < 0) {
    digits += '0';
    ++scale;
    if (digits.size() > 19) return std::nullopt;
  }
  // Round away digits that do not fit: at most 18 significant digits and a
  // scale of at most 18.
  int64_t drop = 0;
  if (scale > 18) drop = scale - 18;
  if (static_cast<int64_t>(digits.size()) - drop > 18) {
    drop = static_cast<int64_t>(digits.size()) - 18;
  }
  if (drop > scale) return std::nullopt;  // integer part too large
  bool round_up = false;
  if (drop > 0) {
    if (drop > static_cast<int64_t>(digits.size())) {
      digits = "0";
    } else {
      round_up = digits[digits.size() - drop] >= '5';
      digits.resize(digits.size() - drop);
      if (digits.empty()) digits = "0";
    }
    scale -= drop;
  }
  int64_t mantissa = 0;
  for (char c : digits) mantissa = mantissa * 10 + (c - '0');
  if (round_up) ++mantissa;
  while (scale > 0 && mantissa % 10 == 0 && mantissa != 0) {
    mantissa /= 10;
    --scale;
  }
  if (mantissa == 0) scale = 0;
  return rft_decimal{negative ? -mantissa : mantissa,
                     static_cast<int32_t>(scale), 0};
}

std::optional<int64_t> ParseInteger(std::string_view text) {
  auto d = ParseDecimal(text);
  if (!d) return std::nullopt;
  if (d->scale != 0) return std::nullopt;
  return d->mantissa;
}

int32_t ParseFlag(std::string_view text) {
  std::string_view s = Trim(text);
  for (std::string_view yes : {"1", "t", "true", "y", "yes", "on"}) {
    if (EqualsNoCase(s, yes)) return RFT_FLAG_YES;
  }
  for (std::string_view no : {"0", "f", "false", "n", "no", "off"}) {
    if (EqualsNoCase(s, no)) return RFT_FLAG_NO;
  }
  return RFT_FLAG_UNKNOWN;
}

int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void CivilFromDays(int64_t z, int64_t* year, unsigned* month, unsigned* day) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  *year = y + (m <= 2);
  *month = m;
  *day = d;
}

std::optional<rft_time> ParseTime(std::string_view text, TimestampMode mode) {
  std::string_view s = Trim(text);
  int64_t y, mo, d;
  if (s.size() < 10 || !ReadDigits(s, 0, 4, &y) || s[4] != '-' ||
      !ReadDigits(s, 5, 2, &mo) || s[7] != '-' || !ReadDigits(s, 8, 2, &d) ||
      mo < 1 || mo > 12 || d < 1 || d > 31) {
    return std::nullopt;
  }
  int64_t days =
      DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  if (s.size() == 10) return rft_time{days, RFT_TIME_DATE, 0};
  if (s[10] != ' ' && s[10] != 'T') return std::nullopt;
  int64_t h, mi, sec = 0, micros = 0;
  if (!ReadDigits(s, 11, 2, &h) || s.size() < 16 || s[13] != ':' ||
      !ReadDigits(s, 14, 2, &mi) || h > 24 || mi > 59) {
    return std::nullopt;
  }
  size_t pos = 16;
  if (pos < s.size() && s[pos] == ':') {
    if (!ReadDigits(s, pos + 1, 2, &sec) || sec > 60) return std::nullopt;
    pos += 3;
    if (pos < s.size() && s[pos] == '.') {
      ++pos;
      int64_t scale = 100000;
      while (pos < s.size() && IsDigit(s[pos])) {
        micros += (s[pos] - '0') * scale;
        scale /= 10;
        ++pos;
      }
    }
  }
  int64_t value =
      ((days * 24 + h) * 60 + mi) * 60 * 1000000 + sec * 1000000 + micros;
  if (pos == s.size()) {
    return rft_time{
        value, mode == TimestampMode::kUtc ? RFT_TIME_UTC : RFT_TIME_LOCAL, 0};
  }
  std::string_view zone = s.substr(pos);
  if (zone == "Z" || zone == "z" || zone == "UTC" || zone == " UTC") {
    return rft_time{value, RFT_TIME_UTC, 0};
  }
  if (zone[0] != '+' && zone[0] != '-') return std::nullopt;
  int64_t oh = 0, om = 0;
  if (!ReadDigits(zone, 1, 2, &oh)) return std::nullopt;
  size_t zp = 3;
  if (zp < zone.size() && zone[zp] == ':') ++zp;
  if (zp < zone.size()) {
    if (!ReadDigits(zone, zp, 2, &om)) return std::nullopt;
    zp += 2;
  }
  if (zp != zone.size()) return std::nullopt;
  int64_t offset_us = (oh * 60 + om) * 60 * 1000000;
  value -= zone[0] == '+' ? offset_us : -offset_us;
  return rft_time{value, RFT_TIME_UTC, 0};
}

std::optional<int32_t> ParseMinuteOfDay(std::string_view text) {
  std::string_view s = Trim(text);
  size_t colon = s.find(':');
  if (colon == std::string_view::npos) {
    auto n = ParseInteger(s);
    if (!n || *n < 0 || *n >= 24 * 60) return std::nullopt;
    return static_cast<int32_t>(*n);
  }
  int64_t h = 0, m = 0;
  if (colon == 1) {
    if (!ReadDigits(s, 0, 1, &h)) return std::nullopt;
  } else if (colon != 2 || !ReadDigits(s, 0, 2, &h)) {
    return std::nullopt;
  }
  if (!ReadDigits(s, colon + 1, 2, &m)) return std::nullopt;
  size_t rest = colon + 3;
  if (rest != s.size()) {
    int64_t sec = 0;
    if (s[rest] != ':' || !ReadDigits(s, rest + 1, 2, &sec) ||
        rest + 3 != s.size()) {
      return std::nullopt;
    }
  }
  if (h > 23 || m > 59) return std::nullopt;
  return static_cast<int32_t>(h * 60 + m);
}

std::string FormatDate(int64_t days) {
  int64_t y;
  unsigned m, d;
  CivilFromDays(days, &y, &m, &d);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02u", static_cast<long long>(y),
                m, d);
  return buf;
}

std::string FormatTimestampUtc(int64_t unix_us) {
  int64_t days = unix_us / 86400000000LL;
  int64_t rest = unix_us % 86400000000LL;
  if (rest < 0) {
    rest += 86400000000LL;
    --days;
  }
  int64_t secs = rest / 1000000;
  int64_t micros = rest % 1000000;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s %02lld:%02lld:%02lld.%06lld",
                FormatDate(days).c_str(), static_cast<long long>(secs / 3600),
                static_cast<long long>((secs / 60) % 60),
                static_cast<long long>(secs % 60),
                static_cast<long long>(micros));
  return buf;
}

int64_t NowUnixUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string MaskSecrets(std::string_view text) {
  std::string out(text);
  // key=value parameters.
  for (std::string_view key : {"password=", "pwd=", "pass="}) {
    size_t pos = 0;
    for (;;) {
      // Case-insensitive search.
      size_t found = std::string::npos;
      for (size_t i = pos; i + key.size() <= out.size(); ++i) {
        if (EqualsNoCase(std::string_view(out).substr(i, key.size()), key) &&
            (i == 0 || !IsAsciiAlpha(out[i - 1]))) {
          found = i;
          break;
        }
      }
      if (found == std::string::npos) break;
      size_t start = found + key.size();
      size_t end = start;
      if (end < out.size() && (out[end] == '\'' || out[end] == '"')) {
        char q = out[end];
        ++end;
        while (end < out.size() && out[end] != q) {
          if (out[end] == '\\') ++end;
          ++end;
        }
        if (end < out.size()) ++end;
      } else {
        while (end < out.size() && out[end] != ' ' && out[end] != ';' &&
               out[end] != '&') {
          ++end;
        }
      }
      out.replace(start, end - start, "***");
      pos = start + 3;
    }
  }
  // URI user-info: scheme://user:password@host
  size_t scheme = out.find("://");
  while (scheme != std::string::npos) {
    size_t start = scheme + 3;
    size_t at = out.find('@', start);
    size_t slash = out.find('/', start);
    if (at != std::string::npos && (slash == std::string::npos || at < slash)) {
      size_t colon = out.find(':', start);
      if (colon != std::string::npos && colon < at) {
        out.replace(colon + 1, at - colon - 1, "***");
      }
    }
    scheme = out.find("://", start);
  }
  return out;
}

std::string RewritePlaceholders(
    std::string_view sql, const std::function<std::string(size_t)>& replace) {
  std::string out;
  out.reserve(sql.size() + 16);
  char quote = 0;
  for (size_t i = 0; i < sql.size(); ++i) {
    const char c = sql[i];
    if (quote != 0) {
      if (c == quote) quote = 0;
      out += c;
      continue;
    }
    if (c == '\'' || c == '"') {
      quote = c;
      out += c;
      continue;
    }
    if (c == ':' && i + 2 < sql.size() && sql[i + 1] == 'p' &&
        sql[i + 2] >= '0' && sql[i + 2] <= '9') {
      size_t j = i + 2;
      size_t n = 0;
      while (j < sql.size() && sql[j] >= '0' && sql[j] <= '9') {
        n = n * 10 + static_cast<size_t>(sql[j] - '0');
        ++j;
      }
      out += replace(n);
      i = j - 1;
      continue;
    }
    out += c;
  }
  return out;
}

}  // namespace rftgate::adapters

// Calendar dates and local wall-clock times in a site's time zone, from the
// times adapters deliver. Uses the system tzdata through date/tz.h; never
// reads or changes the process's TZ.
#ifndef RFTGATE_PLUGIN_ENGINE_DATES_H_
#define RFTGATE_PLUGIN_ENGINE_DATES_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "plugin/engine/wave_data.h"

namespace date {
class time_zone;
}

namespace rftgate {

// A calendar date as days since 1970-01-01; kNoDay when absent.
inline constexpr int32_t kNoDay = INT32_MIN;
inline constexpr int64_t kMicrosPerDay = 86'400'000'000LL;

// The zone of an IANA name, or nullptr (with *error set) when unknown.
// Thread-safe; the zone lives as long as the process.
const date::time_zone* LocateZone(const std::string& name, std::string* error);

// Converts times to local time in one zone (nullptr = UTC). Caches the last
// UTC offset period, so it is cheap for times close together. Not
// thread-safe: one per thread.
class LocalClock {
 public:
  explicit LocalClock(const date::time_zone* zone) : zone_(zone) {}
  // Local wall-clock microseconds since 1970-01-01T00:00 local; DATE times
  // give local midnight. Absent times give INT64_MIN.
  int64_t LocalMicros(const TimeValue& t);
  int64_t LocalMicrosOfUtc(int64_t utc_us);
  int32_t Day(const TimeValue& t) {
    if (!t.present()) return kNoDay;
    if (t.kind == RFT_TIME_DATE) return static_cast<int32_t>(t.value);
    return DayOfLocal(LocalMicros(t));
  }
  static int32_t DayOfLocal(int64_t local_us) {
    int64_t d = local_us / kMicrosPerDay;
    if (local_us % kMicrosPerDay < 0) --d;
    return static_cast<int32_t>(d);
  }
  static int32_t MinuteOfLocal(int64_t local_us) {
    int64_t r = local_us % kMicrosPerDay;
    if (r < 0) r += kMicrosPerDay;
    return static_cast<int32_t>(r / 60'000'000LL);
  }

 private:
  const date::time_zone* zone_;
  int64_t begin_us_ = 1, end_us_ = 0;  // empty cache
  int64_t offset_us_ = 0;
};

// "2024-05-01"; "none" for kNoDay.
std::string FormatDay(int32_t day);
// "16:45" for a minute of the day.
std::string FormatMinute(int32_t minute);

}  // namespace rftgate

#endif  // RFTGATE_PLUGIN_ENGINE_DATES_H_

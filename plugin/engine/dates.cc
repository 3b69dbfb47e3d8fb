#include "plugin/engine/dates.h"

#include <chrono>

#include "date/date.h"
#include "date/tz.h"
#include "fmt/format.h"

namespace rftgate {

const date::time_zone* LocateZone(const std::string& name, std::string* error) {
  try {
    return date::locate_zone(name);
  } catch (const std::exception& e) {
    if (error != nullptr) {
      *error = fmt::format("unknown time zone '{}': {}", name, e.what());
    }
    return nullptr;
  }
}

int64_t LocalClock::LocalMicrosOfUtc(int64_t utc_us) {
  if (zone_ == nullptr) return utc_us;
  if (utc_us < begin_us_ || utc_us >= end_us_) {
    using namespace std::chrono;
    auto tp = sys_seconds(duration_cast<seconds>(microseconds(utc_us)));
    date::sys_info info = zone_->get_info(tp);
    begin_us_ =
        duration_cast<microseconds>(info.begin.time_since_epoch()).count();
    end_us_ = duration_cast<microseconds>(info.end.time_since_epoch()).count();
    offset_us_ = duration_cast<microseconds>(info.offset).count();
  }
  return utc_us + offset_us_;
}

int64_t LocalClock::LocalMicros(const TimeValue& t) {
  switch (t.kind) {
    case RFT_TIME_DATE:
      return t.value * kMicrosPerDay;
    case RFT_TIME_LOCAL:
      return t.value;
    case RFT_TIME_UTC:
      return LocalMicrosOfUtc(t.value);
    default:
      return INT64_MIN;
  }
}

std::string FormatDay(int32_t day) {
  if (day == kNoDay) return "none";
  date::year_month_day ymd{date::sys_days{date::days{day}}};
  return fmt::format("{:04}-{:02}-{:02}", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()),
                     static_cast<unsigned>(ymd.day()));
}

std::string FormatMinute(int32_t minute) {
  return fmt::format("{:02}:{:02}", minute / 60, minute % 60);
}

}  // namespace rftgate

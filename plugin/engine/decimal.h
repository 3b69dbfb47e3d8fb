// Exact quantities and ratios. Quantities are fixed-point integers of
// nano-units (1e-9 of a unit) so that WMS decimals such as 0.3 are held
// exactly; ratios between units are reduced fractions of 64-bit integers.
#ifndef RFTGATE_PLUGIN_ENGINE_DECIMAL_H_
#define RFTGATE_PLUGIN_ENGINE_DECIMAL_H_

#include <cstdint>
#include <string>

#include "rftgate/common.h"

namespace rftgate {

// 128-bit integers for exact intermediate products (a GCC/Clang extension).
__extension__ typedef __int128 Wide;
__extension__ typedef unsigned __int128 UWide;

// A quantity in nano-units: value / 1e9 units.
using Nano = int64_t;
inline constexpr int kNanoDigits = 9;
inline constexpr Nano kNanoPerUnit = 1'000'000'000;

enum class DecimalState : uint8_t {
  kOk = 0,
  kNull,        // absent
  kTooPrecise,  // has non-zero digits beyond 9 decimals
  kOutOfRange   // does not fit in nano-units (|value| >= ~9.2e9)
};

// Converts an ABI decimal (scale already checked to be 0..18) into
// nano-units. On kTooPrecise *out holds the value truncated toward zero.
DecimalState DecimalToNano(const rft_decimal& d, Nano* out);

// "12", "0.3", "-1.25": shortest exact decimal text of a nano quantity.
std::string FormatNano(Nano value);

// Text of an ABI decimal as given (for messages about unusable values).
std::string FormatDecimal(const rft_decimal& d);

// A positive ratio num/den, reduced. den == 0 means "no ratio".
struct Ratio {
  int64_t num = 1;
  int64_t den = 1;
  bool valid() const { return den > 0 && num > 0; }
};

// Reduces num/den (both > 0); returns an invalid ratio when either is <= 0.
Ratio MakeRatio(Wide num, Wide den);

// a * b and a / b, reduced; invalid when the result does not fit.
Ratio Multiply(Ratio a, Ratio b);
Ratio Divide(Ratio a, Ratio b);

// The ratio a unit stands for, from a factor as WMSs store it.
// kind == RFT_FACTOR_MULTIPLY: 1 unit = factor x reference.
// kind == RFT_FACTOR_DIVIDE: 1 reference = factor x unit, so 1 unit =
// 1/factor x reference; when 1/factor is not a short decimal the factor is
// taken as a rounded reciprocal (Odoo's 0.083333 for a dozen) and the
// simplest fraction whose reciprocal rounds to the stored factor at its own
// number of decimals is used (12/1 for 0.083333).
Ratio RatioFromFactor(const rft_decimal& factor, int32_t kind);

// value * ratio in nano-units. Returns false when the result is not a whole
// number of nano-units or does not fit (the conversion would round).
bool ApplyRatio(Nano value, Ratio ratio, Nano* out);

}  // namespace rftgate

#endif  // RFTGATE_PLUGIN_ENGINE_DECIMAL_H_

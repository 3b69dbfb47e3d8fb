#include "plugin/engine/decimal.h"

#include <cstdlib>
#include <limits>
#include <numeric>

#include "rftgate/adapter_abi.h"

namespace rftgate {
namespace {

constexpr int64_t kPow10[19] = {1,
                                10,
                                100,
                                1000,
                                10000,
                                100000,
                                1000000,
                                10000000,
                                100000000,
                                1000000000,
                                10000000000,
                                100000000000,
                                1000000000000,
                                10000000000000,
                                100000000000000,
                                1000000000000000,
                                10000000000000000,
                                100000000000000000,
                                1000000000000000000};

Wide Gcd(Wide a, Wide b) {
  if (a < 0) a = -a;
  if (b < 0) b = -b;
  while (b != 0) {
    Wide t = a % b;
    a = b;
    b = t;
  }
  return a;
}

std::string Digits(Wide v) {
  if (v == 0) return "0";
  std::string s;
  bool neg = v < 0;
  UWide u = neg ? -static_cast<UWide>(v) : v;
  while (u > 0) {
    s.insert(s.begin(), static_cast<char>('0' + static_cast<int>(u % 10)));
    u /= 10;
  }
  if (neg) s.insert(s.begin(), '-');
  return s;
}

std::string FormatScaled(Wide mantissa, int scale) {
  const bool neg = mantissa < 0;
  UWide u = neg ? -static_cast<UWide>(mantissa) : static_cast<UWide>(mantissa);
  // 39 digits at most, zero-padded to scale + 1 <= 19 digits.
  char buf[64];
  char* const end = buf + sizeof(buf);
  char* p = end;
  if (u <= std::numeric_limits<uint64_t>::max()) {
    uint64_t v = static_cast<uint64_t>(u);
    do {
      *--p = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v > 0);
  } else {
    do {
      *--p = static_cast<char>('0' + static_cast<int>(u % 10));
      u /= 10;
    } while (u > 0);
  }
  std::string out;
  out.reserve(static_cast<size_t>(end - p) + 3);
  if (neg) out.push_back('-');
  if (scale <= 0) {
    out.append(p, end);
    return out;
  }
  while (end - p <= scale) *--p = '0';
  char* const frac = end - scale;
  char* frac_end = end;
  while (frac_end > frac && frac_end[-1] == '0') --frac_end;
  out.append(p, frac);
  if (frac_end > frac) {
    out.push_back('.');
    out.append(frac, frac_end);
  }
  return out;
}

}  // namespace

DecimalState DecimalToNano(const rft_decimal& d, Nano* out) {
  *out = 0;
  if (d.is_null) return DecimalState::kNull;
  if (d.scale < 0 || d.scale > 18) return DecimalState::kOutOfRange;
  if (d.scale <= kNanoDigits) {
    Wide v = static_cast<Wide>(d.mantissa) * kPow10[kNanoDigits - d.scale];
    if (v > std::numeric_limits<int64_t>::max() ||
        v < std::numeric_limits<int64_t>::min()) {
      return DecimalState::kOutOfRange;
    }
    *out = static_cast<Nano>(v);
    return DecimalState::kOk;
  }
  int64_t div = kPow10[d.scale - kNanoDigits];
  *out = d.mantissa / div;
  return d.mantissa % div == 0 ? DecimalState::kOk : DecimalState::kTooPrecise;
}

std::string FormatNano(Nano value) { return FormatScaled(value, kNanoDigits); }

std::string FormatDecimal(const rft_decimal& d) {
  if (d.is_null) return "NULL";
  if (d.scale < 0 || d.scale > 18)
    return Digits(d.mantissa) + "e-" + std::to_string(d.scale);
  return FormatScaled(d.mantissa, d.scale);
}

Ratio MakeRatio(Wide num, Wide den) {
  if (num <= 0 || den <= 0) return Ratio{0, 0};
  Wide g = Gcd(num, den);
  num /= g;
  den /= g;
  if (num > std::numeric_limits<int64_t>::max() ||
      den > std::numeric_limits<int64_t>::max()) {
    return Ratio{0, 0};
  }
  return Ratio{static_cast<int64_t>(num), static_cast<int64_t>(den)};
}

Ratio Multiply(Ratio a, Ratio b) {
  if (!a.valid() || !b.valid()) return Ratio{0, 0};
  return MakeRatio(static_cast<Wide>(a.num) * b.num,
                   static_cast<Wide>(a.den) * b.den);
}

Ratio Divide(Ratio a, Ratio b) {
  if (!a.valid() || !b.valid()) return Ratio{0, 0};
  return MakeRatio(static_cast<Wide>(a.num) * b.den,
                   static_cast<Wide>(a.den) * b.num);
}

Ratio RatioFromFactor(const rft_decimal& factor, int32_t kind) {
  if (factor.is_null || factor.mantissa <= 0 || factor.scale < 0 ||
      factor.scale > 18) {
    return Ratio{0, 0};
  }
  const int64_t m = factor.mantissa;
  const int64_t p = kPow10[factor.scale];
  if (kind != RFT_FACTOR_DIVIDE) return MakeRatio(m, p);
  // 1 unit = p/m reference, exactly; but WMSs store p/m rounded, so the
  // simplest fraction that rounds to the stored factor wins.
  Ratio exact = MakeRatio(p, m);
  // Rounded reciprocal: find the simplest q/r (r <= 1000) whose reciprocal
  // r/q rounds to m/p at scale p, i.e. |m*q - p*r| <= q/2.
  for (int64_t r = 1; r <= 1000; ++r) {
    Wide q = (static_cast<Wide>(p) * r + m / 2) / m;
    if (q <= 0) continue;
    Wide diff = static_cast<Wide>(m) * q - static_cast<Wide>(p) * r;
    if (diff < 0) diff = -diff;
    if (2 * diff <= q) return MakeRatio(q, r);
  }
  return exact;
}

bool ApplyRatio(Nano value, Ratio ratio, Nano* out) {
  if (!ratio.valid()) return false;
  Wide v = static_cast<Wide>(value) * ratio.num;
  if (v % ratio.den != 0) return false;
  v /= ratio.den;
  if (v > std::numeric_limits<int64_t>::max() ||
      v < std::numeric_limits<int64_t>::min()) {
    return false;
  }
  *out = static_cast<Nano>(v);
  return true;
}

}  // namespace rftgate

// The pseudo-random numbers of the data generators (the demo warehouse, the
// end-to-end benchmark's warehouse): splitmix64, small, fast and the same on
// every platform, so that a seed always gives the same data.
#ifndef RFTGATE_DEMO_GENERATOR_RANDOM_H_
#define RFTGATE_DEMO_GENERATOR_RANDOM_H_

#include <cstdint>
#include <utility>
#include <vector>

namespace rftgate::demo {

class Random {
 public:
  explicit Random(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [lo, hi].
  int64_t Int(int64_t lo, int64_t hi) {
    return lo +
           static_cast<int64_t>(Next() % static_cast<uint64_t>(hi - lo + 1));
  }
  bool Chance(double p) {
    return static_cast<double>(Next() % 1000000) < p * 1000000.0;
  }
  template <typename T>
  const T& Pick(const std::vector<T>& v) {
    return v[Next() % v.size()];
  }
  template <typename T>
  void Shuffle(std::vector<T>& v) {
    for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[Next() % i]);
  }

 private:
  uint64_t state_;
};

}  // namespace rftgate::demo

#endif  // RFTGATE_DEMO_GENERATOR_RANDOM_H_

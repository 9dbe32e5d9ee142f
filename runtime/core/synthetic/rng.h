// The core's own small PRNG, so that synthetic data is bit-identical across
// compilers and standard libraries (std:: distributions are not specified
// bit-exactly). splitmix64 seeds a xoshiro256** generator.
#pragma once

#include <cmath>
#include <cstdint>

namespace moert {
namespace synthetic {

inline uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

class Rng {
 public:
  // `stream` separates independent sequences drawn from one user seed
  // (e.g. w13 and w2 of the same weights), so adding a tensor later does not
  // shift the values of the others.
  explicit Rng(uint64_t seed, uint64_t stream = 0) {
    uint64_t sm = seed ^ (stream * 0xD1B54A32D192ED03ull);
    for (auto& s : s_) s = splitmix64(sm);
  }
  uint64_t next() {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0); }
  // Uniform in (0, 1): safe for log().
  double uniform_open() { return (static_cast<double>(next() >> 11) + 0.5) * (1.0 / 9007199254740992.0); }
  // Uniform in [-sqrt(3), sqrt(3)): mean 0, variance 1, bounded (no outliers
  // that would saturate fp8/fp4 encodings in tests).
  float unit() { return static_cast<float>((uniform() * 2.0 - 1.0) * 1.7320508075688772); }
  // Standard normal (Box-Muller, one value per call).
  double normal() {
    const double u1 = uniform_open(), u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  // Standard Gumbel(0, 1).
  double gumbel() { return -std::log(-std::log(uniform_open())); }
  // Uniform integer in [0, n).
  uint64_t below(uint64_t n) { return n == 0 ? 0 : next() % n; }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

}  // namespace synthetic
}  // namespace moert

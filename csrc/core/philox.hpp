// Philox4x32-10: the counter-based bijection of Salmon, Moraes, Dror & Shaw,
// "Parallel Random Numbers: As Easy as 1, 2, 3" (SC'11), exactly as Random123's philox.h.
// Bits only: (counter, key) -> 4 words. Values and scheduling live elsewhere.
#pragma once

#include <array>
#include <cstdint>

namespace weightinit {

constexpr uint32_t kPhiloxM0 = 0xD2511F53u;  // round multipliers (SC'11, table 2)
constexpr uint32_t kPhiloxM1 = 0xCD9E8D57u;
constexpr uint32_t kPhiloxW0 = 0x9E3779B9u;  // key schedule: golden ratio
constexpr uint32_t kPhiloxW1 = 0xBB67AE85u;  // key schedule: sqrt(3) - 1
constexpr int kPhiloxRounds = 10;

using Block = std::array<uint32_t, 4>;

inline Block philox4x32_10(Block ctr, uint32_t k0, uint32_t k1) {
  for (int round = 0; round < kPhiloxRounds; ++round) {
    if (round > 0) {
      k0 += kPhiloxW0;
      k1 += kPhiloxW1;
    }
    const uint64_t p0 = uint64_t(kPhiloxM0) * ctr[0];
    const uint64_t p1 = uint64_t(kPhiloxM1) * ctr[2];
    ctr = {uint32_t(p1 >> 32) ^ ctr[1] ^ k0, uint32_t(p1), uint32_t(p0 >> 32) ^ ctr[3] ^ k1,
           uint32_t(p0)};
  }
  return ctr;
}

// The version of the stream format below (what value lands at which index); checkpoints
// record it, and any change of the bits is a new version.
constexpr int kStreamFormat = 1;

// Stream format v1: key = (seed low, seed high); block j of stream s has counter
// (j low, j high, s low, s high). Block j yields words 4j..4j+3 of the stream.
struct StreamKey {
  uint32_t k0, k1, s0, s1;
  StreamKey(uint64_t seed, uint64_t stream)
      : k0(uint32_t(seed)), k1(uint32_t(seed >> 32)), s0(uint32_t(stream)),
        s1(uint32_t(stream >> 32)) {}
  Block block(uint64_t j) const {
    return philox4x32_10({uint32_t(j), uint32_t(j >> 32), s0, s1}, k0, k1);
  }
};

}  // namespace weightinit

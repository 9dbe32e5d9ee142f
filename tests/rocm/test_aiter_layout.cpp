// aiter's pre-shuffled layouts: round trips, agreement with the torch
// view/permute recipes (written out as plain loops, independently of the
// index functions), the a16w4 gate/up interleave and the gpt-oss checkpoint
// mapping.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "aiter_layout.h"

using namespace moert_hip;

namespace {
std::vector<uint8_t> random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = static_cast<uint8_t>(rng());
  return v;
}

// torch: x.view(-1, N/16, 16, Kb/32, 2, 16).permute(0,1,3,4,2,5).contiguous()
std::vector<uint8_t> torch_shuffle_weight(const std::vector<uint8_t>& x, int64_t B, int64_t N, int64_t Kb) {
  std::vector<uint8_t> out;
  out.reserve(x.size());
  for (int64_t b = 0; b < B; ++b)
    for (int64_t n0 = 0; n0 < N / 16; ++n0)
      for (int64_t k0 = 0; k0 < Kb / 32; ++k0)
        for (int64_t k1 = 0; k1 < 2; ++k1)
          for (int64_t n1 = 0; n1 < 16; ++n1)
            for (int64_t k2 = 0; k2 < 16; ++k2)
              out.push_back(x[(b * N + n0 * 16 + n1) * Kb + k0 * 32 + k1 * 16 + k2]);
  return out;
}

// torch: pad to (256, 8), view(sm/32, 2, 16, sn/8, 2, 4).permute(0,3,5,2,4,1)
std::vector<uint8_t> torch_e8m0_shuffle(const std::vector<uint8_t>& s, int64_t m, int64_t n) {
  const int64_t sm = (m + 255) / 256 * 256, sn = (n + 7) / 8 * 8;
  std::vector<uint8_t> pad(sm * sn, 0), out;
  for (int64_t r = 0; r < m; ++r)
    for (int64_t c = 0; c < n; ++c) pad[r * sn + c] = s[r * n + c];
  for (int64_t a = 0; a < sm / 32; ++a)
    for (int64_t d = 0; d < sn / 8; ++d)
      for (int64_t f = 0; f < 4; ++f)
        for (int64_t cc = 0; cc < 16; ++cc)
          for (int64_t e = 0; e < 2; ++e)
            for (int64_t bb = 0; bb < 2; ++bb)
              out.push_back(pad[(a * 32 + bb * 16 + cc) * sn + d * 8 + e * 4 + f]);
  return out;
}
}  // namespace

TEST(AiterLayout, ShuffleWeightMatchesTorchRecipeAndRoundTrips) {
  const int64_t B = 3, N = 48, Kb = 96;  // K = 192 fp4 values
  auto w = random_bytes(B * N * Kb, 1);
  std::vector<uint8_t> sh(w.size()), back(w.size());
  shuffle_weight_16x16(w.data(), sh.data(), B, N, Kb);
  EXPECT_EQ(sh, torch_shuffle_weight(w, B, N, Kb));
  EXPECT_NE(sh, w);
  unshuffle_weight_16x16(sh.data(), back.data(), B, N, Kb);
  EXPECT_EQ(back, w);
}

TEST(AiterLayout, E8m0ShuffleMatchesTorchRecipePadsWithZeroAndRoundTrips) {
  for (auto [m, n] : {std::pair<int64_t, int64_t>{40, 5}, {256, 8}, {300, 90}}) {
    auto s = random_bytes(m * n, 2);
    std::vector<uint8_t> sh(scale_padded_rows(m) * scale_padded_cols(n)), back(m * n);
    e8m0_shuffle(s.data(), sh.data(), m, n);
    EXPECT_EQ(sh, torch_e8m0_shuffle(s, m, n)) << m << "x" << n;
    e8m0_unshuffle(sh.data(), back.data(), m, n);
    EXPECT_EQ(back, s) << m << "x" << n;
  }
}

TEST(AiterLayout, A16W4GateUpInterleavePer16RowBlock) {
  const int64_t E = 2, I = 32, rb = 3;  // 2I = 64 rows of 3 bytes
  auto concat = random_bytes(E * 2 * I * rb, 3);
  std::vector<uint8_t> blk(concat.size()), back(concat.size());
  convert_gate_up_rows(concat.data(), blk.data(), E, I, rb, kRowsConcat, kRowsBlock16);
  // Rows of expert 1 in block16 order: gate 0..15, up 0..15, gate 16..31, up 16..31.
  const int64_t expect_src[64 / 16] = {0, I, 16, I + 16};
  for (int64_t blkno = 0; blkno < 4; ++blkno)
    for (int64_t r = 0; r < 16; ++r)
      for (int64_t i = 0; i < rb; ++i)
        EXPECT_EQ(blk[((1 * 2 * I) + blkno * 16 + r) * rb + i], concat[((1 * 2 * I) + expect_src[blkno] + r) * rb + i]);
  convert_gate_up_rows(blk.data(), back.data(), E, I, rb, kRowsBlock16, kRowsConcat);
  EXPECT_EQ(back, concat);
}

// gpt-oss: gate_up_proj_blocks [E, 2I, H/32, 16] u8 (gate/up rows interleaved),
// gate_up_proj_scales [E, 2I, H/32]. As bytes these are moert's w13 [E, 2I, H]
// fp4 and w13_scale [E, 2I, H/32] with gate_up_layout interleaved. Mapped into
// aiter's a16w4 layout (de-interleave, 16-row gate/up blocks, shuffle_weight,
// e8m0_shuffle) and back.
TEST(AiterLayout, GptOssCheckpointToAiterA16W4AndBack) {
  const int64_t E = 2, I = 64, H = 128, R = 2 * I, Kb = H / 2, G = H / 32;
  auto blocks = random_bytes(E * R * G * 16, 4);
  auto scales = random_bytes(E * R * G, 5);
  // -> aiter a16w4
  std::vector<uint8_t> wrow(blocks.size()), w_aiter(blocks.size()), srow(scales.size());
  convert_gate_up_rows(blocks.data(), wrow.data(), E, I, Kb, kRowsInterleaved, kRowsBlock16);
  shuffle_weight_16x16(wrow.data(), w_aiter.data(), E, R, Kb);
  convert_gate_up_rows(scales.data(), srow.data(), E, I, G, kRowsInterleaved, kRowsBlock16);
  std::vector<uint8_t> s_aiter(scale_padded_rows(E * R) * scale_padded_cols(G));
  e8m0_shuffle(srow.data(), s_aiter.data(), E * R, G);
  // The index functions the kernel uses find the same nibble and scale for every (gate|up, j, k).
  for (int64_t e = 0; e < E; ++e)
    for (int64_t j = 0; j < I; j += 7)
      for (int64_t k = 0; k < H; k += 5)
        for (int half = 0; half < 2; ++half) {
          const int64_t ck_row = half ? 2 * j + 1 : 2 * j;  // gpt-oss interleaved
          const int64_t ai_row = half ? up_row(j, I, kRowsBlock16) : gate_row(j, I, kRowsBlock16);
          const uint8_t ck = blocks[((e * R + ck_row) * G + k / 32) * 16 + (k % 32) / 2];
          const uint8_t ai = w_aiter[shuffled_weight_offset(e, ai_row, k / 2, R, Kb)];
          ASSERT_EQ(ck, ai);
          ASSERT_EQ(scales[(e * R + ck_row) * G + k / 32],
                    s_aiter[shuffled_scale_offset(e * R + ai_row, k / 32, scale_padded_cols(G))]);
        }
  // <- back to the checkpoint
  std::vector<uint8_t> w_back(blocks.size()), s_back(scales.size());
  unshuffle_weight_16x16(w_aiter.data(), wrow.data(), E, R, Kb);
  convert_gate_up_rows(wrow.data(), w_back.data(), E, I, Kb, kRowsBlock16, kRowsInterleaved);
  e8m0_unshuffle(s_aiter.data(), srow.data(), E * R, G);
  convert_gate_up_rows(srow.data(), s_back.data(), E, I, G, kRowsBlock16, kRowsInterleaved);
  EXPECT_EQ(w_back, blocks);
  EXPECT_EQ(s_back, scales);
}

TEST(AiterLayout, ExpertMaskFromMap) {
  std::vector<uint8_t> mask;
  EXPECT_EQ(expert_mask_from_map({-1, 0, -1, 1, 2, -1}, 3, &mask), "");
  EXPECT_EQ(mask, (std::vector<uint8_t>{0, 1, 0, 1, 1, 0}));
  std::string why = expert_mask_from_map({1, 0}, 2, &mask);
  EXPECT_NE(why.find("expert_map[0] = 1, expected local index 0"), std::string::npos) << why;
  why = expert_mask_from_map({0, -1}, 2, &mask);
  EXPECT_NE(why.find("1 local experts, num_local_experts is 2"), std::string::npos) << why;
}

// Repack of bf16 expert weights [N, K] into the panel16 layout (see
// bf16_panel.h), done once in set_weights. Plain x86-64.
#include "bf16_panel.h"

namespace moert_cpu {

void pack_panel16(const uint16_t* w, int64_t N, int64_t K, int64_t p0, int64_t p1, uint16_t* out) {
  for (int64_t p = p0; p < p1; ++p) {
    uint16_t* o = out + p * K * kPanelCols;
    const int64_t n0 = p * kPanelCols;
    // Lane j of row k: column n0 + j (low half), column n0 + 8 + j (high half).
    for (int64_t k = 0; k < K; ++k)
      for (int64_t j = 0; j < 8; ++j) {
        const int64_t lo = n0 + j, hi = n0 + 8 + j;
        o[k * kPanelCols + 2 * j] = lo < N ? w[lo * K + k] : 0;
        o[k * kPanelCols + 2 * j + 1] = hi < N ? w[hi * K + k] : 0;
      }
  }
}

}  // namespace moert_cpu

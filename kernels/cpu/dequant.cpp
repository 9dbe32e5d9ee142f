#include "dequant.h"

#include "scalar_convert.h"

namespace moert_cpu {

void dequant_rows(const RowMajorWeights& w, int64_t n_total, int64_t n0, int64_t rows, float* out) {
  const int64_t K = w.k;
  for (int64_t r = 0; r < rows; ++r) {
    int64_t n = n0 + r;
    float* o = out + r * K;
    if (n >= n_total) {
      for (int64_t k = 0; k < K; ++k) o[k] = 0.f;
      continue;
    }
    switch (w.code) {
      case kWeightF32: {
        const float* src = static_cast<const float*>(w.data) + n * K;
        for (int64_t k = 0; k < K; ++k) o[k] = src[k];
        break;
      }
      case kWeightBF16: {
        const uint16_t* src = static_cast<const uint16_t*>(w.data) + n * K;
        for (int64_t k = 0; k < K; ++k) o[k] = moert_cpu_bf16_to_f32(src[k]);
        break;
      }
      case kWeightFP8: {
        const uint8_t* src = static_cast<const uint8_t*>(w.data) + n * K;
        const float* s = w.fp8_scale + (n / w.scale_rows) * w.scale_row_stride;
        for (int64_t k = 0; k < K; ++k) o[k] = moert_cpu_e4m3_to_f32(src[k]) * s[k / w.scale_k_block];
        break;
      }
      default: {  // kWeightMXFP4
        const uint8_t* src = static_cast<const uint8_t*>(w.data) + n * (K / 2);
        const uint8_t* s = w.mx_scale + n * (K / 32);
        for (int64_t k = 0; k < K; ++k) {
          uint8_t byte = src[k / 2];
          uint8_t nib = (k & 1) ? (byte >> 4) : (byte & 0xf);
          o[k] = moert_cpu_e2m1_to_f32(nib) * moert_cpu_e8m0_to_f32(s[k / 32]);
        }
      }
    }
  }
}

}  // namespace moert_cpu

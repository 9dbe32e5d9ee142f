// make_random_weights: seeded weights in every stored format the ABI allows.
//
// Each expert matrix is drawn in f32 as unit-variance uniform noise times
// 1/sqrt(fan_in) (so that h = w13 x and y = w2 a stay O(1)), then encoded:
// cast for f32/bf16/f16, scaled e4m3 for the fp8 schemes (scale = amax/448
// per tensor, row or 128x128 block), e2m1 + e8m0 per 32 along K for MXFP4.
// Every expert has its own random stream keyed by its global physical id, so
// an EP rank's local experts equal the same experts of the whole layer.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "moert/error.h"
#include "moert/quant.h"
#include "moert/synthetic.h"
#include "moert/weight_layout.h"
#include "synthetic/parallel.h"
#include "synthetic/rng.h"

namespace moert {

namespace {

// Stream ids: one per tensor kind, times the expert id.
enum Stream : uint64_t { kW13 = 1, kW2 = 2, kW13Bias = 3, kW2Bias = 4, kScoreBias = 5 };

uint64_t stream_of(Stream kind, int64_t expert) {
  return (static_cast<uint64_t>(kind) << 32) ^ static_cast<uint64_t>(expert);
}

// Global physical id of each local expert (identity without an expert map).
std::vector<int64_t> local_to_global(const LayerSpec& layer, int64_t num_local) {
  std::vector<int64_t> ids(static_cast<size_t>(num_local), -1);
  if (layer.expert_map.empty()) {
    for (int64_t j = 0; j < num_local; ++j) ids[j] = j;
    return ids;
  }
  for (size_t g = 0; g < layer.expert_map.size(); ++g) {
    const int32_t j = layer.expert_map[g];
    if (j < 0) continue;
    if (j >= num_local)
      throw Error("layer '" + layer.name + "': expert_map[" + std::to_string(g) + "] = " +
                  std::to_string(j) + " is not below num_local_experts = " + std::to_string(num_local));
    ids[j] = static_cast<int64_t>(g);
  }
  for (int64_t j = 0; j < num_local; ++j)
    if (ids[j] < 0)
      throw Error("layer '" + layer.name + "': local expert " + std::to_string(j) +
                  " has no global id in expert_map (num_local_experts = " + std::to_string(num_local) + ")");
  return ids;
}

void fill_unit(synthetic::Rng& rng, float scale, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = rng.unit() * scale;
}

float fp8_scale_for(float amax) { return amax > 0.f ? amax / kFp8E4M3Max : 1.f; }

// The smallest power-of-two exponent e with amax / 2^e <= 6 (e2m1's largest
// value), so no element saturates.
int mxfp4_exponent(float amax) {
  if (!(amax > 0.f)) return -127;
  int e = static_cast<int>(std::ceil(std::log2(amax / 6.0f)));
  while (e < 127 && amax / std::ldexp(1.0f, e) > 6.0f) ++e;
  while (e > -127 && amax / std::ldexp(1.0f, e - 1) <= 6.0f) --e;
  return std::max(-127, std::min(127, e));
}

// Encodes one expert matrix m [rows, cols] (f32) into the layer's format.
// `expert` indexes the local expert inside the destination tensors.
void encode_matrix(const LayerSpec& layer, const std::vector<float>& m, int64_t rows, int64_t cols,
                   int64_t expert, HostTensor& w, HostTensor& scale) {
  const int64_t n = rows * cols;
  switch (layer.desc.quant_scheme) {
    case MOERT_QUANT_NONE: {
      const size_t esize = w.dtype().bits / 8;
      convert_from_f32(m.data(), n, w.dtype(), w.as<unsigned char>() + expert * n * esize);
      return;
    }
    case MOERT_QUANT_FP8_PER_TENSOR: {
      float amax = 0.f;
      for (float v : m) amax = std::max(amax, std::fabs(v));
      const float s = fp8_scale_for(amax);
      uint8_t* q = w.as<uint8_t>() + expert * n;
      for (int64_t i = 0; i < n; ++i) q[i] = f32_to_fp8_e4m3(m[i] / s);
      scale.as<float>()[expert] = s;
      return;
    }
    case MOERT_QUANT_FP8_PER_CHANNEL: {
      uint8_t* q = w.as<uint8_t>() + expert * n;
      for (int64_t r = 0; r < rows; ++r) {
        float amax = 0.f;
        for (int64_t c = 0; c < cols; ++c) amax = std::max(amax, std::fabs(m[r * cols + c]));
        const float s = fp8_scale_for(amax);
        for (int64_t c = 0; c < cols; ++c) q[r * cols + c] = f32_to_fp8_e4m3(m[r * cols + c] / s);
        scale.as<float>()[expert * rows + r] = s;
      }
      return;
    }
    case MOERT_QUANT_FP8_BLOCK_128: {
      uint8_t* q = w.as<uint8_t>() + expert * n;
      const int64_t br = (rows + 127) / 128, bc = (cols + 127) / 128;
      float* sc = scale.as<float>() + expert * br * bc;
      for (int64_t bi = 0; bi < br; ++bi)
        for (int64_t bj = 0; bj < bc; ++bj) {
          const int64_t r0 = bi * 128, r1 = std::min(rows, r0 + 128);
          const int64_t c0 = bj * 128, c1 = std::min(cols, c0 + 128);
          float amax = 0.f;
          for (int64_t r = r0; r < r1; ++r)
            for (int64_t c = c0; c < c1; ++c) amax = std::max(amax, std::fabs(m[r * cols + c]));
          const float s = fp8_scale_for(amax);
          for (int64_t r = r0; r < r1; ++r)
            for (int64_t c = c0; c < c1; ++c) q[r * cols + c] = f32_to_fp8_e4m3(m[r * cols + c] / s);
          sc[bi * bc + bj] = s;
        }
      return;
    }
    case MOERT_QUANT_MXFP4: {
      uint8_t* packed = w.as<uint8_t>() + expert * (n / 2);
      uint8_t* sc = scale.as<uint8_t>() + expert * (n / 32);
      uint8_t nibbles[32];
      for (int64_t b = 0; b < n / 32; ++b) {  // cols % 32 == 0: blocks never straddle rows
        const float* v = m.data() + b * 32;
        float amax = 0.f;
        for (int k = 0; k < 32; ++k) amax = std::max(amax, std::fabs(v[k]));
        const int e = mxfp4_exponent(amax);
        const float inv = std::ldexp(1.0f, -e);
        for (int k = 0; k < 32; ++k) nibbles[k] = f32_to_e2m1(v[k] * inv);
        mxfp4_pack(nibbles, 32, packed + b * 16);
        sc[b] = e8m0_from_exponent(e);
      }
      return;
    }
    default:
      throw Error("make_random_weights: unknown quant scheme " + std::to_string(layer.desc.quant_scheme));
  }
}

}  // namespace

WeightSet make_random_weights(const LayerSpec& layer, uint64_t seed) {
  const auto specs = weight_tensor_specs(layer);  // validates the layer
  WeightSet ws;
  for (const auto& s : specs) ws.*(s.field) = HostTensor(s.dtype, s.shape);

  const auto& d = layer.desc;
  const int64_t el = local_expert_count(layer);
  const int64_t r = layer.w13_rows(), h = d.hidden_size, i = d.intermediate_size;
  const auto global = local_to_global(layer, el);
  const float w13_gain = 1.0f / std::sqrt(static_cast<float>(h));
  const float w2_gain = 1.0f / std::sqrt(static_cast<float>(i));

  synthetic::parallel_for(el, [&](int64_t j) {
    std::vector<float> m;
    synthetic::Rng rng13(seed, stream_of(kW13, global[j]));
    m.resize(static_cast<size_t>(r * h));
    fill_unit(rng13, w13_gain, m.data(), r * h);
    encode_matrix(layer, m, r, h, j, ws.w13, ws.w13_scale);

    synthetic::Rng rng2(seed, stream_of(kW2, global[j]));
    m.resize(static_cast<size_t>(h * i));
    fill_unit(rng2, w2_gain, m.data(), h * i);
    encode_matrix(layer, m, h, i, j, ws.w2, ws.w2_scale);

    if (d.has_bias) {
      synthetic::Rng rb13(seed, stream_of(kW13Bias, global[j]));
      fill_unit(rb13, 0.1f, ws.w13_bias.as<float>() + j * r, r);
      synthetic::Rng rb2(seed, stream_of(kW2Bias, global[j]));
      fill_unit(rb2, 0.1f, ws.w2_bias.as<float>() + j * h, h);
    }
  });

  if (d.has_score_correction_bias) {
    synthetic::Rng rng(seed, stream_of(kScoreBias, 0));
    fill_unit(rng, 0.5f, ws.score_correction_bias.as<float>(), d.num_experts);
  }
  return ws;
}

}  // namespace moert

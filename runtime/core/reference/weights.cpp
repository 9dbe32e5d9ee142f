// ReferenceWeights: copy + validation of moert_expert_weights, and the exact
// row decoders for every quant scheme.
#include <array>
#include <cmath>
#include <cstring>
#include <string>

#include "moert/error.h"
#include "moert/host_tensor.h"
#include "moert/layer_spec.h"
#include "moert/moert_plugin.hpp"
#include "moert/quant.h"
#include "moert/reference.h"
#include "reference/tensor_checks.h"

namespace moert {

using checks::dim;

namespace {
// All 256 e4m3fn values: a table lookup instead of a decode per weight.
const float* fp8_table() {
  static const std::array<float, 256> table = [] {
    std::array<float, 256> a{};
    for (int i = 0; i < 256; ++i) a[static_cast<size_t>(i)] = fp8_e4m3_to_f32(static_cast<uint8_t>(i));
    return a;
  }();
  return table.data();
}
}  // namespace

void QuantMatrix::dequantize_row(int64_t e, int64_t row, float* out) const {
  const int64_t idx_row = e * rows + row;
  switch (scheme) {
    case MOERT_QUANT_NONE: {
      const size_t esz = dtype.bits / 8;
      convert_to_f32(data.data() + static_cast<size_t>(idx_row * cols) * esz, dtype, cols, out);
      break;
    }
    case MOERT_QUANT_FP8_PER_TENSOR:
    case MOERT_QUANT_FP8_PER_CHANNEL: {
      const uint8_t* q = data.data() + idx_row * cols;
      const float s = scheme == MOERT_QUANT_FP8_PER_TENSOR ? scales[static_cast<size_t>(e)]
                                                          : scales[static_cast<size_t>(idx_row)];
      const float* lut = fp8_table();
      for (int64_t c = 0; c < cols; ++c) out[c] = lut[q[c]] * s;
      break;
    }
    case MOERT_QUANT_FP8_BLOCK_128: {
      const uint8_t* q = data.data() + idx_row * cols;
      const int64_t rb = (rows + 127) / 128, cb = (cols + 127) / 128;
      const float* s = scales.data() + (e * rb + row / 128) * cb;
      const float* lut = fp8_table();
      for (int64_t c = 0; c < cols; ++c) out[c] = lut[q[c]] * s[c / 128];
      break;
    }
    case MOERT_QUANT_MXFP4: {
      mxfp4_dequantize(data.data() + idx_row * (cols / 2), scales_e8m0.data() + idx_row * (cols / 32), cols, out);
      break;
    }
    default:
      throw Error(MOERT_STATUS_INTERNAL, "dequantize_row: unknown quant scheme " + std::to_string(scheme));
  }
}

namespace {

std::vector<uint8_t> copy_bytes(const moert_tensor& t) {
  const size_t n = plugin::nbytes(t);
  std::vector<uint8_t> v(n);
  if (n) std::memcpy(v.data(), plugin::data_ptr(t), n);
  return v;
}

std::vector<float> copy_f32(const moert_tensor& t) {
  std::vector<float> v(static_cast<size_t>(plugin::numel(t)));
  if (!v.empty()) std::memcpy(v.data(), plugin::data_ptr(t), v.size() * 4);
  return v;
}

// Loads one of w13 / w2 (and its scales and bias) into m.
void load_matrix(const LayerConfig& L, const char* name, const moert_tensor& w, const moert_tensor& scale,
                 const moert_tensor& bias, int64_t rows, const char* rows_name, int64_t cols,
                 const char* cols_name, QuantMatrix& m) {
  const int64_t E = L.num_local_experts;
  const std::string n(name);
  const std::string desc3 = "[" + dim("num_local_experts", E) + ", " + dim(rows_name, rows) + ", " +
                            dim(cols_name, cols) + "]";
  checks::expect(w, n, {L.weight_dtype}, {E, rows, cols}, desc3);
  m.experts = E;
  m.rows = rows;
  m.cols = cols;
  m.dtype = L.weight_dtype;
  m.scheme = L.quant_scheme;
  m.data = copy_bytes(w);
  m.scales.clear();
  m.scales_e8m0.clear();
  const std::string sn = n + "_scale";
  const std::string e_s = dim("num_local_experts", E);
  switch (L.quant_scheme) {
    case MOERT_QUANT_NONE:
      break;
    case MOERT_QUANT_FP8_PER_TENSOR:
      checks::expect(scale, sn, {kF32}, {E}, "[" + e_s + "] (fp8_per_tensor)");
      m.scales = copy_f32(scale);
      break;
    case MOERT_QUANT_FP8_PER_CHANNEL:
      checks::expect(scale, sn, {kF32}, {E, rows}, "[" + e_s + ", " + dim(rows_name, rows) + "] (fp8_per_channel)");
      m.scales = copy_f32(scale);
      break;
    case MOERT_QUANT_FP8_BLOCK_128: {
      const int64_t rb = (rows + 127) / 128, cb = (cols + 127) / 128;
      checks::expect(scale, sn, {kF32}, {E, rb, cb},
                     "[" + e_s + ", ceil(" + rows_name + "/128)=" + std::to_string(rb) + ", ceil(" + cols_name +
                         "/128)=" + std::to_string(cb) + "] (fp8_block128)");
      m.scales = copy_f32(scale);
      break;
    }
    case MOERT_QUANT_MXFP4:
      checks::expect(scale, sn, {kE8M0, kU8}, {E, rows, cols / 32},
                     "[" + e_s + ", " + dim(rows_name, rows) + ", " + cols_name + "/32=" +
                         std::to_string(cols / 32) + "] (mxfp4 e8m0)");
      m.scales_e8m0 = copy_bytes(scale);
      break;
  }
  for (size_t i = 0; i < m.scales.size(); ++i)
    if (!(m.scales[i] > 0.0f) || !std::isfinite(m.scales[i]))
      throw Error(sn + "[" + std::to_string(i) + "]=" + std::to_string(m.scales[i]) +
                  " must be a finite positive scale");
  m.bias.clear();
  if (L.has_bias) {
    const std::string bn = n + "_bias";
    checks::expect(bias, bn, {kF32}, {E, rows}, "[" + e_s + ", " + dim(rows_name, rows) + "] (has_bias=1)");
    m.bias = copy_f32(bias);
  }
}

}  // namespace

void ReferenceWeights::load(const LayerConfig& L, const moert_expert_weights& w) {
  loaded_flag = false;
  if (w.struct_size < offsetof(moert_expert_weights, score_correction_bias) + sizeof(moert_tensor))
    throw Error("moert_expert_weights struct_size " + std::to_string(w.struct_size) + " is too small (expected " +
                std::to_string(sizeof(moert_expert_weights)) + ")");
  load_matrix(L, "w13", w.w13, w.w13_scale, w.w13_bias, L.w13_rows(), L.gated() ? "2*intermediate_size" : "intermediate_size",
              L.hidden_size, "hidden_size", w13);
  load_matrix(L, "w2", w.w2, w.w2_scale, w.w2_bias, L.hidden_size, "hidden_size", L.intermediate_size,
              "intermediate_size", w2);
  score_correction_bias.clear();
  if (L.has_score_correction_bias) {
    checks::expect(w.score_correction_bias, "score_correction_bias", {kF32}, {L.num_experts},
                   "[" + dim("num_experts", L.num_experts) + "] (has_score_correction_bias=1)");
    score_correction_bias = copy_f32(w.score_correction_bias);
  }
  loaded_flag = true;
}

}  // namespace moert

// The shared expert: out += [sigmoid(gate . x)] * w2s @ act(w13s @ x).
#include <cmath>
#include <string>

#include "moert/error.h"
#include "moert/quant.h"
#include "moert/reference.h"
#include "reference/tensor_checks.h"

namespace moert {

using checks::dim;

void add_shared_expert(const LayerConfig& L, const moert_shared_expert& se, const void* hidden, int64_t T,
                       float* acc, std::vector<float>& scratch) {
  if (se.struct_size < offsetof(moert_shared_expert, gate) + sizeof(moert_tensor))
    throw Error("shared_expert struct_size " + std::to_string(se.struct_size) + " is too small (expected " +
                std::to_string(sizeof(moert_shared_expert)) + ")");
  const int64_t H = L.hidden_size, Is = se.intermediate_size;
  if (Is < 1) throw Error("shared_expert.intermediate_size=" + std::to_string(Is) + " must be >= 1");
  if (se.activation < MOERT_ACT_SILU_AND_MUL || se.activation > MOERT_ACT_RELU2)
    throw Error("shared_expert.activation=" + std::to_string(se.activation) + " is not a moert_activation");
  if (se.activation == MOERT_ACT_SWIGLUOAI)
    throw Error(MOERT_STATUS_UNIMPLEMENTED, "shared_expert.activation swigluoai is not allowed (ABI)");
  const bool gated = activation_is_gated(se.activation);
  const int64_t Rs = gated ? 2 * Is : Is;
  const moert_dtype dt = L.activation_dtype;
  checks::expect(se.w13, "shared_expert.w13", {dt}, {Rs, H},
                 "[" + std::string(gated ? "2*" : "") + dim("intermediate_size", Is) + ", " + dim("hidden_size", H) + "]");
  checks::expect(se.w2, "shared_expert.w2", {dt}, {H, Is},
                 "[" + dim("hidden_size", H) + ", " + dim("intermediate_size", Is) + "]");
  const bool has_gate = se.gate.data != nullptr;
  if (has_gate) checks::expect(se.gate, "shared_expert.gate", {dt}, {H}, "[" + dim("hidden_size", H) + "]");

  const size_t need = static_cast<size_t>(Rs * H + H * Is + H + H + Rs + Is);
  if (scratch.size() < need) scratch.resize(need);  // grows once per larger shared expert
  float* w13 = scratch.data();
  float* w2 = w13 + Rs * H;
  float* gate = w2 + H * Is;
  float* x = gate + H;
  float* h = x + H;
  float* a = h + Rs;
  convert_to_f32(static_cast<const char*>(se.w13.data) + se.w13.byte_offset, dt, Rs * H, w13);
  convert_to_f32(static_cast<const char*>(se.w2.data) + se.w2.byte_offset, dt, H * Is, w2);
  if (has_gate) convert_to_f32(static_cast<const char*>(se.gate.data) + se.gate.byte_offset, dt, H, gate);

  for (int64_t t = 0; t < T; ++t) {
    convert_to_f32(static_cast<const char*>(hidden) + t * H * (dt.bits / 8), dt, H, x);
    for (int64_t r = 0; r < Rs; ++r) {
      double s = 0;
      for (int64_t j = 0; j < H; ++j) s += static_cast<double>(w13[r * H + j]) * x[j];
      h[r] = static_cast<float>(s);
    }
    apply_activation(se.activation, MOERT_GATE_UP_CONCAT, 0.0f, 0.0f, h, Is, a);
    for (int64_t j = 0; j < Is; ++j) a[j] = round_to_dtype(a[j], dt);
    double g = 1.0;
    if (has_gate) {
      double z = 0;
      for (int64_t j = 0; j < H; ++j) z += static_cast<double>(gate[j]) * x[j];
      g = 1.0 / (1.0 + std::exp(-z));
    }
    for (int64_t o = 0; o < H; ++o) {
      double s = 0;
      for (int64_t j = 0; j < Is; ++j) s += static_cast<double>(w2[o * Is + j]) * a[j];
      acc[t * H + o] += static_cast<float>(g * s);
    }
  }
}

}  // namespace moert

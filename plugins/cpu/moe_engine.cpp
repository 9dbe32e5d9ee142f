// CpuMoe: construction, workspace layout and the weights post-processing hook.
#include "moe_engine.h"

#include "activation.h"
#include "routing.h"
#include "engine_buffers.h"
#include "engine_util.h"
#include "moert/moert_plugin.hpp"

namespace moert_cpu {

// ------------------------------------------------------------ workspace

// Lays out one thread's arena at `base` (NULL: only measure). Returns its bytes.
size_t CpuMoe::layout_arena(char* base, int64_t T, int64_t H, int64_t I, int64_t R, bool direct, Arena* out) {
  const int64_t KMAX = H > I ? H : I;
  size_t off = 0;
  auto take = [&](int64_t count, size_t elem) {
    char* p = base ? base + off : nullptr;
    off += (static_cast<size_t>(count) * elem + 63) / 64 * 64;
    return p;
  };
  Arena a{};
  a.xe = (float*)take(T * H, 4);
  a.xe16 = (uint16_t*)take(T * H, 2);
  a.h = (float*)take(T * R, 4);
  a.a = (float*)take(T * I, 4);
  a.a16 = (uint16_t*)take(T * I, 2);
  a.xq = (float*)take(T * KMAX, 4);                      // x in the MXFP4 kernel's order
  a.tile = (float*)take(direct ? kTileRows * KMAX : 0, 4);  // one dequantized tile
  a.tile_out = (float*)take(direct ? T * kTileRows : 0, 4);
  if (out) *out = a;
  return off;
}

CpuMoe::Buffers CpuMoe::carve(const moert_tensor& ws, int64_t T) const {
  const auto& D = L_.desc;
  const int64_t H = D.hidden_size, k = D.top_k, S = L_.shared_intermediate_max;
  Buffers b{};
  char* base = ws.data ? static_cast<char*>(ptr(ws)) : nullptr;
  size_t off = 0;
  auto take = [&](int64_t count, size_t elem) {
    char* p = base ? base + off : nullptr;
    off += (static_cast<size_t>(count) * elem + 63) / 64 * 64;
    return p;
  };
  RoutingParams rp{D.num_experts, D.top_k, 0, 0, 0, D.num_expert_group, D.topk_group, 1.f, nullptr};
  b.x32 = (float*)take(T * H, 4);
  b.out32 = (float*)take(T * H, 4);
  b.logits = (float*)take(T * D.num_experts, 4);
  b.tw = (float*)take(T * k, 4);
  b.ids = (int32_t*)take(T * k, 4);
  b.route_scratch = (float*)take(routing_scratch_floats(rp), 4);
  b.groups.offsets = (int32_t*)take(D.num_local_experts + 1, 4);
  b.groups.tokens = (int32_t*)take(T * k, 4);
  b.groups.weights = (float*)take(T * k, 4);
  b.order = (int32_t*)take(D.num_local_experts, 4);
  b.y = (float*)take(T * k * H, 4);  // expert outputs, one row per grouped slot
  b.shared = (float*)take(kSharedChunk * (2 * S + S + H) + H, 4);
  b.arena_bytes = layout_arena(nullptr, T, H, D.intermediate_size, L_.rows13, L_.direct_weights, nullptr);
  b.arena_base = (char*)take(static_cast<int64_t>(b.arena_bytes) * threads_, 1);
  // The owners schedule's per-slot scratch (panel16 only): every slot under
  // expert_schedule owners, up to kOwnerMaxSlots under auto for big experts.
  const int64_t I = D.intermediate_size, R = L_.rows13;
  const bool big = panel16_bytes(R, H) + panel16_bytes(H, I) >= kSplitExpertBytes;
  b.own_slots = !panel_ ? 0 : L_.expert_schedule == "owners" ? T * k
              : L_.expert_schedule == "auto" && big ? (T * k < kOwnerMaxSlots ? T * k : kOwnerMaxSlots) : 0;
  b.own_x = (float*)take(b.own_slots * H, 4);
  b.own_h = (float*)take(b.own_slots * R, 4);
  b.own_a = (float*)take(b.own_slots * I, 4);
  b.own_state = (int32_t*)take(b.own_slots ? (D.num_local_experts + 2) * 16 : 0, 4);  // + the claim word, 64-byte aligned
  b.total_bytes = off;
  return b;
}

size_t CpuMoe::workspace_size(int64_t max_tokens) const {
  moert_tensor none{};
  return carve(none, max_tokens < 1 ? 1 : max_tokens).total_bytes;
}

// ------------------------------------------------------------ setup

CpuMoe::CpuMoe(const moert_layer_desc* layer)
    : L_(parse_layer(layer)), eng_(dnnl::engine::kind::cpu, 0) {
  isa_ = select_isa_kernels(L_.isa.c_str());
  if (!isa_) throw StatusError(MOERT_STATUS_UNAVAILABLE, "cpu: this CPU lacks AVX2/FMA/F16C");
  threads_ = L_.num_threads > 0 ? L_.num_threads : omp_get_max_threads();
  // One oneDNN stream per thread: experts run concurrently in the expert-parallel loop.
  for (int i = 0; i < threads_; ++i) streams_.emplace_back(eng_);
  ThreadScope ts(threads_);
  const auto& D = L_.desc;
  const int64_t H = D.hidden_size, I = D.intermediate_size;
  if (!L_.direct_weights && L_.bf16 && !L_.bf16_gemm_onednn) {
    // oneDNN 2.6 cannot create a bf16 matmul without AVX-512 (and the
    // layer's bf16_gemm option chose the AVX2 kernels): panel16 weights.
    panel_ = bf16_panel_gemm_avx2();
  } else if (!L_.direct_weights) {
    mm13_.reset(new RuntimeMMatmul(eng_, H, L_.rows13, L_.bf16, false));
    mm2_.reset(new RuntimeMMatmul(eng_, I, H, L_.bf16, false));
    if (L_.bf16 && L_.bf16_rows > 0) bf16_kn_ = select_bf16_kn(L_.isa.c_str());
    if (bf16_kn_) {  // needs the plain [K, N] layout, N % 64 == 0 and K even
      bf16_kn_ok_[0] = mm13_->weights_plain_kn() && L_.rows13 % 64 == 0 && H % 2 == 0;
      bf16_kn_ok_[1] = mm2_->weights_plain_kn() && H % 64 == 0 && I % 2 == 0;
    }
  } else {
    tile13_.reset(new RuntimeMMatmul(eng_, H, kTileRows, false, true));
    tile2_.reset(new RuntimeMMatmul(eng_, I, kTileRows, false, true));
  }
}

CpuMoe::~CpuMoe() = default;

void CpuMoe::set_weights(const moert_expert_weights* w) {
  if (w == nullptr || w->struct_size < offsetof(moert_expert_weights, score_correction_bias) + sizeof(moert_tensor))
    throw StatusError(MOERT_STATUS_INVALID_ARGUMENT, "cpu set_weights: weights NULL or struct_size too small");
  const auto& D = L_.desc;
  const int64_t E = D.num_local_experts, H = D.hidden_size, I = D.intermediate_size, R = L_.rows13;
  expect_tensor(w->w13, "weights.w13", D.weight_dtype, {E, R, H});
  expect_tensor(w->w2, "weights.w2", D.weight_dtype, {E, H, I});
  const int32_t q = D.quant_scheme;
  auto scale_shape = [&](int64_t rows, int64_t cols) -> std::vector<int64_t> {
    if (q == MOERT_QUANT_FP8_PER_TENSOR) return {E};
    if (q == MOERT_QUANT_FP8_PER_CHANNEL) return {E, rows};
    if (q == MOERT_QUANT_FP8_BLOCK_128) return {E, ceil_div(rows, 128), ceil_div(cols, 128)};
    return {E, rows, cols / 32};
  };
  if (q != MOERT_QUANT_NONE) {
    moert_dtype sdt = q == MOERT_QUANT_MXFP4 ? kE8M0 : kF32;
    expect_tensor(w->w13_scale, "weights.w13_scale", sdt, scale_shape(R, H));
    expect_tensor(w->w2_scale, "weights.w2_scale", sdt, scale_shape(H, I));
  }
  if (D.has_bias) {
    expect_tensor(w->w13_bias, "weights.w13_bias", kF32, {E, R});
    expect_tensor(w->w2_bias, "weights.w2_bias", kF32, {E, H});
  }
  if (D.routing_method == MOERT_ROUTING_GROUPED_TOPK && D.has_score_correction_bias)
    expect_tensor(w->score_correction_bias, "weights.score_correction_bias", kF32, {D.num_experts});

  ThreadScope ts(threads_);
  auto keep = [&](Owned& o, const moert_tensor& wt, const moert_tensor& sc, const moert_tensor& bias,
                  RuntimeMMatmul* mm, int64_t rows, int64_t cols) {
    if (panel_) {  // the post-processing hook: repack once into panel16 (the only copy)
      o.expert_bytes = static_cast<size_t>(panel16_bytes(rows, cols));
      o.data.allocate(o.expert_bytes * E);
      const uint16_t* src = static_cast<const uint16_t*>(ptr(wt));
      const int64_t panels = ceil_div(rows, kPanelCols);
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads_)
      for (int64_t e = 0; e < E; ++e)
        pack_panel16(src + e * rows * cols, rows, cols, 0, panels,
                     reinterpret_cast<uint16_t*>(o.base() + e * o.expert_bytes));
    } else if (mm) {  // the post-processing hook: repack once into oneDNN's layout
      o.expert_bytes = mm->packed_weight_bytes();
      o.data.allocate(o.expert_bytes * E);
      const size_t src_expert = static_cast<size_t>(rows * cols) * (L_.bf16 ? 2 : 4);
      // One expert per thread (each reorder then runs single-threaded on its own stream).
      ParallelErrors errs;
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads_)
      for (int64_t e = 0; e < E; ++e)
        errs.run([&] {
          mm->repack(streams_[omp_get_thread_num()], static_cast<const char*>(ptr(wt)) + e * src_expert,
                     o.base() + e * o.expert_bytes);
        });
      errs.rethrow();
    } else {
      const size_t bytes = moert::plugin::nbytes(wt);
      o.expert_bytes = bytes / E;
      o.data.allocate(bytes);
      std::memcpy(o.base(), ptr(wt), bytes);
      if (q == MOERT_QUANT_NONE) {
        // f32/bf16 weights in the other dtype: no scales
      } else if (q == MOERT_QUANT_MXFP4) {
        o.mx_scale.assign(static_cast<const uint8_t*>(ptr(sc)), static_cast<const uint8_t*>(ptr(sc)) + moert::plugin::numel(sc));
      } else {
        const float* s = static_cast<const float*>(ptr(sc));
        o.scale.assign(s, s + moert::plugin::numel(sc));
      }
    }
    if (D.has_bias) {
      const float* b = static_cast<const float*>(ptr(bias));
      o.bias.assign(b, b + E * rows);
    } else {
      o.bias.clear();
    }
  };
  keep(w13_, w->w13, w->w13_scale, w->w13_bias, mm13_.get(), R, H);
  keep(w2_, w->w2, w->w2_scale, w->w2_bias, mm2_.get(), H, I);
  score_bias_.clear();
  if (D.routing_method == MOERT_ROUTING_GROUPED_TOPK && D.has_score_correction_bias) {
    const float* s = static_cast<const float*>(ptr(w->score_correction_bias));
    score_bias_.assign(s, s + D.num_experts);
  }
  has_weights_ = true;
}

RowMajorWeights CpuMoe::quant_view(int which, int32_t e) const {
  const auto& D = L_.desc;
  const Owned& o = which == 0 ? w13_ : w2_;
  const int64_t rows = which == 0 ? L_.rows13 : D.hidden_size;
  const int64_t K = which == 0 ? D.hidden_size : D.intermediate_size;
  RowMajorWeights v{};
  v.data = o.base() + e * o.expert_bytes;
  v.k = K;
  if (D.quant_scheme == MOERT_QUANT_NONE) {
    v.code = same(D.weight_dtype, kBF16) ? kWeightBF16 : kWeightF32;
    return v;
  }
  if (D.quant_scheme == MOERT_QUANT_MXFP4) {
    v.code = kWeightMXFP4;
    v.mx_scale = o.mx_scale.data() + e * rows * (K / 32);
    return v;
  }
  v.code = kWeightFP8;
  switch (D.quant_scheme) {
    case MOERT_QUANT_FP8_PER_TENSOR:
      v.fp8_scale = o.scale.data() + e; v.scale_rows = rows; v.scale_row_stride = 0; v.scale_k_block = K; break;
    case MOERT_QUANT_FP8_PER_CHANNEL:
      v.fp8_scale = o.scale.data() + e * rows; v.scale_rows = 1; v.scale_row_stride = 1; v.scale_k_block = K; break;
    default:  // block 128
      v.fp8_scale = o.scale.data() + e * ceil_div(rows, 128) * ceil_div(K, 128);
      v.scale_rows = 128; v.scale_row_stride = ceil_div(K, 128); v.scale_k_block = 128;
  }
  return v;
}

}  // namespace moert_cpu

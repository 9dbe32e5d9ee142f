// CpuMoe: the expert loop (gather, GEMM1, activation epilogue, GEMM2, combine)
// and its threading across experts or inside GEMMs.
#include "activation.h"
#include "dequant.h"
#include "engine_buffers.h"
#include "engine_util.h"
#include "moert/moert_plugin.hpp"

#include <sched.h>

#include <string>

namespace moert_cpu {

// y [M, N] = x [M, K] x W_e^T for matrix `which` (0: w13, 1: w2). `intra`:
// spread the work over the team (false inside the expert-parallel loop).
void CpuMoe::expert_gemm(int which, int32_t e, const float* x, const uint16_t* x16, int64_t M, float* y, Arena& ar,
                         bool intra) {
  const auto& D = L_.desc;
  const int64_t N = which == 0 ? L_.rows13 : D.hidden_size;
  const int64_t K = which == 0 ? D.hidden_size : D.intermediate_size;
  if (panel_) {  // bf16 weights in panel16: x (f32) streamed against each panel once
    const Owned& o = which == 0 ? w13_ : w2_;
    const uint16_t* wp = reinterpret_cast<const uint16_t*>(o.base() + e * o.expert_bytes);
    const int64_t panels = ceil_div(N, kPanelCols);
    if (!intra) { panel_(x, K, M, wp, K, N, 0, panels, y, N); return; }
    const int64_t parts = threads_ < panels ? threads_ : panels;
#pragma omp parallel for schedule(static) num_threads(parts)
    for (int64_t p = 0; p < parts; ++p) panel_(x, K, M, wp, K, N, panels * p / parts, panels * (p + 1) / parts, y, N);
    return;
  }
  if (!L_.direct_weights) {
    const Owned& o = which == 0 ? w13_ : w2_;
    RuntimeMMatmul* mm = (which == 0 ? mm13_ : mm2_).get();
    dnnl::stream& st = streams_[intra ? 0 : omp_get_thread_num()];
    const void* src = L_.bf16 ? static_cast<const void*>(x16) : x;
    const size_t row_bytes = static_cast<size_t>(K) * (L_.bf16 ? 2 : 4);
    const char* wexp = reinterpret_cast<const char*>(o.base() + e * o.expert_bytes);
    if (bf16_kn_ && bf16_kn_ok_[which] && M >= 2 && M <= L_.bf16_rows) {
      // vdpbf16ps kernel: each weight row streamed once for all M tokens
      // (M = 1 stays on oneDNN's gemv, which streams at least as fast).
      const uint16_t* w16 = reinterpret_cast<const uint16_t*>(wexp);
      if (!intra) { bf16_kn_(x16, K, M, w16, K, N, 0, N, y, N); return; }
      const int64_t tiles = N / 64, parts = threads_ < tiles ? threads_ : tiles;
#pragma omp parallel for schedule(static) num_threads(parts)
      for (int64_t p = 0; p < parts; ++p)
        bf16_kn_(x16, K, M, w16, K, N, tiles * p / parts * 64, tiles * (p + 1) / parts * 64, y, N);
      return;
    }
    if (M <= L_.gemv_rows && static_cast<int64_t>(o.expert_bytes) <= kGemvRowsMaxBytes) {
      // A few rows on a matrix that stays in L3: oneDNN's M = 1 gemv (which
      // streams) once per row beats its M > 1 gemm (which packs the weights
      // on every call); rows after the first read the weights from L3.
      for (int64_t m = 0; m < M; ++m) mm->execute(st, static_cast<const char*>(src) + m * row_bytes, 1, wexp, y + m * N);
      return;
    }
    mm->execute(st, src, M, wexp, y);
    return;
  }
  RowMajorWeights v = quant_view(which, e);
  if (M <= L_.small_batch) {  // decode: stream the quantized rows once
    const float* xs = x;
    if (v.code == kWeightMXFP4) {
      isa_->prepare_x_mxfp4(x, K, M, K, ar.xq, K);
      xs = ar.xq;
    }
    const int64_t blocks = ceil_div(N, 16);
#pragma omp parallel for schedule(static) if (intra)
    for (int64_t blk = 0; blk < blocks; ++blk)
      isa_->gemv_nk(xs, K, M, &v, blk * 16, (blk + 1) * 16 < N ? (blk + 1) * 16 : N, y, N);
    return;
  }
  RuntimeMMatmul* mm = which == 0 ? tile13_.get() : tile2_.get();
  for (int64_t n0 = 0; n0 < N; n0 += kTileRows) {
#pragma omp parallel for schedule(static) if (intra)
    for (int64_t r = 0; r < kTileRows; r += 8) dequant_rows(v, N, n0 + r, 8, ar.tile + r * K);
    mm->execute(streams_[intra ? 0 : omp_get_thread_num()], x, M, ar.tile, ar.tile_out);
    const int64_t cols = N - n0 < kTileRows ? N - n0 : kTileRows;
    for (int64_t m = 0; m < M; ++m) std::memcpy(y + m * N + n0, ar.tile_out + m * kTileRows, cols * sizeof(float));
  }
}

// One expert on its M grouped tokens; y [M, H] receives w2 @ act(w13 @ x)
// without the w2 bias (added when combining).
void CpuMoe::run_expert(int32_t e, const float* x32, const int32_t* tok, int64_t M, float* y, Arena& ar, bool intra) {
  const auto& D = L_.desc;
  const int64_t H = D.hidden_size, I = D.intermediate_size, R = L_.rows13;
  const bool need16 = L_.bf16 && !L_.direct_weights && !panel_;  // bf16 copies for oneDNN's bf16 matmul
#pragma omp parallel for schedule(static) if (intra && M * H > 32768)
  for (int64_t m = 0; m < M; ++m) {
    std::memcpy(ar.xe + m * H, x32 + int64_t(tok[m]) * H, H * sizeof(float));
    if (need16)
      for (int64_t c = 0; c < H; ++c) ar.xe16[m * H + c] = moert_cpu_f32_to_bf16(ar.xe[m * H + c]);
  }
  expert_gemm(0, e, ar.xe, ar.xe16, M, ar.h, ar, intra);
  ActivationParams ap{D.activation, D.gate_up_layout == MOERT_GATE_UP_INTERLEAVED, I, D.swiglu_alpha,
                      D.swiglu_limit, L_.bf16 ? 1 : 0};
  const float* b13 = D.has_bias ? w13_.bias.data() + e * R : nullptr;
  const int64_t ichunks = ceil_div(I, 256);
#pragma omp parallel for schedule(static) if (intra)
  for (int64_t c = 0; c < ichunks; ++c) {
    const int64_t i0 = c * 256, i1 = i0 + 256 < I ? i0 + 256 : I;
    apply_activation(ap, ar.h, R, b13, M, i0, i1, ar.a, I);
    if (need16)
      for (int64_t m = 0; m < M; ++m)
        for (int64_t i = i0; i < i1; ++i) ar.a16[m * I + i] = moert_cpu_f32_to_bf16(ar.a[m * I + i]);
  }
  expert_gemm(1, e, ar.a, ar.a16, M, y, ar, intra);
}

namespace {
// Counters of the owners schedule, one cache line per expert (GCC atomics on
// workspace memory; no allocation in the forward).
enum OwnerField { kG1Next, kG1Done, kActReady, kG2Next, kStarted };
inline int32_t load_acq(const int32_t* p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
inline int32_t fetch_add(int32_t* p) { return __atomic_fetch_add(p, 1, __ATOMIC_ACQ_REL); }
inline void wait_set(const int32_t* p) {
  for (int spins = 0; !load_acq(p); ++spins) {
    if (spins < 4096) __builtin_ia32_pause();
    else sched_yield();
  }
}

}  // namespace

// The owners schedule (panel16 experts; see moe_engine.h). Thread t claims
// whole experts from the list sorted by tokens: even threads from the heavy
// end, odd threads from the light end (2 threads: a compute-bound expert
// runs next to memory-bound ones, instead of both cores being FMA-bound and
// then both memory-bound). Each expert's two GEMMs are cut into column
// chunks of ~kOwnerChunkBytes that its owner claims one by one; a thread
// with nothing left to own claims chunks of the expert with the most work
// left. Whoever finishes an expert's last GEMM1 chunk runs its activation;
// GEMM2 chunks wait for it.
void CpuMoe::run_experts_owners(const float* x32, const ExpertGroups& g, int32_t active, Buffers& b) {
  const auto& D = L_.desc;
  const int64_t H = D.hidden_size, I = D.intermediate_size, R = L_.rows13;
  const int64_t P1 = ceil_div(R, kPanelCols), P2 = ceil_div(H, kPanelCols);
  auto chunk_of = [&](int64_t panels, int64_t K) {
    int64_t c = kOwnerChunkBytes / (K * kPanelCols * 2);
    const int64_t most = ceil_div(panels, 2 * threads_);  // several chunks even for small matrices
    return c > most ? most : c < 1 ? 1 : c;
  };
  const int64_t c1 = chunk_of(P1, H), c2 = chunk_of(P2, I);
  const int32_t n1 = static_cast<int32_t>(ceil_div(P1, c1)), n2 = static_cast<int32_t>(ceil_div(P2, c2));
  int32_t* st = b.own_state;
  std::memset(st, 0, (active + 2) * 16 * sizeof(int32_t));
  // Experts taken from the heavy end (low half) and the light end (high
  // half), in one word so that one compare-exchange moves either end (on
  // its own 64-byte line: the workspace itself may be only 4-byte aligned).
  int64_t* ends = reinterpret_cast<int64_t*>((reinterpret_cast<uintptr_t>(st + active * 16) + 63) & ~uintptr_t(63));
  const ActivationParams ap{D.activation, D.gate_up_layout == MOERT_GATE_UP_INTERLEAVED, I, D.swiglu_alpha,
                            D.swiglu_limit, L_.bf16 ? 1 : 0};
  const uint16_t* w13 = reinterpret_cast<const uint16_t*>(w13_.base());
  const uint16_t* w2 = reinterpret_cast<const uint16_t*>(w2_.base());
  // Claims the next expert (index into b.order) from one end; -1: none left.
  auto claim = [&](bool light) -> int32_t {
    int64_t seen = __atomic_load_n(ends, __ATOMIC_ACQUIRE);
    for (;;) {
      const int64_t f = seen & 0xffffffff, l = seen >> 32;
      if (f + l >= active) return -1;
      const int64_t next = light ? seen + (int64_t(1) << 32) : seen + 1;
      if (__atomic_compare_exchange_n(ends, &seen, next, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        return static_cast<int32_t>(light ? active - 1 - l : f);
    }
  };
  auto work_on = [&](int32_t i) {
    int32_t* s = st + i * 16;
    const int32_t e = b.order[i], s0 = g.offsets[e];
    const int64_t M = g.offsets[e + 1] - s0;
    const uint16_t* we13 = w13 + e * (w13_.expert_bytes / 2);
    const uint16_t* we2 = w2 + e * (w2_.expert_bytes / 2);
    float *xe = b.own_x + s0 * H, *h = b.own_h + s0 * R, *a = b.own_a + s0 * I;
    for (int32_t c; (c = fetch_add(s + kG1Next)) < n1;) {
      const int64_t p0 = c * c1, p1 = p0 + c1 < P1 ? p0 + c1 : P1;
      panel_(xe, H, M, we13, H, R, p0, p1, h, R);
      if (fetch_add(s + kG1Done) == n1 - 1) {
        apply_activation(ap, h, R, D.has_bias ? w13_.bias.data() + e * R : nullptr, M, 0, I, a, I);
        __atomic_store_n(s + kActReady, 1, __ATOMIC_RELEASE);
      }
    }
    if (load_acq(s + kG2Next) >= n2) return;
    wait_set(s + kActReady);
    for (int32_t c; (c = fetch_add(s + kG2Next)) < n2;) {
      const int64_t p0 = c * c2, p1 = p0 + c2 < P2 ? p0 + c2 : P2;
      panel_(a, I, M, we2, I, H, p0, p1, b.y + s0 * H, H);
    }
  };
#pragma omp parallel num_threads(threads_)
  {
    const bool light = omp_get_thread_num() % 2 == 1;
    for (int32_t i; (i = claim(light)) >= 0;) {
      const int32_t e = b.order[i], s0 = g.offsets[e], M = g.offsets[e + 1] - s0;
      for (int32_t m = 0; m < M; ++m)
        std::memcpy(b.own_x + (s0 + m) * H, x32 + int64_t(g.tokens[s0 + m]) * H, H * sizeof(float));
      __atomic_store_n(st + i * 16 + kStarted, 1, __ATOMIC_RELEASE);
      work_on(i);
    }
    // Nothing left to own: help the expert with the most unclaimed work.
    for (;;) {
      int32_t best = -1;
      int64_t most = 0;
      for (int32_t i = 0; i < active; ++i) {
        const int32_t* s = st + i * 16;
        if (!load_acq(s + kStarted)) continue;
        const int32_t r1 = n1 - load_acq(s + kG1Next), r2 = n2 - load_acq(s + kG2Next);
        const int64_t left = (r1 > 0 ? r1 * c1 * H : 0) + (r2 > 0 ? r2 * c2 * I : 0);
        const int32_t e = b.order[i];
        const int64_t work = left * (g.offsets[e + 1] - g.offsets[e] + 4);  // bytes, weighted by rows
        if (work > most) { most = work; best = i; }
      }
      if (best < 0) break;
      work_on(best);
    }
  }
}

void CpuMoe::run_experts(const float* x32, int64_t T, const ExpertGroups& g, float* out32, Buffers& b) {
  const auto& D = L_.desc;
  const int64_t H = D.hidden_size, I = D.intermediate_size, R = L_.rows13;
  auto arena = [&](int i) {
    Arena ar{};
    layout_arena(b.arena_base + i * b.arena_bytes, T, H, I, R, L_.direct_weights, &ar);
    return ar;
  };
  // Active experts, largest first (a cheap insertion sort: at most E_local).
  int32_t active = 0;
  for (int32_t e = 0; e < D.num_local_experts; ++e) {
    const int32_t M = g.offsets[e + 1] - g.offsets[e];
    if (M == 0) continue;
    int32_t j = active++;
    while (j > 0 && g.offsets[b.order[j - 1] + 1] - g.offsets[b.order[j - 1]] < M) { b.order[j] = b.order[j - 1]; --j; }
    b.order[j] = e;
  }
  // Experts of kSplitExpertBytes or more (mixtral: 336 MiB) are split by
  // columns over the team, whatever their count: the split costs two
  // parallel regions per GEMM, nothing next to streaming the expert, and
  // keeps the threads balanced when the experts' token counts differ.
  const bool big = w13_.expert_bytes + w2_.expert_bytes >= static_cast<size_t>(kSplitExpertBytes);
  const std::string& sched = L_.expert_schedule;
  const int64_t slots = g.offsets[D.num_local_experts];
  if (threads_ > 1 && panel_ && active > 0 && slots <= b.own_slots && (sched == "owners" || (sched == "auto" && big))) {
    run_experts_owners(x32, g, active, b);
  } else if (threads_ > 1 && active >= threads_ && (sched == "experts" || (sched == "auto" && !big))) {
    ParallelErrors errs;
#pragma omp parallel num_threads(threads_)
    {
      Arena ar = arena(omp_get_thread_num());
#pragma omp for schedule(dynamic, 1)
      for (int32_t i = 0; i < active; ++i) {
        const int32_t e = b.order[i], s0 = g.offsets[e];
        errs.run([&] { run_expert(e, x32, g.tokens + s0, g.offsets[e + 1] - s0, b.y + int64_t(s0) * H, ar, false); });
      }
    }
    errs.rethrow();
  } else {
    Arena ar = arena(0);
    for (int32_t i = 0; i < active; ++i) {
      const int32_t e = b.order[i], s0 = g.offsets[e];
      run_expert(e, x32, g.tokens + s0, g.offsets[e + 1] - s0, b.y + int64_t(s0) * H, ar, true);
    }
  }
  // Combine: out[t] += w * (y_slot + b2[e]), split by columns so rows never
  // collide. Decode-sized work (< 1M multiply-adds, ~0.1 ms) stays on this
  // thread: waking the team (10-100 us with passive waiting) costs more.
  const int64_t cchunks = ceil_div(H, 512);
#pragma omp parallel for schedule(static) num_threads(threads_) if (slots * H >= (int64_t(1) << 20))
  for (int64_t c = 0; c < cchunks; ++c) {
    const int64_t c0 = c * 512, c1 = c0 + 512 < H ? c0 + 512 : H;
    for (int32_t e = 0; e < D.num_local_experts; ++e) {
      const float* b2 = D.has_bias ? w2_.bias.data() + e * H : nullptr;
      for (int32_t p = g.offsets[e]; p < g.offsets[e + 1]; ++p) {
        float* o = out32 + int64_t(g.tokens[p]) * H;
        const float* yr = b.y + int64_t(p) * H;
        const float wt = g.weights[p];
        if (b2) for (int64_t j = c0; j < c1; ++j) o[j] += wt * (yr[j] + b2[j]);
        else for (int64_t j = c0; j < c1; ++j) o[j] += wt * yr[j];
      }
    }
  }
}

}  // namespace moert_cpu

#include "onednn_matmul.h"

namespace moert_cpu {

using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

RuntimeMMatmul::RuntimeMMatmul(const dnnl::engine& eng, int64_t K, int64_t N, bool bf16, bool plain_nk)
    : eng_(eng), K_(K), N_(N), dt_(bf16 ? dt::bf16 : dt::f32) {
  dnnl::memory::desc src({DNNL_RUNTIME_DIM_VAL, K}, dt_, tag::ab);
  dnnl::memory::desc wei({K, N}, dt_, plain_nk ? tag::ba : tag::any);
  dnnl::memory::desc dst({DNNL_RUNTIME_DIM_VAL, N}, dt::f32, tag::ab);
  pd_ = dnnl::matmul::primitive_desc(dnnl::matmul::desc(src, wei, dst), eng_);
  prim_ = dnnl::matmul(pd_);
}

void RuntimeMMatmul::repack(dnnl::stream& s, const void* nk_weights, void* packed) const {
  dnnl::memory::desc plain({K_, N_}, dt_, tag::ba);
  dnnl::memory from(plain, eng_, const_cast<void*>(nk_weights));
  dnnl::memory to(pd_.weights_desc(), eng_, packed);
  dnnl::reorder(from, to).execute(s, from, to);
  s.wait();
}

void RuntimeMMatmul::execute(dnnl::stream& s, const void* src, int64_t M, const void* weights,
                             float* dst) const {
  dnnl::memory src_m({{M, K_}, dt_, tag::ab}, eng_, const_cast<void*>(src));
  dnnl::memory wei_m(pd_.weights_desc(), eng_, const_cast<void*>(weights));
  dnnl::memory dst_m({{M, N_}, dt::f32, tag::ab}, eng_, dst);
  prim_.execute(s, {{DNNL_ARG_SRC, src_m}, {DNNL_ARG_WEIGHTS, wei_m}, {DNNL_ARG_DST, dst_m}});
  s.wait();
}

}  // namespace moert_cpu

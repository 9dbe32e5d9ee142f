// Routing kernels (see routing.cuh). One warp per token; scores live in
// shared memory; top-k is k rounds of a warp arg-max (ties -> lower id) by
// warp reductions (routing_device.cuh).
#include "routing_device.cuh"

namespace moert_cuda {
namespace {

constexpr int kWarpsPerBlock = 4;

// One instance per routing variant V (route_variant, routing_device.cuh).
template <int V>
__global__ void routing_kernel(RoutingParams p) {
  pdl_begin();
  extern __shared__ float smem[];
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int64_t t = (int64_t)blockIdx.x * kWarpsPerBlock + warp;
  if (t >= p.tokens) return;  // whole warps exit together; no block barrier below
  route_token_as<V>(p, t, smem + warp * 2 * p.num_experts, lane);
}

__global__ void map_ids_kernel(const int32_t* __restrict__ ids, RoutingParams p) {
  pdl_begin();
  const int64_t slot = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
  if (slot >= p.tokens * p.top_k) return;
  const int32_t id = ids[slot];
  p.local_ids[slot] = (id >= 0 && id < p.num_experts) ? routing_detail::map_slot(p, slot, id) : -1;
  p.topk_weights[slot] *= p.scaling;  // the function's weights get only the routed scaling
}

}  // namespace

void launch_routing(const RoutingParams& p, cudaStream_t stream) {
  if (p.tokens <= 0) return;
  const unsigned blocks = ceil_div(p.tokens, kWarpsPerBlock);
  const size_t smem = sizeof(float) * 2 * p.num_experts * kWarpsPerBlock;
  with_route_variant(p.num_experts, [&](auto v) {
    routing_kernel<decltype(v)::value><<<blocks, 32 * kWarpsPerBlock, smem, stream>>>(p);
  });
  MOERT_CUDA_LAUNCH_CHECK("routing");
}

void launch_map_ids(const int32_t* ids, const RoutingParams& p, cudaStream_t stream) {
  const int64_t n = p.tokens * p.top_k;
  if (n <= 0) return;
  map_ids_kernel<<<ceil_div(n, 256), 256, 0, stream>>>(ids, p);
  MOERT_CUDA_LAUNCH_CHECK("map_ids");
}

}  // namespace moert_cuda

// hip_portability.h -- the subset of the HIP API that moert's HIP kernels and
// the rocm plugin glue use, spelled once, so that the SAME sources build:
//   - with hipcc for AMD GPUs (gfx90a, gfx940): the names are HIP's own;
//   - with nvcc (or g++ for the glue) for NVIDIA GPUs, when MOERT_HIP_ON_CUDA
//     is defined: the names map onto the CUDA runtime.
// Why our own header: Debian's HIP 5.2 nvidia_detail headers do not compile
// against CUDA 13 (texture APIs and graph-edge signatures CUDA removed), so
// the HIP-on-NVIDIA path cannot use them. Only what we use is mapped; adding
// a name here is the way to use a new runtime call.
#pragma once

#if defined(MOERT_HIP_ON_CUDA)
// ----------------------------------------------------------- NVIDIA (CUDA) --
#if defined(__CUDACC__)
#include <cuda_runtime.h>
#else
#include <cuda_runtime_api.h>
#endif
typedef cudaError_t hipError_t;
typedef cudaStream_t hipStream_t;
typedef cudaEvent_t hipEvent_t;
typedef cudaGraph_t hipGraph_t;
typedef cudaGraphExec_t hipGraphExec_t;
#define hipSuccess cudaSuccess
#define hipErrorNoDevice cudaErrorNoDevice
#define hipErrorInsufficientDriver cudaErrorInsufficientDriver
#define hipErrorMemoryAllocation cudaErrorMemoryAllocation
#define hipMemcpyHostToDevice cudaMemcpyHostToDevice
#define hipMemcpyDeviceToHost cudaMemcpyDeviceToHost
#define hipMemcpyDeviceToDevice cudaMemcpyDeviceToDevice
#define hipMemcpyDefault cudaMemcpyDefault
#define hipStreamNonBlocking cudaStreamNonBlocking
#define hipStreamCaptureModeThreadLocal cudaStreamCaptureModeThreadLocal
#define hipGetDeviceCount cudaGetDeviceCount
#define hipSetDevice cudaSetDevice
#define hipGetDevice cudaGetDevice
#define hipGetErrorString cudaGetErrorString
#define hipGetLastError cudaGetLastError
#define hipMalloc cudaMalloc
#define hipFree cudaFree
#define hipMemcpy cudaMemcpy
#define hipMemcpyAsync cudaMemcpyAsync
#define hipMemsetAsync cudaMemsetAsync
#define hipStreamCreateWithFlags cudaStreamCreateWithFlags
#define hipStreamDestroy cudaStreamDestroy
#define hipStreamSynchronize cudaStreamSynchronize
#define hipDeviceSynchronize cudaDeviceSynchronize
#define hipEventCreate cudaEventCreate
#define hipEventDestroy cudaEventDestroy
#define hipEventRecord cudaEventRecord
#define hipEventSynchronize cudaEventSynchronize
#define hipEventElapsedTime cudaEventElapsedTime
#define hipStreamBeginCapture cudaStreamBeginCapture
#define hipStreamEndCapture cudaStreamEndCapture
#define hipGraphInstantiateWithFlags cudaGraphInstantiateWithFlags
#define hipGraphLaunch cudaGraphLaunch
#define hipGraphExecDestroy cudaGraphExecDestroy
#define hipGraphDestroy cudaGraphDestroy
#define hipPointerAttribute_t cudaPointerAttributes
// Device name of the GPU for messages ("NVIDIA H100 80GB HBM3").
inline hipError_t moert_gpu_device_name(int dev, char* buf, int cap) {
  cudaDeviceProp p;
  hipError_t e = cudaGetDeviceProperties(&p, dev);
  if (e == cudaSuccess) {
    int i = 0;
    for (; i + 1 < cap && p.name[i]; ++i) buf[i] = p.name[i];
    buf[i] = 0;
  }
  return e;
}
#define MOERT_GPU_RUNTIME_NAME "CUDA"
#define MOERT_GPU_PLATFORM_NVIDIA 1

#else
// ------------------------------------------------------------ AMD (ROCm) --
#if !defined(__HIP_PLATFORM_AMD__) && !defined(__HIP_PLATFORM_HCC__)
#define __HIP_PLATFORM_AMD__
#endif
#if defined(__HIPCC__)
#include <hip/hip_runtime.h>
#else
#include <hip/hip_runtime_api.h>
#endif
// gcnArchName of the GPU ("gfx90a:sramecc+:xnack-"), to check it against the
// code objects this plugin carries.
inline hipError_t moert_gpu_device_name(int dev, char* buf, int cap) {
  hipDeviceProp_t p;
  hipError_t e = hipGetDeviceProperties(&p, dev);
  if (e == hipSuccess) {
    int i = 0;
    for (; i + 1 < cap && p.gcnArchName[i]; ++i) buf[i] = p.gcnArchName[i];
    buf[i] = 0;
  }
  return e;
}
#define MOERT_GPU_RUNTIME_NAME "ROCm"
#define MOERT_GPU_PLATFORM_AMD 1
#endif

// ------------------------------------------------------- device intrinsics --
// Wavefront width. AMD-only assumption, guarded: the CDNA targets this
// plugin is built for (gfx90a, gfx940) run wave64, on the host side of the
// launch as in the device code; NVIDIA runs 32-wide warps. Kernels size their
// reductions and launches from MOERT_WAVE and never hard-code 32 or 64.
#if defined(MOERT_HIP_ON_CUDA)
#define MOERT_WAVE 32
#else
#if defined(__HIP_DEVICE_COMPILE__) && !(defined(__gfx90a__) || defined(__gfx940__) || \
                                         defined(__gfx941__) || defined(__gfx942__))
#error "moert's HIP kernels assume wave64 (CDNA: gfx90a, gfx94x); RDNA wave32 is not a target"
#endif
#define MOERT_WAVE 64
#endif

#if defined(__CUDACC__) || defined(__HIPCC__)
// Butterfly exchange inside one wave (all lanes active).
template <class T>
__device__ __forceinline__ T moert_shfl_xor(T v, int lane_mask) {
#if defined(MOERT_HIP_ON_CUDA)
  return __shfl_xor_sync(0xffffffffu, v, lane_mask);
#else
  return __shfl_xor(v, lane_mask, MOERT_WAVE);
#endif
}
#endif

// The arithmetic of the convolutions (train.precision, docs/cuda.md), a setting of the CUDA
// backend (engine/cuda/cuda.h: set_cuda_mode) named here so that configurations and tools can
// hold it in builds without CUDA. The only ops where precision changes the kernels:
//   fp32: IEEE float FMA math, tensor cores off (CUDNN_FMA_MATH);
//   tf32: float storage, TF32 tensor-core products with float accumulation;
//   bf16: operands rounded to bfloat16 for the tensor cores, float accumulation, float storage
//         and master weights (docs/cuda.md lists what bf16 storage would still add).
#pragma once
#include <cstdint>

namespace cytocon {

enum class Precision : uint8_t { fp32, tf32, bf16 };
const char* precision_name(Precision p);  // "fp32" | "tf32" | "bf16"

}  // namespace cytocon

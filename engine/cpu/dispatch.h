// The element types of the CPU kernels: float32 or float64 (gradient checks), every floating-point
// argument of an op in the same type. The tensor-level kernels (kernels.h) check these; the
// arguments' shapes are checked before, once for both backends (engine/op_checks.h).
#pragma once
#include <string>

#include "engine/tensor.h"

namespace cytocon::cpu {

// Calls f(T{}) with T = float or double according to dt.
template <class F>
decltype(auto) dispatch(DType dt, const char* op, F&& f) {
  switch (dt) {
    case DType::f32: return f(float{});
    case DType::f64: return f(double{});
    default: fail(std::string(op) + ": element type " + dtype_name(dt) + " is not supported (expected float32 or float64)");
  }
}

// Checks t has x's element type.
inline void same_dtype(const Tensor& x, const Tensor& t, const char* op, const char* name) {
  check(x.dtype() == t.dtype(), std::string(op) + ": " + name + " is " + dtype_name(t.dtype()) + ", expected " +
                                    dtype_name(x.dtype()) + " like the first input");
}

}  // namespace cytocon::cpu

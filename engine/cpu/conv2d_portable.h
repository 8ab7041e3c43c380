// The portable loops behind engine/cpu/conv2d.h (same contract): float64 always, float32 where the
// CPU lacks AVX2/FMA. Declared here so tests can check them on any machine.
#pragma once
#include "engine/cpu/conv2d.h"

namespace cytocon::cpu::portable {

template <class T>
void conv2d_forward(const ConvGeom& g, const T* x, const T* w, T* y);
template <class T>
void conv2d_backward_data(const ConvGeom& g, const T* dy, const T* w, T* dx);
template <class T>
void conv2d_backward_weight(const ConvGeom& g, const T* x, const T* dy, int shards, T* dw_partials);

}  // namespace cytocon::cpu::portable

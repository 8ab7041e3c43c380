#include "engine/backend.h"

namespace cytocon {

Backend& cpu_backend();  // engine/cpu/backend.cpp
#ifdef CYTOCON_HAVE_CUDA
Backend* cuda_backend();  // engine/cuda/backend.cu: null when no GPU is usable
bool cuda_device_usable();
#endif

namespace {
Backend* g_backends[2] = {nullptr, nullptr};
}

void register_backend(Device d, Backend* b) { g_backends[static_cast<int>(d)] = b; }

bool cuda_available() {
#ifdef CYTOCON_HAVE_CUDA
  return cuda_device_usable();
#else
  return false;
#endif
}

Backend& backend(Device d) {
  if (d == Device::cpu) return cpu_backend();
  Backend* b = g_backends[1];
#ifdef CYTOCON_HAVE_CUDA
  if (!b) b = g_backends[1] = cuda_backend();
#endif
  if (!b) fail("device cuda requested but no usable CUDA GPU/backend is present (this build: "
#ifdef CYTOCON_HAVE_CUDA
               "CUDA compiled in, no GPU found)"
#else
               "compiled without CUDA)"
#endif
  );
  return *b;
}

Backend& backend_of(const Tensor& t) { return backend(t.device()); }

}  // namespace cytocon

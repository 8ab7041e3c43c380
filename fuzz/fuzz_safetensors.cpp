// libFuzzer harness for the safetensors reader, the checkpoint reader on top of it, and the model's
// training record (models/provenance.h): any bytes must parse or give a cytocon error naming the
// file, never crash, hang or allocate what the header merely claims.
#include <cstdint>
#include <exception>
#include <string>

#include "engine/io/checkpoint.h"
#include "engine/io/safetensors.h"
#include "models/provenance.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cytocon;
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  try {
    const io::SafeTensors st = io::parse_safetensors(bytes, "fuzz.safetensors");
    models::read_trained_with(st.metadata, "fuzz.safetensors");
  } catch (const std::exception&) {
  }
  try {
    const io::TrainingState s = io::parse_checkpoint(bytes, "fuzz.safetensors");
    models::read_trained_with(s.extra, "fuzz.safetensors");
  } catch (const std::exception&) {
  }
  return 0;
}

// A process-wide LRU cache of decoded image blocks (TIFF tiles or strips), bounded in bytes.
// Thread-safe; values are immutable and shared, so an evicted block stays valid for its readers.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "data/image.h"

namespace cytocon::data {

using Block = std::shared_ptr<const std::vector<uint8_t>>;

struct BlockKey {
  uint64_t image = 0;  // Image uid
  int32_t level = 0;
  int64_t block = 0;
  bool operator==(const BlockKey& o) const {
    return image == o.image && level == o.level && block == o.block;
  }
};

Block cache_get(const BlockKey& k);
void cache_put(const BlockKey& k, Block b);  // evicts least recently used blocks beyond capacity
uint64_t new_image_uid();

}  // namespace cytocon::data

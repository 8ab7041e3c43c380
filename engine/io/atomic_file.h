// Whole-file IO that never leaves a half-written file behind.
#pragma once
#include <string>

namespace cytocon::io {

// Write `bytes` to `path` atomically: write a temporary file in the same directory, fsync it,
// rename it over `path`, fsync the directory. On any error the temporary is removed, `path` is
// untouched, and the error names the path and the failing system call (errno text).
void write_file_atomic(const std::string& path, const std::string& bytes);

// Fails unless `path` is a regular file (or a link to one), without opening it (a FIFO would block,
// /dev/zero never end): "<path>: not found", "<path>: not a regular file (a directory)", or the
// system's reason (e.g. "Too many open files"). `what` ("config", "image", ...) prefixes the path.
void require_regular_file(const std::string& path, const std::string& what = "");

// The whole file; fails naming the path if it is not a regular file or cannot be opened or read.
std::string read_file(const std::string& path);

// FNV-1a 64-bit hash of `n` bytes (continuing from `h`; start with fnv1a64_init).
constexpr unsigned long long fnv1a64_init = 0xcbf29ce484222325ull;
unsigned long long fnv1a64(const void* data, size_t n, unsigned long long h = fnv1a64_init);

}  // namespace cytocon::io

// formatF32Rows: a row-major float32 matrix -> the JSON text `[[f,...],[f,...]]`
// exactly as TEI writes its /embed answer (serde_json + ryu: the shortest decimal
// that reads back as the same f32, laid out by ryu's format32 rules; NaN and
// +-Infinity as null; -0 as -0.0). JS twin: formatF32Rows in
// src/native/fallback.ts (built on formatF32 in src/codec/f32-text.ts); the two
// must produce identical bytes.
#ifndef TEI_ROUTER_NATIVE_FORMAT_F32_ROWS_H_
#define TEI_ROUTER_NATIVE_FORMAT_F32_ROWS_H_

#include <napi.h>

#include <cstddef>

namespace tei_router {

// Longest text FormatF32 writes: "-0.00000" + 9 digits.
constexpr std::size_t kMaxF32TextLength = 17;

// Plain kernel, no Node-API: writes the text of one value at `out` (at least
// kMaxF32TextLength bytes) and returns its length. The digits come from
// std::to_chars (shortest round-trip, i.e. ryu's f2s); the layout is ryu's.
std::size_t FormatF32(float value, char* out) noexcept;

// Upper bound of the text of a rows x dim matrix.
std::size_t FormatF32RowsBound(std::size_t rows, std::size_t dim) noexcept;

// Plain kernel: writes `[[...],...]` at `out` (FormatF32RowsBound bytes) and
// returns its length.
std::size_t FormatF32RowsKernel(const float* data, std::size_t rows, std::size_t dim, char* out) noexcept;

// JS: formatF32Rows(data: Float32Array, dim: number): Buffer
// Validates like checkRowShape() in src/native/fallback.ts (same errors, same
// messages, op "formatF32Rows"), then returns a new Buffer with the ASCII text.
Napi::Value FormatF32Rows(const Napi::CallbackInfo& info);

}  // namespace tei_router

#endif  // TEI_ROUTER_NATIVE_FORMAT_F32_ROWS_H_

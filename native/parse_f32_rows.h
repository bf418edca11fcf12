// parseF32Rows: TEI's /embed answer body `[[f32, ...], ...]` (UTF-8 JSON bytes)
// read straight into a row-major float32 matrix. JS twin: parseF32Rows in
// src/native/fallback.ts; the two must agree bit for bit and throw the same
// errors (a malformed body: SyntaxError with the same message, except the
// detail in parentheses of "not JSON (...)").
//
// Every value equals Math.fround(JSON.parse(text)[i][j]): each number is
// checked against JSON's grammar, read as the correctly rounded double
// (std::from_chars), then rounded once to float (never parsed straight to
// float: that would round differently from JS in rare cases). null is
// serde_json's text for a non-finite f32 and reads as NaN (0x7fc00000).
#ifndef TEI_ROUTER_NATIVE_PARSE_F32_ROWS_H_
#define TEI_ROUTER_NATIVE_PARSE_F32_ROWS_H_

#include <napi.h>

#include <cstddef>
#include <string>

namespace tei_router {

// Where the rows go: a caller's array when has_out (rows start at element
// row_offset * dim and must end within out_length; out may be null when
// out_length is 0), else memory the kernel allocates with malloc and hands
// over in *owned (the caller frees it; null when there are no values).
struct F32RowsTarget {
  bool has_out;
  float* out;
  std::size_t out_length;
  double row_offset;
  float** owned;
};

enum class F32RowsStatus {
  kOk,
  // The body is not of the shape `[[number|null, ...], ...]` with rows of one
  // length (or is not JSON at all): explain it with ExplainF32Rows.
  kMalformed,
  // Well formed so far, but the rows do not fit in the caller's array.
  kNoFit,
  kOutOfMemory,
};

struct F32RowsResult {
  F32RowsStatus status;
  std::size_t rows;
  std::size_t dim;
};

// The fast path, no Node-API. Never reads outside [body, body + length). On
// kMalformed / kNoFit the target may hold some of the rows already.
F32RowsResult ParseF32RowsKernel(const char* body, std::size_t length, const F32RowsTarget& target) noexcept;

// The slow path, for a body the fast path did not accept: validates the whole
// body as JSON, then walks it in the order the JS twin checks it. Returns the
// message of the first problem ("not JSON (...)", "the body is not an array",
// "row 3 is not an array", "row 3 has 5 values, row 0 has 4", "row 3 value 2
// is not a number"), or "" when the body is well formed, with *rows and *dim set.
std::string ExplainF32Rows(const char* body, std::size_t length, std::size_t* rows, std::size_t* dim);

// JS: parseF32Rows(body: Uint8Array, out?: Float32Array, rowOffset?: number)
//       : { rows: number; dim: number; vectors: Float32Array }
// Argument errors: TypeError / RangeError with the JS twin's messages.
Napi::Value ParseF32Rows(const Napi::CallbackInfo& info);

}  // namespace tei_router

#endif  // TEI_ROUTER_NATIVE_PARSE_F32_ROWS_H_

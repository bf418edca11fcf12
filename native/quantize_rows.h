// quantizeRows: a row-major float32 matrix -> a new Uint8Array of its rows
// quantized to float16 (IEEE binary16, little-endian), int8, uint8 or packed
// bits. JS twin: quantizeRows in src/native/fallback.ts (with f16Bits and
// roundAway there); the two must produce identical bytes and throw the same
// errors.
#ifndef TEI_ROUTER_NATIVE_QUANTIZE_ROWS_H_
#define TEI_ROUTER_NATIVE_QUANTIZE_ROWS_H_

#include <napi.h>

#include <cstddef>
#include <cstdint>

namespace tei_router {

// QUANTIZED_DTYPES in src/codec/output-dtype.ts, same order.
enum class QuantizedDtype { kFloat16, kInt8, kUint8, kBinary };

// Bytes of one quantized row of `dim` values (quantizedRowBytes in
// src/codec/output-dtype.ts): 2 per value for float16, 1 for int8 and uint8,
// ceil(dim / 8) for binary.
std::size_t QuantizedRowBytes(QuantizedDtype dtype, std::size_t dim) noexcept;

// IEEE 754 binary16 bits of the float32 with bits `bits`: round to nearest,
// ties to even; too large -> +-Infinity; NaN -> 0x7e00 with the sign kept
// (f16Bits in src/native/fallback.ts, integer operations only).
std::uint16_t F16Bits(std::uint32_t bits) noexcept;

// Plain kernel, no Node-API. Writes rows * QuantizedRowBytes(dtype, dim)
// bytes at `out`, row after row:
// - float16: F16Bits of each value, low byte first;
// - int8:    clamp(round(x * 127), -127, 127) as a two's complement byte;
// - uint8:   clamp(round((x + 1) * 127.5), 0, 255);
// - binary:  bit 7 - (j % 8) of byte j / 8 of a row is x_j > 0; padding 0.
// x is promoted to double and round() is half away from zero (std::round, the
// JS roundAway; computed exactly without libm); NaN counts as 0 (int8 -> 0,
// uint8 -> 128, binary -> bit 0).
void QuantizeRowsKernel(const float* data, std::size_t rows, std::size_t dim, QuantizedDtype dtype,
                        std::uint8_t* out) noexcept;

// JS: quantizeRows(data: Float32Array, dim: number, dtype: string): Uint8Array
// Validates like quantizeRows in src/native/fallback.ts (checkRowShape with op
// "quantizeRows", then the dtype: RangeError with the same message), then
// returns a new Uint8Array with the quantized rows (length 0 for no rows).
Napi::Value QuantizeRows(const Napi::CallbackInfo& info);

}  // namespace tei_router

#endif  // TEI_ROUTER_NATIVE_QUANTIZE_ROWS_H_

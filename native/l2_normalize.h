// l2NormalizeRows: in-place unit-L2 normalisation of the rows of a row-major
// float32 matrix. JS twin: l2NormalizeRows in src/native/fallback.ts; the two
// must stay bit-identical (same operations, same order, same rounding).
#ifndef TEI_ROUTER_NATIVE_L2_NORMALIZE_H_
#define TEI_ROUTER_NATIVE_L2_NORMALIZE_H_

#include <napi.h>

#include <cstddef>

namespace tei_router {

// Plain kernel, no Node-API. For each of `rows` rows of `dim` floats starting at
// `data`: sum = sum of x*x accumulated sequentially in double; norm = sqrt(sum);
// a row with norm == 0 is left unchanged; otherwise x = (float)((double)x / norm).
void L2NormalizeRowsKernel(float* data, std::size_t rows, std::size_t dim) noexcept;

// JS: l2NormalizeRows(data: Float32Array, dim: number): void
// Validates like checkRowShape() in src/native/fallback.ts (same errors, same
// messages), then runs the kernel synchronously on the array's memory.
Napi::Value L2NormalizeRows(const Napi::CallbackInfo& info);

}  // namespace tei_router

#endif  // TEI_ROUTER_NATIVE_L2_NORMALIZE_H_

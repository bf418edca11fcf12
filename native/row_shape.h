// Shared argument check of the row-wise operations (l2NormalizeRows,
// formatF32Rows): `(data: Float32Array, dim: number)`. JS twin: checkRowShape()
// in src/native/fallback.ts (same checks, same order, same errors and messages).
// Not an operation of its own: nothing here is registered in addon.cc.
#ifndef TEI_ROUTER_NATIVE_ROW_SHAPE_H_
#define TEI_ROUTER_NATIVE_ROW_SHAPE_H_

#include <napi.h>

#include <cstddef>

namespace tei_router {

struct RowShape {
  float* data;
  std::size_t rows;
  std::size_t dim;
};

// Checks info[0] (data) and info[1] (dim) and fills `out`. Returns false with a
// pending JS exception (TypeError or RangeError, prefixed with `op`). An empty
// matrix has rows == 0 and dim == 1 whatever dim was passed.
bool CheckRowShape(const Napi::CallbackInfo& info, const char* op, RowShape* out);

}  // namespace tei_router

#endif  // TEI_ROUTER_NATIVE_ROW_SHAPE_H_

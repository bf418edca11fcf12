#include "l2_normalize.h"

#include <cmath>

#include "row_shape.h"

namespace tei_router {

void L2NormalizeRowsKernel(float* data, std::size_t rows, std::size_t dim) noexcept {
  for (std::size_t r = 0; r < rows; ++r) {
    float* row = data + r * dim;
    // Sequential accumulation in double: no reassociation (the build never uses
    // -ffast-math) and no FMA contraction (-ffp-contract=off), exactly like JS.
    double sum = 0.0;
    for (std::size_t i = 0; i < dim; ++i) {
      const double x = static_cast<double>(row[i]);
      sum += x * x;
    }
    const double norm = std::sqrt(sum);
    if (norm == 0.0) continue;
    for (std::size_t i = 0; i < dim; ++i) {
      // Divide in double, then round once to float32 (== Math.fround(x / norm)).
      row[i] = static_cast<float>(static_cast<double>(row[i]) / norm);
    }
  }
}

Napi::Value L2NormalizeRows(const Napi::CallbackInfo& info) {
  RowShape shape{};
  if (!CheckRowShape(info, "l2NormalizeRows", &shape)) return info.Env().Undefined();
  L2NormalizeRowsKernel(shape.data, shape.rows, shape.dim);
  return info.Env().Undefined();
}

}  // namespace tei_router

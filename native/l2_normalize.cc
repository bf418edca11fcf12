#include "l2_normalize.h"

#include <cmath>
#include <string>

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

namespace {

struct RowShape {
  float* data;
  std::size_t rows;
  std::size_t dim;
};

// Mirrors checkRowShape() in src/native/fallback.ts: same checks, same order,
// same error classes and messages. Returns false with a pending JS exception.
bool CheckRowShape(const Napi::CallbackInfo& info, const char* op, RowShape* out) {
  Napi::Env env = info.Env();
  const std::string prefix = std::string(op) + ": ";

  Napi::Value data_value = info[0];
  if (!data_value.IsTypedArray() ||
      data_value.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    Napi::TypeError::New(env, prefix + "data must be a Float32Array").ThrowAsJavaScriptException();
    return false;
  }

  Napi::Value dim_value = info[1];
  if (!dim_value.IsNumber()) {
    Napi::TypeError::New(env, prefix + "dim must be a number").ThrowAsJavaScriptException();
    return false;
  }
  const double dim = dim_value.As<Napi::Number>().DoubleValue();
  if (!(std::isfinite(dim) && dim > 0.0 && std::floor(dim) == dim)) {
    // ToString() is JS String(dim), so the text matches the JS template literal.
    Napi::RangeError::New(env, prefix + "dim must be a positive integer (got " +
                                   dim_value.ToString().Utf8Value() + ")")
        .ThrowAsJavaScriptException();
    return false;
  }

  Napi::Float32Array array = data_value.As<Napi::Float32Array>();
  const std::size_t length = array.ElementLength();
  // JS: data.length % dim !== 0. A dim larger than a non-empty array never
  // divides it; compare in double first so the size_t cast below is safe.
  if (length != 0 &&
      (dim > static_cast<double>(length) || length % static_cast<std::size_t>(dim) != 0)) {
    Napi::RangeError::New(env, prefix + "data.length (" + std::to_string(length) +
                                   ") is not a multiple of dim (" + dim_value.ToString().Utf8Value() +
                                   ")")
        .ThrowAsJavaScriptException();
    return false;
  }

  out->data = array.Data();
  out->dim = length == 0 ? 1 : static_cast<std::size_t>(dim);
  out->rows = length == 0 ? 0 : length / out->dim;
  return true;
}

}  // namespace

Napi::Value L2NormalizeRows(const Napi::CallbackInfo& info) {
  RowShape shape{};
  if (!CheckRowShape(info, "l2NormalizeRows", &shape)) return info.Env().Undefined();
  L2NormalizeRowsKernel(shape.data, shape.rows, shape.dim);
  return info.Env().Undefined();
}

}  // namespace tei_router

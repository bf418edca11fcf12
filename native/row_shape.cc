#include "row_shape.h"

#include <cmath>
#include <string>

namespace tei_router {

// Mirrors checkRowShape() in src/native/fallback.ts: same checks, same order,
// same error classes and messages.
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

}  // namespace tei_router

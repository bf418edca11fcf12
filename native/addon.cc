// tei-router native addon: registers exports only, one line per operation.
// Each operation lives in its own native/<op>.{h,cc} with a JS twin in
// src/native/fallback.ts; the only loader is src/native/binding.ts.
#include <napi.h>

#include "format_f32_rows.h"
#include "l2_normalize.h"
#include "parse_f32_rows.h"
#include "quantize_rows.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("l2NormalizeRows", Napi::Function::New(env, tei_router::L2NormalizeRows, "l2NormalizeRows"));
  exports.Set("parseF32Rows", Napi::Function::New(env, tei_router::ParseF32Rows, "parseF32Rows"));
  exports.Set("formatF32Rows", Napi::Function::New(env, tei_router::FormatF32Rows, "formatF32Rows"));
  exports.Set("quantizeRows", Napi::Function::New(env, tei_router::QuantizeRows, "quantizeRows"));
  return exports;
}

}  // namespace

NODE_API_MODULE(tei_router_native, Init)

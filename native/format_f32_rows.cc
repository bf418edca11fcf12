#include "format_f32_rows.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <system_error>

#include "row_shape.h"

namespace tei_router {

namespace {

// Writes `n` ASCII zeros.
inline char* Zeros(char* p, int n) noexcept {
  std::memset(p, '0', static_cast<std::size_t>(n));
  return p + n;
}

// Writes a (possibly negative) exponent without a plus sign, like JS `${n}`.
inline char* Exponent(char* p, int e) noexcept {
  if (e < 0) {
    *p++ = '-';
    e = -e;
  }
  if (e >= 10) *p++ = static_cast<char>('0' + e / 10);
  *p++ = static_cast<char>('0' + e % 10);
  return p;
}

}  // namespace

std::size_t FormatF32(float value, char* out) noexcept {
  char* p = out;
  if (!std::isfinite(value)) {
    std::memcpy(p, "null", 4);
    return 4;
  }
  if (std::signbit(value)) *p++ = '-';
  const float a = std::fabs(value);
  if (a == 0.0f) {
    std::memcpy(p, "0.0", 3);
    return static_cast<std::size_t>(p - out) + 3;
  }

  // Shortest round-trip digits in scientific form: d[.ddd]e(+|-)XX, no trailing
  // zeros in the mantissa (libstdc++ and MSVC use ryu's f2s for this).
  char sci[32];
  const std::to_chars_result r = std::to_chars(sci, sci + sizeof sci, a, std::chars_format::scientific);
  if (r.ec != std::errc()) {  // cannot happen: 32 bytes is plenty
    std::memcpy(out, "null", 4);
    return 4;
  }
  char digits[16];
  int length = 0;
  const char* q = sci;
  digits[length++] = *q++;
  if (*q == '.') {
    for (++q; *q != 'e' && length < 15; ++q) digits[length++] = *q;
    while (*q != 'e') ++q;
  }
  ++q;  // 'e'
  const bool negative_exp = *q == '-';
  ++q;  // sign
  int sci_exp = 0;
  for (; q < r.ptr; ++q) sci_exp = sci_exp * 10 + (*q - '0');
  if (negative_exp) sci_exp = -sci_exp;

  // ryu's format32 with v = digits x 10^exponent, 10^(kk-1) <= v < 10^kk.
  const int kk = sci_exp + 1;
  const int exponent = kk - length;
  if (exponent >= 0 && kk <= 13) {
    // 1234e7 -> 12340000000.0
    std::memcpy(p, digits, static_cast<std::size_t>(length));
    p = Zeros(p + length, kk - length);
    *p++ = '.';
    *p++ = '0';
  } else if (kk > 0 && kk <= 13) {
    // 1234e-2 -> 12.34
    std::memcpy(p, digits, static_cast<std::size_t>(kk));
    p += kk;
    *p++ = '.';
    std::memcpy(p, digits + kk, static_cast<std::size_t>(length - kk));
    p += length - kk;
  } else if (kk > -6 && kk <= 0) {
    // 1234e-6 -> 0.001234
    *p++ = '0';
    *p++ = '.';
    p = Zeros(p, -kk);
    std::memcpy(p, digits, static_cast<std::size_t>(length));
    p += length;
  } else if (length == 1) {
    // 1e30
    *p++ = digits[0];
    *p++ = 'e';
    p = Exponent(p, kk - 1);
  } else {
    // 1234e30 -> 1.234e33
    *p++ = digits[0];
    *p++ = '.';
    std::memcpy(p, digits + 1, static_cast<std::size_t>(length - 1));
    p += length - 1;
    *p++ = 'e';
    p = Exponent(p, kk - 1);
  }
  return static_cast<std::size_t>(p - out);
}

std::size_t FormatF32RowsBound(std::size_t rows, std::size_t dim) noexcept {
  // '[' + per row: '[' + dim values each followed by ',' (the last one by ']') + ','; ']'.
  return 2 + rows * (2 + dim * (kMaxF32TextLength + 1));
}

std::size_t FormatF32RowsKernel(const float* data, std::size_t rows, std::size_t dim, char* out) noexcept {
  char* p = out;
  *p++ = '[';
  for (std::size_t r = 0; r < rows; ++r) {
    if (r != 0) *p++ = ',';
    *p++ = '[';
    const float* row = data + r * dim;
    for (std::size_t i = 0; i < dim; ++i) {
      if (i != 0) *p++ = ',';
      p += FormatF32(row[i], p);
    }
    *p++ = ']';
  }
  *p++ = ']';
  return static_cast<std::size_t>(p - out);
}

namespace {

// Scratch memory for the text, kept per thread (the addon runs on the main
// thread and in worker threads) so that a batch does not pay page faults for
// fresh memory twice; a scratch grown past kKeepBytes is given back after use.
constexpr std::size_t kKeepBytes = std::size_t{32} << 20;

struct Scratch {
  char* data = nullptr;
  std::size_t capacity = 0;
  ~Scratch() { std::free(data); }
  char* Get(std::size_t n) noexcept {
    if (n > capacity) {
      std::free(data);
      data = static_cast<char*>(std::malloc(n));
      capacity = data == nullptr ? 0 : n;
    }
    return data;
  }
  void Trim() noexcept {
    if (capacity > kKeepBytes) {
      std::free(data);
      data = nullptr;
      capacity = 0;
    }
  }
};

thread_local Scratch scratch;

}  // namespace

Napi::Value FormatF32Rows(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RowShape shape{};
  if (!CheckRowShape(info, "formatF32Rows", &shape)) return env.Undefined();
  const std::size_t bound = FormatF32RowsBound(shape.rows, shape.dim);
  // Formatted into scratch memory, then copied into a Buffer of the exact size.
  char* text = scratch.Get(bound);
  if (text == nullptr) {
    Napi::RangeError::New(env, "formatF32Rows: out of memory (" + std::to_string(bound) + " bytes)")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const std::size_t length = FormatF32RowsKernel(shape.data, shape.rows, shape.dim, text);
  Napi::Value result = Napi::Buffer<char>::Copy(env, text, length);
  scratch.Trim();
  return result;
}

}  // namespace tei_router

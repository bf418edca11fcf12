#include "parse_f32_rows.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <system_error>
#include <vector>

namespace tei_router {

namespace {

// ---------------------------------------------------------------------------
// Shared lexical helpers (JSON, RFC 8259)

inline bool IsWs(char c) noexcept { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

inline bool IsDigit(char c) noexcept { return static_cast<unsigned char>(c - '0') < 10; }

inline const char* SkipWs(const char* p, const char* e) noexcept {
  while (p < e && IsWs(*p)) ++p;
  return p;
}

// A leading UTF-8 byte order mark is skipped, as undici's body.text() (and
// TextDecoder) do before JSON.parse sees the text.
inline const char* SkipBom(const char* p, const char* e) noexcept {
  if (e - p >= 3 && static_cast<unsigned char>(p[0]) == 0xef && static_cast<unsigned char>(p[1]) == 0xbb &&
      static_cast<unsigned char>(p[2]) == 0xbf) {
    return p + 3;
  }
  return p;
}

// A JSON number at p: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
// Returns its end, or nullptr when p does not start one.
const char* ScanNumber(const char* p, const char* e) noexcept {
  if (p < e && *p == '-') ++p;
  if (p == e) return nullptr;
  if (*p == '0') {
    ++p;
  } else if (IsDigit(*p)) {
    while (p < e && IsDigit(*p)) ++p;
  } else {
    return nullptr;
  }
  if (p < e && *p == '.') {
    ++p;
    if (p == e || !IsDigit(*p)) return nullptr;
    while (p < e && IsDigit(*p)) ++p;
  }
  if (p < e && (*p == 'e' || *p == 'E')) {
    ++p;
    if (p < e && (*p == '+' || *p == '-')) ++p;
    if (p == e || !IsDigit(*p)) return nullptr;
    while (p < e && IsDigit(*p)) ++p;
  }
  return p;
}

// For a valid JSON number that std::from_chars found out of double's range:
// whether it is too large (-> +-Infinity, as JSON.parse gives) rather than too
// small (-> +-0). Out of range means |x| > ~1.8e308 or |x| < ~2.5e-324, so the
// decimal order of magnitude (10^(order-1) <= |x| < 10^order) tells them apart.
bool IsHuge(const char* p, const char* e) noexcept {
  if (*p == '-') ++p;
  long long order = 0;
  bool nonzero = false;
  while (p < e && IsDigit(*p)) {
    if (*p != '0') nonzero = true;
    if (nonzero) ++order;
    ++p;
  }
  if (p < e && *p == '.') {
    for (++p; p < e && IsDigit(*p); ++p) {
      if (nonzero) continue;
      if (*p != '0') {
        nonzero = true;
      } else {
        --order;
      }
    }
  }
  if (!nonzero) return false;  // zero is never out of range
  long long exponent = 0;
  bool negative = false;
  if (p < e && (*p == 'e' || *p == 'E')) {
    ++p;
    if (*p == '+' || *p == '-') negative = *p++ == '-';
    for (; p < e && IsDigit(*p); ++p) {
      if (exponent < 1000000000) exponent = exponent * 10 + (*p - '0');
    }
  }
  return order + (negative ? -exponent : exponent) > 0;
}

// Math.fround: round a double to the nearest float, ties to even. Spelled out
// for the overflow case, which a plain cast leaves undefined in C++.
inline float RoundToF32(double d) noexcept {
  if (std::fabs(d) >= 0x1.ffffffp127) {  // FLT_MAX + half an ulp: rounds to infinity
    return std::copysign(std::numeric_limits<float>::infinity(), static_cast<float>(std::signbit(d) ? -1 : 1));
  }
  return static_cast<float>(d);
}

// Exact powers of ten representable as doubles (Clinger's fast path).
constexpr double kPow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                             1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

// Whether the 8 bytes at p are all ASCII digits (SWAR).
inline bool EightDigits(const char* p) noexcept {
  std::uint64_t v;
  std::memcpy(&v, p, 8);
  return ((v & 0xf0f0f0f0f0f0f0f0u) | (((v + 0x0606060606060606u) & 0xf0f0f0f0f0f0f0f0u) >> 4)) ==
         0x3333333333333333u;
}

// The value of 8 ASCII digits at p, most significant first (SWAR, little-endian
// loads; the byte order is fixed up for big-endian hosts).
inline std::uint64_t ParseEightDigits(const char* p) noexcept {
  std::uint64_t v;
  std::memcpy(&v, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  v = __builtin_bswap64(v);
#endif
  v -= 0x3030303030303030u;
  v = v * 10 + (v >> 8);  // pairs of digits
  return (((v & 0x000000ff000000ffu) * 0x000f424000000064u) +
          (((v >> 16) & 0x000000ff000000ffu) * 0x0000271000000001u)) >>
         32;
}

// Reads the JSON number at p as Math.fround(Number(text)). Returns its end, or
// nullptr when p does not start a JSON number.
const char* ReadNumber(const char* p, const char* e, float* out) noexcept {
  const char* const start = p;
  const bool negative = *p == '-';
  if (negative) ++p;
  if (p == e) return nullptr;
  // All digits go into `mantissa` (wrapping past 19 significant digits, when
  // the value is not used).
  std::uint64_t mantissa = 0;
  const char* const int_start = p;
  if (*p == '0') {
    ++p;
  } else if (IsDigit(*p)) {
    do {
      mantissa = mantissa * 10 + static_cast<unsigned>(*p - '0');
      ++p;
    } while (p < e && IsDigit(*p));
  } else {
    return nullptr;
  }
  const std::size_t int_digits = static_cast<std::size_t>(p - int_start);
  const char* frac_start = p;
  std::size_t frac_digits = 0;
  if (p < e && *p == '.') {
    frac_start = ++p;
    while (e - p >= 8 && EightDigits(p)) {
      mantissa = mantissa * 100000000 + ParseEightDigits(p);
      p += 8;
    }
    while (p < e && IsDigit(*p)) {
      mantissa = mantissa * 10 + static_cast<unsigned>(*p - '0');
      ++p;
    }
    frac_digits = static_cast<std::size_t>(p - frac_start);
    if (frac_digits == 0) return nullptr;
  }
  long long exponent = 0;
  if (p < e && (*p == 'e' || *p == 'E')) {
    ++p;
    bool negative_exp = false;
    if (p < e && (*p == '+' || *p == '-')) negative_exp = *p++ == '-';
    if (p == e || !IsDigit(*p)) return nullptr;
    do {
      if (exponent < 100000) exponent = exponent * 10 + (*p - '0');
      ++p;
    } while (p < e && IsDigit(*p));
    if (negative_exp) exponent = -exponent;
  }

  // Significant digits: all of them but the leading zeros (of "0.000ddd").
  bool exact_mantissa = int_digits + frac_digits <= 19;
  if (!exact_mantissa && *int_start == '0') {
    std::size_t zeros = 1;
    while (zeros <= frac_digits && frac_start[zeros - 1] == '0') ++zeros;
    exact_mantissa = int_digits + frac_digits - zeros <= 19;
  }
  const long long scale = exponent - static_cast<long long>(frac_digits);
  double d;
  if (exact_mantissa && mantissa <= (std::uint64_t{1} << 53) && scale >= -22 && scale <= 22) {
    // Clinger's fast path: both operands are exact doubles, so one IEEE
    // multiply or divide gives the correctly rounded value of the decimal, as
    // from_chars would.
    d = static_cast<double>(mantissa);
    d = scale < 0 ? d / kPow10[-scale] : d * kPow10[scale];
    if (negative) d = -d;
  } else {
    const std::from_chars_result r = std::from_chars(start, p, d);
    if (r.ec == std::errc::result_out_of_range) {
      const double magnitude = IsHuge(start, p) ? std::numeric_limits<double>::infinity() : 0.0;
      d = negative ? -magnitude : magnitude;
    } else if (r.ec != std::errc() || r.ptr != p) {
      return nullptr;  // cannot happen for a number that passed the grammar above
    }
  }
  *out = RoundToF32(d);
  return p;
}

// A value of a row: a number, or null (NaN).
inline const char* ReadValue(const char* p, const char* e, float* out) noexcept {
  if (p == e) return nullptr;
  if (*p == 'n') {
    if (e - p < 4 || std::memcmp(p, "null", 4) != 0) return nullptr;
    const std::uint32_t nan_bits = 0x7fc00000u;  // what JS stores for NaN in a Float32Array
    std::memcpy(out, &nan_bits, sizeof nan_bits);
    return p + 4;
  }
  return ReadNumber(p, e, out);
}

// A malloc'd float buffer that grows by doubling; failures are reported, not thrown.
class FloatBuffer {
 public:
  FloatBuffer() = default;
  FloatBuffer(const FloatBuffer&) = delete;
  FloatBuffer& operator=(const FloatBuffer&) = delete;
  ~FloatBuffer() { std::free(data_); }

  float* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }

  bool Reserve(std::size_t capacity) noexcept {
    if (capacity <= capacity_) return true;
    if (capacity > std::numeric_limits<std::size_t>::max() / sizeof(float)) return false;
    void* grown = std::realloc(data_, capacity * sizeof(float));
    if (grown == nullptr) return false;
    data_ = static_cast<float*>(grown);
    capacity_ = capacity;
    return true;
  }

  // Room for `n` more values at the end; nullptr when out of memory.
  float* Extend(std::size_t n) noexcept {
    if (size_ + n > capacity_ && !Reserve(std::max(size_ + n, capacity_ * 2 + 64))) return nullptr;
    float* at = data_ + size_;
    size_ += n;
    return at;
  }

  void Shrink(std::size_t n) noexcept { size_ -= n; }

  float* Release() noexcept {
    float* d = data_;
    data_ = nullptr;
    size_ = capacity_ = 0;
    return d;
  }

 private:
  float* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};

// ---------------------------------------------------------------------------
// The slow path: a generic JSON validator (iterative: JSON.parse accepts any
// nesting depth) and the structural walk of the JS twin.

// Skips the string at p (at '"'). Returns its end or nullptr. Bytes >= 0x80 are
// not checked: the JS twin decodes invalid UTF-8 to U+FFFD, which JSON allows
// in strings, and the decoder never swallows an ASCII byte.
const char* SkipString(const char* p, const char* e) noexcept {
  for (++p; p < e; ++p) {
    const unsigned char c = static_cast<unsigned char>(*p);
    if (c == '"') return p + 1;
    if (c < 0x20) return nullptr;
    if (c == '\\') {
      if (++p == e) return nullptr;
      switch (*p) {
        case '"':
        case '\\':
        case '/':
        case 'b':
        case 'f':
        case 'n':
        case 'r':
        case 't':
          break;
        case 'u':
          for (int i = 0; i < 4; ++i) {
            if (++p == e || !std::isxdigit(static_cast<unsigned char>(*p))) return nullptr;
          }
          break;
        default:
          return nullptr;
      }
    }
  }
  return nullptr;
}

const char* SkipLiteral(const char* p, const char* e, const char* word, std::size_t n) noexcept {
  if (static_cast<std::size_t>(e - p) < n || std::memcmp(p, word, n) != 0) return nullptr;
  return p + n;
}

// Scans the JSON scalar (string, number, literal) at p; nullptr when invalid.
const char* SkipScalar(const char* p, const char* e) noexcept {
  switch (*p) {
    case '"':
      return SkipString(p, e);
    case 't':
      return SkipLiteral(p, e, "true", 4);
    case 'f':
      return SkipLiteral(p, e, "false", 5);
    case 'n':
      return SkipLiteral(p, e, "null", 4);
    default:
      return ScanNumber(p, e);
  }
}

// Where the first JSON syntax error of [p, e) is, or nullptr when the whole
// text is one valid JSON value (with optional whitespace around it).
const char* FirstSyntaxError(const char* p, const char* e) {
  std::vector<char> stack;  // '[' or '{' per open container
  enum class Want { kValue, kKey, kAfterValue } want = Want::kValue;
  p = SkipWs(p, e);
  for (;;) {
    if (want == Want::kValue) {
      if (p == e) return p;
      if (*p == '[' || *p == '{') {
        const char open = *p;
        stack.push_back(open);
        p = SkipWs(p + 1, e);
        if (p < e && *p == (open == '[' ? ']' : '}')) {
          stack.pop_back();
          ++p;
          want = Want::kAfterValue;
        } else {
          want = open == '[' ? Want::kValue : Want::kKey;
        }
        continue;
      }
      const char* end = SkipScalar(p, e);
      if (end == nullptr) return p;
      p = end;
      want = Want::kAfterValue;
    } else if (want == Want::kKey) {
      if (p == e || *p != '"') return p;
      const char* end = SkipString(p, e);
      if (end == nullptr) return p;
      p = SkipWs(end, e);
      if (p == e || *p != ':') return p;
      p = SkipWs(p + 1, e);
      want = Want::kValue;
    } else {  // kAfterValue
      p = SkipWs(p, e);
      if (stack.empty()) return p == e ? nullptr : p;
      if (p == e) return p;
      if (*p == ',') {
        p = SkipWs(p + 1, e);
        want = stack.back() == '[' ? Want::kValue : Want::kKey;
      } else if (*p == (stack.back() == '[' ? ']' : '}')) {
        stack.pop_back();
        ++p;
      } else {
        return p;
      }
    }
  }
}

// Skips one value of a text already known to be valid JSON.
const char* SkipValid(const char* p, const char* e) noexcept {
  if (*p != '[' && *p != '{') return SkipScalar(p, e);
  std::size_t depth = 0;
  do {
    const char c = *p;
    if (c == '"') {
      p = SkipString(p, e);
      continue;
    }
    if (c == '[' || c == '{') ++depth;
    if (c == ']' || c == '}') --depth;
    ++p;
  } while (depth > 0);
  return p;
}

std::string Describe(const char* at, const char* body, const char* e) {
  const std::string where = " at byte " + std::to_string(at - body);
  if (at == e) return "unexpected end" + where;
  const unsigned char c = static_cast<unsigned char>(*at);
  if (c >= 0x20 && c < 0x7f) return std::string("unexpected '") + static_cast<char>(c) + "'" + where;
  static const char kHex[] = "0123456789abcdef";
  return std::string("unexpected byte 0x") + kHex[c >> 4] + kHex[c & 15] + where;
}

}  // namespace

// ---------------------------------------------------------------------------

F32RowsResult ParseF32RowsKernel(const char* body, std::size_t length, const F32RowsTarget& target) noexcept {
  const char* const e = body + length;
  F32RowsResult result{F32RowsStatus::kMalformed, 0, 0};
  const char* p = SkipWs(SkipBom(body, e), e);
  if (p == e || *p != '[') return result;
  p = SkipWs(p + 1, e);
  if (p < e && *p == ']') {  // no rows
    result.status = SkipWs(p + 1, e) == e ? F32RowsStatus::kOk : F32RowsStatus::kMalformed;
    return result;
  }

  // Row 0 fixes dim; it is read into `first` (the whole matrix when there is no out).
  FloatBuffer first;
  if (p == e || *p != '[') return result;
  const char* const row0_start = p;
  p = SkipWs(p + 1, e);
  if (p < e && *p == ']') {
    ++p;
  } else {
    for (;;) {
      float* slot = first.Extend(1);
      if (slot == nullptr) return {F32RowsStatus::kOutOfMemory, 0, 0};
      p = ReadValue(p, e, slot);
      if (p == nullptr) return result;
      p = SkipWs(p, e);
      if (p == e) return result;
      if (*p == ']') {
        ++p;
        break;
      }
      if (*p != ',') return result;
      p = SkipWs(p + 1, e);
    }
  }
  const std::size_t dim = first.size();
  result.dim = dim;

  const bool into_out = target.has_out;
  // Rows [row_offset, row_offset + rows) of `out` must lie within out_length,
  // compared in double exactly as the JS twin does.
  auto fits = [&](std::size_t rows) {
    return (target.row_offset + static_cast<double>(rows)) * static_cast<double>(dim) <=
           static_cast<double>(target.out_length);
  };
  float* base = nullptr;  // row 0 of the destination (out mode)
  if (into_out) {
    if (!fits(1)) return {F32RowsStatus::kNoFit, 1, dim};
    base = dim == 0 ? target.out : target.out + static_cast<std::size_t>(target.row_offset) * dim;
    if (dim != 0) std::memcpy(base, first.data(), dim * sizeof(float));
  } else if (dim != 0) {
    // Guess the row count from row 0's text length, to grow at most rarely.
    const std::size_t row_bytes = static_cast<std::size_t>(p - row0_start) + 1;
    const std::size_t guess = length / row_bytes + 1;
    if (guess <= std::numeric_limits<std::size_t>::max() / dim) first.Reserve(guess * dim);
  }

  std::size_t rows = 1;
  for (;;) {
    p = SkipWs(p, e);
    if (p == e) return result;
    if (*p == ']') {
      ++p;
      break;
    }
    if (*p != ',') return result;
    p = SkipWs(p + 1, e);
    if (p == e || *p != '[') return result;
    p = SkipWs(p + 1, e);

    float* row;
    if (into_out) {
      if (!fits(rows + 1)) return {F32RowsStatus::kNoFit, rows + 1, dim};
      row = base + rows * dim;
    } else if (dim != 0) {
      row = first.Extend(dim);
      if (row == nullptr) return {F32RowsStatus::kOutOfMemory, 0, 0};
    } else {
      row = nullptr;  // nothing to write
    }
    if (dim == 0) {
      if (p == e || *p != ']') return result;
      ++p;
    } else {
      for (std::size_t j = 0;;) {
        p = ReadValue(p, e, row + j);
        if (p == nullptr) return result;
        p = SkipWs(p, e);
        if (p == e) return result;
        if (++j == dim) {
          if (*p != ']') return result;
          ++p;
          break;
        }
        if (*p != ',') return result;
        p = SkipWs(p + 1, e);
      }
    }
    ++rows;
  }
  if (SkipWs(p, e) != e) return result;

  result.status = F32RowsStatus::kOk;
  result.rows = rows;
  if (!into_out) *target.owned = first.Release();
  return result;
}

std::string ExplainF32Rows(const char* body, std::size_t length, std::size_t* rows_out, std::size_t* dim_out) {
  const char* const e = body + length;
  const char* const start = SkipBom(body, e);
  const char* bad = FirstSyntaxError(start, e);
  if (bad != nullptr) return "not JSON (" + Describe(bad, body, e) + ")";

  // Valid JSON from here on: walk it in the order the JS twin checks it.
  const char* p = SkipWs(start, e);
  if (*p != '[') return "the body is not an array";
  p = SkipWs(p + 1, e);
  std::size_t rows = 0;
  std::size_t dim = 0;
  if (*p != ']') {
    for (;; ++rows) {
      const std::string row = "row " + std::to_string(rows);
      if (*p != '[') return row + " is not an array";
      // Count the row's values, then check them.
      std::size_t count = 0;
      const char* q = SkipWs(p + 1, e);
      const char* const first_value = q;
      if (*q != ']') {
        for (;;) {
          ++count;
          q = SkipWs(SkipValid(q, e), e);
          if (*q == ']') break;
          q = SkipWs(q + 1, e);  // ','
        }
      }
      if (rows == 0) {
        dim = count;
      } else if (count != dim) {
        return row + " has " + std::to_string(count) + " values, row 0 has " + std::to_string(dim);
      }
      q = first_value;
      for (std::size_t j = 0; j < count; ++j) {
        const bool numeric = *q == '-' || IsDigit(*q) || *q == 'n';  // 'n': null
        if (!numeric) return row + " value " + std::to_string(j) + " is not a number";
        q = SkipWs(SkipValid(q, e), e);
        q = SkipWs(q + 1, e);  // ',' or the row's ']'
      }
      p = SkipWs(SkipValid(p, e), e);
      if (*p == ']') break;
      p = SkipWs(p + 1, e);  // ','
    }
    ++rows;
  }
  *rows_out = rows;
  *dim_out = dim;
  return "";
}

namespace {

void ThrowSyntaxError(Napi::Env env, const std::string& message) {
  Napi::Value ctor = env.Global().Get("SyntaxError");
  if (env.IsExceptionPending()) return;
  Napi::Object error = ctor.As<Napi::Function>().New({Napi::String::New(env, message)});
  if (env.IsExceptionPending()) return;
  Napi::Error(env, error).ThrowAsJavaScriptException();
}

}  // namespace

Napi::Value ParseF32Rows(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string prefix = "parseF32Rows: ";

  // Same checks, order and messages as parseF32Rows in src/native/fallback.ts.
  Napi::Value body_value = info[0];
  if (!body_value.IsTypedArray() ||
      body_value.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    Napi::TypeError::New(env, prefix + "body must be a Uint8Array").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Value out_value = info[1];
  const bool has_out = !out_value.IsUndefined();
  if (has_out && (!out_value.IsTypedArray() ||
                  out_value.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)) {
    Napi::TypeError::New(env, prefix + "out must be a Float32Array").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Value offset_value = info[2];
  double row_offset = 0.0;
  if (!offset_value.IsUndefined()) {
    if (!offset_value.IsNumber()) {
      Napi::TypeError::New(env, prefix + "rowOffset must be a number").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    row_offset = offset_value.As<Napi::Number>().DoubleValue();
    if (!(std::isfinite(row_offset) && row_offset >= 0.0 && std::floor(row_offset) == row_offset)) {
      Napi::RangeError::New(env, prefix + "rowOffset must be a non-negative integer (got " +
                                     offset_value.ToString().Utf8Value() + ")")
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (!has_out) {
      Napi::TypeError::New(env, prefix + "rowOffset needs out").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    row_offset = row_offset + 0.0;  // -0 -> +0
  }

  Napi::Uint8Array body = body_value.As<Napi::Uint8Array>();
  const char* data = reinterpret_cast<const char*>(body.Data());
  const std::size_t length = body.ElementLength();
  float* out = nullptr;
  std::size_t out_length = 0;
  Napi::Float32Array out_array;
  if (has_out) {
    out_array = out_value.As<Napi::Float32Array>();
    out = out_array.Data();
    out_length = out_array.ElementLength();
  }

  // Writing rows into memory the body shares would change what is read next:
  // parse a copy then (the JS twin decodes the body to a string first).
  std::unique_ptr<char, decltype(&std::free)> body_copy(nullptr, &std::free);
  if (out != nullptr && length != 0 && out_length != 0) {
    const auto b0 = reinterpret_cast<std::uintptr_t>(data);
    const auto o0 = reinterpret_cast<std::uintptr_t>(out);
    if (b0 < o0 + out_length * sizeof(float) && o0 < b0 + length) {
      body_copy.reset(static_cast<char*>(std::malloc(length)));
      if (!body_copy) {
        Napi::RangeError::New(env, prefix + "out of memory").ThrowAsJavaScriptException();
        return env.Undefined();
      }
      std::memcpy(body_copy.get(), data, length);
      data = body_copy.get();
    }
  }
  if (length == 0) data = "";  // a detached or empty array may have no data pointer

  float* owned_raw = nullptr;
  const F32RowsTarget target{has_out, out, out_length, row_offset, &owned_raw};
  const F32RowsResult r = ParseF32RowsKernel(data, length, target);
  std::unique_ptr<float, decltype(&std::free)> owned(owned_raw, &std::free);

  if (r.status == F32RowsStatus::kOutOfMemory) {
    Napi::RangeError::New(env, prefix + "out of memory").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (r.status != F32RowsStatus::kOk) {
    std::size_t rows = 0;
    std::size_t dim = 0;
    const std::string why = ExplainF32Rows(data, length, &rows, &dim);
    if (!why.empty()) {
      ThrowSyntaxError(env, why);
    } else if (r.status == F32RowsStatus::kNoFit) {
      Napi::RangeError::New(env, prefix + std::to_string(rows) + " rows of " + std::to_string(dim) +
                                     " values at row " + Napi::Number::New(env, row_offset).ToString().Utf8Value() +
                                     " do not fit in out (length " + std::to_string(out_length) + ")")
          .ThrowAsJavaScriptException();
    } else {
      // The fast path refused a body the slow path finds well formed: a bug.
      Napi::Error::New(env, prefix + "internal error: a well-formed body was refused")
          .ThrowAsJavaScriptException();
    }
    return env.Undefined();
  }

  const std::size_t count = r.rows * r.dim;
  Napi::Value vectors;
  if (has_out) {
    // out.subarray(...), which also works for arrays over a SharedArrayBuffer.
    const double begin = row_offset * static_cast<double>(r.dim);
    Napi::Value subarray = out_array.Get("subarray");
    if (env.IsExceptionPending()) return env.Undefined();
    vectors = subarray.As<Napi::Function>().Call(
        out_array, {Napi::Number::New(env, begin), Napi::Number::New(env, begin + static_cast<double>(count))});
    if (env.IsExceptionPending()) return env.Undefined();
  } else {
    Napi::Float32Array fresh = Napi::Float32Array::New(env, count);
    if (env.IsExceptionPending()) return env.Undefined();
    if (count != 0) std::memcpy(fresh.Data(), owned.get(), count * sizeof(float));
    vectors = fresh;
  }
  Napi::Object result = Napi::Object::New(env);
  result.Set("rows", Napi::Number::New(env, static_cast<double>(r.rows)));
  result.Set("dim", Napi::Number::New(env, static_cast<double>(r.dim)));
  result.Set("vectors", vectors);
  return result;
}

}  // namespace tei_router

#include "args.h"

#include <cmath>

namespace weft {

// What a value is, for error messages: "Int32Array", "number 1.5", "string", "undefined"...
static std::string describe(const Napi::Value& v) {
  if (v.IsUndefined()) return "undefined";
  if (v.IsNull()) return "null";
  if (v.IsTypedArray()) {
    switch (v.As<Napi::TypedArray>().TypedArrayType()) {
      case napi_int8_array: return "Int8Array";
      case napi_uint8_array: return "Uint8Array";
      case napi_uint8_clamped_array: return "Uint8ClampedArray";
      case napi_int16_array: return "Int16Array";
      case napi_uint16_array: return "Uint16Array";
      case napi_int32_array: return "Int32Array";
      case napi_uint32_array: return "Uint32Array";
      case napi_float32_array: return "Float32Array";
      case napi_float64_array: return "Float64Array";
      default: return "a typed array";
    }
  }
  if (v.IsNumber()) {
    double d = v.As<Napi::Number>().DoubleValue();
    std::string s = std::to_string(d);
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 1e15) s = std::to_string(int64_t(d));
    return "number " + s;
  }
  if (v.IsString()) return "a string";
  if (v.IsBoolean()) return "a boolean";
  if (v.IsFunction()) return "a function";
  if (v.IsArray()) return "an Array";
  if (v.IsObject()) return "an object";
  return "another kind of value";
}

void Args::typeError(const std::string& name, const std::string& want, const Napi::Value& got) {
  if (failed_) return;
  failed_ = true;
  Napi::TypeError::New(info_.Env(), std::string(fn_) + ": " + name + " must be " + want + " (got " + describe(got) + ")")
      .ThrowAsJavaScriptException();
}

void Args::rangeError(const std::string& message) {
  if (failed_) return;
  failed_ = true;
  Napi::RangeError::New(info_.Env(), std::string(fn_) + ": " + message).ThrowAsJavaScriptException();
}

// Typed-array data: the kind is checked first, so the cast below always matches the element type.
template <typename T>
static T* typedArrayData(const Napi::TypedArray& ta) {
  static T empty[1];
  uint8_t* base = static_cast<uint8_t*>(ta.ArrayBuffer().Data());
  if (!base) return empty;  // a zero-length array may have no backing store
  return reinterpret_cast<T*>(base + ta.ByteOffset());
}

uint8_t* Args::bytes(size_t i, const char* name, size_t* len) {
  *len = 0;
  Napi::Value v = info_[i];
  if (failed_) return nullptr;
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    typeError(name, "a Uint8Array", v);
    return nullptr;
  }
  Napi::TypedArray ta = v.As<Napi::TypedArray>();
  *len = ta.ByteLength();
  return typedArrayData<uint8_t>(ta);
}

int32_t* Args::int32s(size_t i, const char* name, size_t* len, bool optional) {
  *len = 0;
  Napi::Value v = info_[i];
  if (failed_ || (optional && (v.IsNull() || v.IsUndefined()))) return nullptr;
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
    typeError(name, optional ? "an Int32Array or null" : "an Int32Array", v);
    return nullptr;
  }
  Napi::TypedArray ta = v.As<Napi::TypedArray>();
  *len = ta.ElementLength();
  return typedArrayData<int32_t>(ta);
}

int64_t Args::checkInteger(const Napi::Value& v, const std::string& name, int64_t min, int64_t max) {
  if (failed_) return min;
  if (!v.IsNumber()) {
    typeError(name, "an integer", v);
    return min;
  }
  double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || d != std::floor(d)) {
    typeError(name, "an integer", v);
    return min;
  }
  if (d < double(min) || d > double(max)) {
    rangeError(name + " must be in [" + std::to_string(min) + ", " + std::to_string(max) + "] (got " + describe(v) + ")");
    return min;
  }
  return int64_t(d);
}

int64_t Args::integer(size_t i, const char* name, int64_t min, int64_t max) {
  return checkInteger(info_[i], name, min, max);
}

bool Args::boolean(size_t i, const char* name) {
  Napi::Value v = info_[i];
  if (failed_) return false;
  if (!v.IsBoolean()) {
    typeError(name, "a boolean", v);
    return false;
  }
  return v.As<Napi::Boolean>().Value();
}

std::string Args::string(size_t i, const char* name) {
  Napi::Value v = info_[i];
  if (failed_) return "";
  if (!v.IsString()) {
    typeError(name, "a string", v);
    return "";
  }
  return v.As<Napi::String>().Utf8Value();
}

Napi::Function Args::function(size_t i, const char* name) {
  Napi::Value v = info_[i];
  if (failed_) return Napi::Function();
  if (!v.IsFunction()) {
    typeError(name, "a function", v);
    return Napi::Function();
  }
  return v.As<Napi::Function>();
}

Napi::Object Args::options(size_t i, const char* name) {
  Napi::Value v = info_[i];
  if (!failed_ && v.IsObject() && !v.IsArray()) return v.As<Napi::Object>();
  if (!failed_ && !v.IsUndefined()) typeError(name, "an object", v);
  return Napi::Object::New(info_.Env());
}

std::string Args::fieldString(const Napi::Object& o, const char* key, const std::string& dflt) {
  Napi::Value v = o.Get(key);
  if (failed_ || v.IsUndefined()) return dflt;
  if (!v.IsString()) {
    typeError(std::string("option ") + key, "a string", v);
    return dflt;
  }
  return v.As<Napi::String>().Utf8Value();
}

bool Args::fieldBoolean(const Napi::Object& o, const char* key, bool dflt) {
  Napi::Value v = o.Get(key);
  if (failed_ || v.IsUndefined()) return dflt;
  if (!v.IsBoolean()) {
    typeError(std::string("option ") + key, "a boolean", v);
    return dflt;
  }
  return v.As<Napi::Boolean>().Value();
}

int64_t Args::fieldInteger(const Napi::Object& o, const char* key, int64_t min, int64_t max, int64_t dflt) {
  Napi::Value v = o.Get(key);
  if (failed_ || v.IsUndefined()) return dflt;
  return checkInteger(v, std::string("option ") + key, min, max);
}

bool Args::slots(size_t slabLen, size_t slotSize, size_t headroom, int64_t max, std::initializer_list<size_t> arrayLens) {
  if (failed_) return false;
  if (headroom >= slotSize) {
    rangeError("headroom " + std::to_string(headroom) + " leaves no room in a slot of " + std::to_string(slotSize));
    return false;
  }
  if (size_t(max) * slotSize > slabLen) {
    rangeError(std::to_string(max) + " slots of " + std::to_string(slotSize) + " B do not fit a slab of " +
               std::to_string(slabLen) + " B");
    return false;
  }
  for (size_t n : arrayLens) {
    if (size_t(max) > n) {
      rangeError("max " + std::to_string(max) + " exceeds an index array of " + std::to_string(n) + " entries");
      return false;
    }
  }
  return true;
}

bool Args::packets(size_t slabLen, const int32_t* offsets, const int32_t* lengths, int64_t start, int64_t count,
                   std::initializer_list<size_t> arrayLens) {
  if (failed_) return false;
  if (count < start) {
    rangeError("count " + std::to_string(count) + " is below start " + std::to_string(start));
    return false;
  }
  for (size_t n : arrayLens) {
    if (size_t(count) > n) {
      rangeError("count " + std::to_string(count) + " exceeds an index array of " + std::to_string(n) + " entries");
      return false;
    }
  }
  for (int64_t i = start; i < count; i++) {
    if (offsets[i] < 0 || lengths[i] < 0 || size_t(offsets[i]) + size_t(lengths[i]) > slabLen) {
      rangeError("packet " + std::to_string(i) + " (offset " + std::to_string(offsets[i]) + ", length " +
                 std::to_string(lengths[i]) + ") lies outside the slab of " + std::to_string(slabLen) + " B");
      return false;
    }
  }
  return true;
}

Napi::Value pollEntry(const Napi::CallbackInfo& info, FdPoll& poll, int fd) {
  Args a(info, "poll");
  int events = int(a.integer(0, "events", 1, 3));
  Napi::Function cb = a.function(1, "callback");
  if (!a.ok() || fd < 0) return info.Env().Undefined();  // closed: nothing to wait for, as before
  int rc = poll.start(info.Env(), fd, events, cb);
  if (rc != 0) uvError(info.Env(), rc, "uv_poll_start").ThrowAsJavaScriptException();
  return info.Env().Undefined();
}

Napi::Object statsObject(Napi::Env env, std::initializer_list<std::pair<const char*, double>> fields) {
  Napi::Object o = Napi::Object::New(env);
  for (const auto& f : fields) o.Set(f.first, Napi::Number::New(env, f.second));
  return o;
}

}  // namespace weft

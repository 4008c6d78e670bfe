// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320: zlib's crc32) of every frame of a journal
// write, or of a segment being read, in one call: the JS routine costs 43-69 ns per 80-byte frame,
// zlib.crc32 from JS pays a binding crossing per frame, and one Node-API call per write (or per
// segment) amortises its crossing over thousands of frames.
//
// crc32Frames(bytes, frameSize): for each whole frame of `frameSize` bytes in `bytes`, stores the
// CRC-32 of its bytes [4, frameSize) into its first 4 bytes, little-endian. Returns the frame count.
// crc32FramesVerify(bytes, frameSize): the same CRCs, compared with the stored ones instead (the
// readers' check, one call per segment): the index of the first whole frame whose stored CRC
// differs, or -1.
// The frame layout is src/journal/segment.ts's; this file knows only "CRC in the first 4 bytes".

#include <cstdint>
#include <cstring>
#include <string>

#include "addon.h"

namespace clob {
namespace {

// Slice-by-8 tables: t[k][n] is the CRC of byte n followed by k zero bytes.
struct Crc32Tables {
  uint32_t t[8][256];
  constexpr Crc32Tables() : t() {
    for (uint32_t n = 0; n < 256; ++n) {
      uint32_t c = n;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[0][n] = c;
    }
    for (uint32_t n = 0; n < 256; ++n)
      for (int k = 1; k < 8; ++k) t[k][n] = (t[k - 1][n] >> 8) ^ t[0][t[k - 1][n] & 0xFF];
  }
};
constexpr Crc32Tables kTables;

inline uint32_t Load32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);  // unaligned-safe; one mov on x86
  return v;
}

// One slice-by-8 step: the CRC after 8 more bytes. Little-endian hosts only (x86_64, aarch64):
// the words are read in memory order.
inline uint32_t Step8(uint32_t c, const uint8_t* p) {
  const auto& t = kTables.t;
  uint32_t a = Load32(p) ^ c;
  uint32_t b = Load32(p + 4);
  return t[7][a & 0xFF] ^ t[6][(a >> 8) & 0xFF] ^ t[5][(a >> 16) & 0xFF] ^ t[4][a >> 24] ^
         t[3][b & 0xFF] ^ t[2][(b >> 8) & 0xFF] ^ t[1][(b >> 16) & 0xFF] ^ t[0][b >> 24];
}

inline uint32_t Tail(uint32_t c, const uint8_t* p, size_t n) {
  for (; n > 0; --n, ++p) c = kTables.t[0][(c ^ *p) & 0xFF] ^ (c >> 8);
  return c;
}

inline void StoreLe32(uint8_t* f, uint32_t crc) {
  uint8_t le[4] = {static_cast<uint8_t>(crc), static_cast<uint8_t>(crc >> 8), static_cast<uint8_t>(crc >> 16),
                   static_cast<uint8_t>(crc >> 24)};
  std::memcpy(f, le, 4);
}

inline uint32_t LoadLe32(const uint8_t* f) {
  return static_cast<uint32_t>(f[0]) | static_cast<uint32_t>(f[1]) << 8 | static_cast<uint32_t>(f[2]) << 16 |
         static_cast<uint32_t>(f[3]) << 24;
}

uint32_t Crc32(const uint8_t* p, size_t n) {
  uint32_t c = 0xFFFFFFFFu;
  for (; n >= 8; n -= 8, p += 8) c = Step8(c, p);
  return Tail(c, p, n) ^ 0xFFFFFFFFu;
}

// The CRCs of four consecutive frames starting at f0, over bytes [4, frame) of each. One CRC is a
// chain of dependent table lookups (latency bound: 27 ns per 76 bytes here); four independent
// frames stepped together keep more loads in flight (19 ns per frame).
inline void Crc4(const uint8_t* f0, size_t frame, uint32_t out[4]) {
  const size_t len = frame - 4, steps = len / 8, rest = len % 8;
  const uint8_t* f1 = f0 + frame;
  const uint8_t* f2 = f1 + frame;
  const uint8_t* f3 = f2 + frame;
  uint32_t c0 = 0xFFFFFFFFu, c1 = c0, c2 = c0, c3 = c0;
  for (size_t s = 0, o = 4; s < steps; ++s, o += 8) {
    c0 = Step8(c0, f0 + o);
    c1 = Step8(c1, f1 + o);
    c2 = Step8(c2, f2 + o);
    c3 = Step8(c3, f3 + o);
  }
  const size_t o = 4 + steps * 8;
  out[0] = Tail(c0, f0 + o, rest) ^ 0xFFFFFFFFu;
  out[1] = Tail(c1, f1 + o, rest) ^ 0xFFFFFFFFu;
  out[2] = Tail(c2, f2 + o, rest) ^ 0xFFFFFFFFu;
  out[3] = Tail(c3, f3 + o, rest) ^ 0xFFFFFFFFu;
}

// Stores each frame's CRC in its bytes [0, 4).
void SealFrames(uint8_t* base, size_t frames, size_t frame) {
  uint32_t crc[4];
  size_t i = 0;
  for (; i + 4 <= frames; i += 4) {
    Crc4(base + i * frame, frame, crc);
    for (size_t k = 0; k < 4; ++k) StoreLe32(base + (i + k) * frame, crc[k]);
  }
  for (; i < frames; ++i) StoreLe32(base + i * frame, Crc32(base + i * frame + 4, frame - 4));
}

// The index of the first frame whose bytes [0, 4) are not its CRC, or -1 if every one is.
int64_t VerifyFrames(const uint8_t* base, size_t frames, size_t frame) {
  uint32_t crc[4];
  size_t i = 0;
  for (; i + 4 <= frames; i += 4) {
    Crc4(base + i * frame, frame, crc);
    for (size_t k = 0; k < 4; ++k)
      if (LoadLe32(base + (i + k) * frame) != crc[k]) return static_cast<int64_t>(i + k);
  }
  for (; i < frames; ++i)
    if (LoadLe32(base + i * frame) != Crc32(base + i * frame + 4, frame - 4)) return static_cast<int64_t>(i);
  return -1;
}

// The frames of a crc32Frames / crc32FramesVerify call, or false with a JS exception thrown.
bool FramesArgs(const Napi::CallbackInfo& info, const char* name, uint8_t** base, size_t* frames, size_t* frame) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsTypedArray() || !info[1].IsNumber()) {
    Napi::TypeError::New(env, std::string(name) + "(bytes: Uint8Array, frameSize: number)").ThrowAsJavaScriptException();
    return false;
  }
  Napi::TypedArray ta = info[0].As<Napi::TypedArray>();
  if (ta.TypedArrayType() != napi_uint8_array) {
    Napi::TypeError::New(env, std::string(name) + ": bytes must be a Uint8Array").ThrowAsJavaScriptException();
    return false;
  }
  double fs = info[1].As<Napi::Number>().DoubleValue();
  if (!(fs > 4 && fs <= 1 << 20) || fs != static_cast<double>(static_cast<size_t>(fs))) {
    Napi::RangeError::New(env, std::string(name) + ": frameSize must be an integer from 5 to 2^20").ThrowAsJavaScriptException();
    return false;
  }
  Napi::Uint8Array bytes = ta.As<Napi::Uint8Array>();
  *frame = static_cast<size_t>(fs);
  *base = bytes.Data();
  *frames = bytes.ByteLength() / *frame;
  return true;
}

Napi::Value Crc32Frames(const Napi::CallbackInfo& info) {
  uint8_t* base;
  size_t frames, frame;
  if (!FramesArgs(info, "crc32Frames", &base, &frames, &frame)) return info.Env().Undefined();
  SealFrames(base, frames, frame);
  return Napi::Number::New(info.Env(), static_cast<double>(frames));
}

Napi::Value Crc32FramesVerify(const Napi::CallbackInfo& info) {
  uint8_t* base;
  size_t frames, frame;
  if (!FramesArgs(info, "crc32FramesVerify", &base, &frames, &frame)) return info.Env().Undefined();
  return Napi::Number::New(info.Env(), static_cast<double>(VerifyFrames(base, frames, frame)));
}

}  // namespace

void InitCrc32(Napi::Env env, Napi::Object exports) {
  exports.Set("crc32Frames", Napi::Function::New(env, Crc32Frames, "crc32Frames"));
  exports.Set("crc32FramesVerify", Napi::Function::New(env, Crc32FramesVerify, "crc32FramesVerify"));
}

}  // namespace clob

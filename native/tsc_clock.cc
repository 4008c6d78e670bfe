// A cheap nanosecond clock: the x86 time-stamp counter (rdtsc, ~10-25 cycles, no syscall, no vDSO)
// scaled to nanoseconds by a calibration against CLOCK_MONOTONIC, and anchored to that clock's
// timeline so tscNow() and monotonicNs() can be compared directly.
//
// Values are returned as JS numbers (doubles) of nanoseconds on the CLOCK_MONOTONIC timeline:
// exact to 1 ns while the machine's uptime is below 2^53 ns (about 104 days), 2 ns steps below
// 208 days, and so on. That rounding is far below the calibration's own error (a few ppm, i.e.
// microseconds per second of distance from the anchor), and a double avoids a BigInt allocation
// per read.
//
// On anything but x86_64 there is no rdtsc: tscNow() is clock_gettime(CLOCK_MONOTONIC) and the
// calibration reports source "clock_gettime".

#include <time.h>

#include <atomic>
#include <cmath>
#include <cstdint>
#include <mutex>
#include <string>

#if defined(__x86_64__)
#include <cpuid.h>
#include <x86intrin.h>
#define CLOB_HAVE_RDTSC 1
#else
#define CLOB_HAVE_RDTSC 0
#endif

#include "addon.h"
#include "sysfs.h"

namespace clob {
namespace {

int64_t MonotonicNsInt() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}

inline uint64_t ReadTicks() {
#if CLOB_HAVE_RDTSC
  return __rdtsc();
#else
  return static_cast<uint64_t>(MonotonicNsInt());
#endif
}

// CPUID 0x80000007 EDX bit 8: the TSC runs at a constant rate in all P-/C-states.
bool InvariantTsc() {
#if CLOB_HAVE_RDTSC
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(0x80000000u, &a, &b, &c, &d) || a < 0x80000007u) return false;
  if (!__get_cpuid(0x80000007u, &a, &b, &c, &d)) return false;
  return (d & (1u << 8)) != 0;
#else
  return false;
#endif
}

// One (ticks, ns) pair taken as close together as possible: of several tries, keep the one whose
// two tick reads around clock_gettime are nearest, and use their midpoint.
struct Pair {
  uint64_t ticks;
  int64_t ns;
  uint64_t window;  // ticks between the two bracketing reads: this pair's uncertainty
};

Pair TakePair() {
  Pair best{0, 0, UINT64_MAX};
  for (int i = 0; i < 16; ++i) {
    uint64_t t0 = ReadTicks();
    int64_t ns = MonotonicNsInt();
    uint64_t t1 = ReadTicks();
    uint64_t w = t1 - t0;
    if (w < best.window) best = Pair{t0 + w / 2, ns, w};
  }
  return best;
}

void SleepNs(int64_t ns) {
  struct timespec ts;
  ts.tv_sec = static_cast<time_t>(ns / 1000000000LL);
  ts.tv_nsec = static_cast<long>(ns % 1000000000LL);
  while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) != 0) {
  }
}

// Immutable once published; a recalibration publishes a new one (the old ones are kept: a few
// dozen bytes per calibration, so that a reader on another thread never sees a freed or torn one).
struct Calibration {
  uint64_t baseTicks;
  int64_t baseNs;
  double nsPerTick;
  double ticksPerNs;
  double driftPpm;
  double uncertaintyPpm;
  double intervalNs;
};

std::atomic<const Calibration*> g_calibration{nullptr};
std::mutex g_calibrating;

const Calibration* Calibrate(double ms, bool onlyIfNone = false) {
  std::lock_guard<std::mutex> lock(g_calibrating);
  if (onlyIfNone) {
    const Calibration* existing = g_calibration.load(std::memory_order_acquire);
    if (existing) return existing;  // another thread calibrated while this one waited
  }
  Calibration* c = new Calibration();
#if CLOB_HAVE_RDTSC
  int64_t half = static_cast<int64_t>(ms * 1e6 / 2);
  Pair p0 = TakePair();
  SleepNs(half);
  Pair p1 = TakePair();
  SleepNs(half);
  Pair p2 = TakePair();
  double rate1 = static_cast<double>(p1.ticks - p0.ticks) / static_cast<double>(p1.ns - p0.ns);
  double rate2 = static_cast<double>(p2.ticks - p1.ticks) / static_cast<double>(p2.ns - p1.ns);
  double total = static_cast<double>(p2.ticks - p0.ticks);
  c->ticksPerNs = total / static_cast<double>(p2.ns - p0.ns);
  c->nsPerTick = 1.0 / c->ticksPerNs;
  c->driftPpm = (rate2 - rate1) / c->ticksPerNs * 1e6;
  c->uncertaintyPpm = static_cast<double>(p0.window + p2.window) / total * 1e6;
  c->intervalNs = static_cast<double>(p2.ns - p0.ns);
  c->baseTicks = p2.ticks;
  c->baseNs = p2.ns;
#else
  (void)ms;
  c->ticksPerNs = 1;
  c->nsPerTick = 1;
  c->driftPpm = 0;
  c->uncertaintyPpm = 0;
  c->intervalNs = 0;
  c->baseTicks = 0;
  c->baseNs = 0;
#endif
  g_calibration.store(c, std::memory_order_release);
  return c;
}

const Calibration* Current() {
  const Calibration* c = g_calibration.load(std::memory_order_acquire);
  return c ? c : Calibrate(20, true);  // first use without an explicit tscCalibrate(): 20 ms, once
}

Napi::Object CalibrationObject(Napi::Env env, const Calibration* c) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("source", CLOB_HAVE_RDTSC ? "rdtsc" : "clock_gettime");
  o.Set("ticksPerNs", c->ticksPerNs);
  o.Set("driftPpm", c->driftPpm);
  o.Set("uncertaintyPpm", c->uncertaintyPpm);
  o.Set("intervalNs", c->intervalNs);
  o.Set("anchorNs", static_cast<double>(c->baseNs));
  o.Set("invariantTsc", InvariantTsc());
  o.Set("kernelClocksource",
        ReadTextFile("/sys/devices/system/clocksource/clocksource0/current_clocksource"));
  return o;
}

Napi::Value TscCalibrate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  double ms = 100;
  if (info.Length() > 0 && !info[0].IsUndefined()) {
    if (!info[0].IsNumber()) {
      Napi::TypeError::New(env, "tscCalibrate(ms): ms must be a number").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    ms = info[0].As<Napi::Number>().DoubleValue();
  }
  if (!(ms >= 2)) ms = 2;  // also catches NaN
  if (ms > 10000) ms = 10000;
  return CalibrationObject(env, Calibrate(ms));
}

Napi::Value TscCalibration(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Calibration* c = g_calibration.load(std::memory_order_acquire);
  if (!c) return env.Undefined();
  return CalibrationObject(env, c);
}

Napi::Value TscNow(const Napi::CallbackInfo& info) {
  const Calibration* c = Current();
#if CLOB_HAVE_RDTSC
  int64_t delta = static_cast<int64_t>(ReadTicks() - c->baseTicks);
  double ns = static_cast<double>(c->baseNs) + static_cast<double>(delta) * c->nsPerTick;
#else
  (void)c;
  double ns = static_cast<double>(MonotonicNsInt());
#endif
  return Napi::Number::New(info.Env(), ns);
}

Napi::Value MonotonicNs(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(MonotonicNsInt()));
}

}  // namespace

void InitTscClock(Napi::Env env, Napi::Object exports) {
  exports.Set("tscCalibrate", Napi::Function::New(env, TscCalibrate, "tscCalibrate"));
  exports.Set("tscCalibration", Napi::Function::New(env, TscCalibration, "tscCalibration"));
  exports.Set("tscNow", Napi::Function::New(env, TscNow, "tscNow"));
  exports.Set("monotonicNs", Napi::Function::New(env, MonotonicNs, "monotonicNs"));
}

}  // namespace clob

// The wire-latency floor: a minimal blocking TCP echo over loopback, in C, so that bench/wire.ts can
// measure in one run what the kernel alone costs for a round trip, beside node:net and clob.
//
//   echoServerStart()  a server on 127.0.0.1:<ephemeral> on its own std::thread: accepts one
//                      connection at a time; per connection: TCP_NODELAY, blocking reads, every
//                      whole 48-byte message read is written back (in one write per read), until
//                      the peer closes. Returns the port.
//   echoServerStop(port)  closes it (wakes the blocked accept/recv with shutdown) and joins the thread.
//   echoClient(port, out, { warmup, rate, timeoutMs })  -> Promise. Off the JS thread (AsyncWorker, on
//                      the libuv pool): connects (TCP_NODELAY), does `warmup` unrecorded round trips,
//                      then out.length measured messages of 48 bytes:
//                        rate 0: ping-pong, one message outstanding; out[i] = RTT of message i in ns
//                        rate r: open loop, a sender thread writes message i at t0 + i/r (every message
//                                due at a wake-up in one write); out[i] = reply time - planned time,
//                                and fromSend[i] (if given) = reply time - the time it was written
//                      Every reply is compared with the message sent; the promise resolves with
//                      { sent, returned, mismatched }. Any port works (a node:net echo too).
// Clock: clock_gettime(CLOCK_MONOTONIC). Messages carry their index, so replies are checked in order.

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "addon.h"

namespace clob {
namespace {

constexpr size_t kMessageBytes = 48;  // the message size: a small order-entry frame
constexpr int kMaxBatch = 256;        // messages written at one wake-up at most (client and server)

int64_t NowNs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}

void SetNoDelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

// Writes all of buf; false on error or a closed peer.
bool SendAll(int fd, const uint8_t* buf, size_t n) {
  while (n > 0) {
    ssize_t w = send(fd, buf, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    buf += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

// Message i: its index, then bytes derived from it, so a reply that is not message i shows.
void FillMessage(uint8_t* m, uint64_t i) {
  std::memcpy(m, &i, sizeof i);
  for (size_t k = sizeof i; k < kMessageBytes; ++k) m[k] = static_cast<uint8_t>(i * 31 + k);
}

bool MessageIs(const uint8_t* m, uint64_t i) {
  uint8_t want[kMessageBytes];
  FillMessage(want, i);
  return std::memcmp(m, want, kMessageBytes) == 0;
}

// ---- server ------------------------------------------------------------------------------------

class EchoServer {
 public:
  static EchoServer* Start(std::string* error) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      *error = std::string("socket: ") + strerror(errno);
      return nullptr;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a {};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t len = sizeof a;
    if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd, 16) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      *error = std::string("bind/listen: ") + strerror(errno);
      close(fd);
      return nullptr;
    }
    EchoServer* s = new EchoServer(fd, ntohs(a.sin_port));
    s->thread_ = std::thread([s] { s->Run(); });
    return s;
  }

  int port() const { return port_; }

  // Wakes the thread out of accept() or recv() and joins it.
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
      shutdown(listenFd_, SHUT_RDWR);
      if (connFd_ >= 0) shutdown(connFd_, SHUT_RDWR);
    }
    if (thread_.joinable()) thread_.join();
    close(listenFd_);
  }

 private:
  EchoServer(int fd, int port) : listenFd_(fd), port_(port) {}

  void Run() {
    for (;;) {
      int c = accept4(listenFd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        return;  // shut down (or the socket failed): the thread ends
      }
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (stopping_) {
          close(c);
          return;
        }
        connFd_ = c;
      }
      SetNoDelay(c);
      // Whatever whole messages have arrived go back in one write: one read and one write per
      // wake-up, like any server under load (reading exactly 48 bytes per syscall saturated this
      // 2-core VM below 50k messages/s, far above the cost of the kernel's loopback path).
      uint8_t buf[kMessageBytes * kMaxBatch];
      size_t have = 0;
      for (;;) {
        ssize_t n = recv(c, buf + have, sizeof buf - have, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        have += static_cast<size_t>(n);
        size_t whole = have - have % kMessageBytes;
        if (whole > 0 && !SendAll(c, buf, whole)) break;
        std::memmove(buf, buf + whole, have - whole);
        have -= whole;
      }
      std::lock_guard<std::mutex> lock(mutex_);
      connFd_ = -1;
      close(c);
    }
  }

  const int listenFd_;
  const int port_;
  std::thread thread_;
  std::mutex mutex_;
  bool stopping_ = false;
  int connFd_ = -1;
};

// Servers by port. Stopped by echoServerStop or, at the latest, when their environment (the main
// thread or a worker) is torn down, so no thread outlives the addon.
std::mutex g_serversMutex;
std::map<int, std::unique_ptr<EchoServer>> g_servers;

void StopServer(int port) {
  std::unique_ptr<EchoServer> s;
  {
    std::lock_guard<std::mutex> lock(g_serversMutex);
    auto it = g_servers.find(port);
    if (it == g_servers.end()) return;
    s = std::move(it->second);
    g_servers.erase(it);
  }
  s->Stop();
}

void CleanupHook(void* arg) { StopServer(static_cast<int>(reinterpret_cast<intptr_t>(arg))); }

Napi::Value EchoServerStart(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string error;
  EchoServer* s = EchoServer::Start(&error);
  if (!s) {
    Napi::Error::New(env, "echoServerStart: " + error).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int port = s->port();
  {
    std::lock_guard<std::mutex> lock(g_serversMutex);
    g_servers[port].reset(s);
  }
  napi_add_env_cleanup_hook(env, CleanupHook, reinterpret_cast<void*>(static_cast<intptr_t>(port)));
  return Napi::Number::New(env, port);
}

Napi::Value EchoServerStop(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) {
    Napi::TypeError::New(env, "echoServerStop(port): port must be a number").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int port = info[0].As<Napi::Number>().Int32Value();
  bool known;
  {
    std::lock_guard<std::mutex> lock(g_serversMutex);
    known = g_servers.count(port) > 0;
  }
  if (!known) return Napi::Boolean::New(env, false);
  napi_remove_env_cleanup_hook(env, CleanupHook, reinterpret_cast<void*>(static_cast<intptr_t>(port)));
  StopServer(port);
  return Napi::Boolean::New(env, true);
}

// ---- client ------------------------------------------------------------------------------------

class EchoClientWorker : public Napi::AsyncWorker {
 public:
  EchoClientWorker(Napi::Env env, int port, Napi::Float64Array out, Napi::Float64Array fromSend, uint32_t warmup, double rate,
                   int timeoutMs)
      : Napi::AsyncWorker(env),
        deferred_(Napi::Promise::Deferred::New(env)),
        outRef_(Napi::Persistent(out.As<Napi::Object>())),
        out_(out.Data()),
        fromSend_(fromSend.IsEmpty() ? nullptr : fromSend.Data()),
        count_(out.ElementLength()),
        port_(port),
        warmup_(warmup),
        rate_(rate),
        timeoutMs_(timeoutMs) {
    if (fromSend_) fromSendRef_ = Napi::Persistent(fromSend.As<Napi::Object>());
  }

  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return Fail("socket");
    struct sockaddr_in a {};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port_));
    if (connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return Fail("connect to 127.0.0.1:" + std::to_string(port_));
    SetNoDelay(fd_);
    // A server that stops answering ends the run with an error instead of blocking a pool thread forever.
    struct timeval tv;
    tv.tv_sec = timeoutMs_ / 1000;
    tv.tv_usec = (timeoutMs_ % 1000) * 1000;
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (!PingPong(warmup_, nullptr)) return;
    if (rate_ > 0) OpenLoop();
    else PingPong(count_, out_);
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::Object r = Napi::Object::New(env);
    r.Set("sent", Napi::Number::New(env, static_cast<double>(sent_)));
    r.Set("returned", Napi::Number::New(env, static_cast<double>(returned_)));
    r.Set("mismatched", Napi::Number::New(env, static_cast<double>(mismatched_)));
    deferred_.Resolve(r);
  }

  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

  ~EchoClientWorker() override {
    if (fd_ >= 0) close(fd_);
  }

 private:
  void Fail(const std::string& what) {
    int err = errno;
    std::string why = err == EAGAIN || err == EWOULDBLOCK ? "no reply within " + std::to_string(timeoutMs_) + " ms"
                                                          : std::string(strerror(err));
    SetError("echoClient: " + what + ": " + why);
  }

  // Reads exactly n bytes; false (with the error set) on a timeout, an error or an early close.
  bool RecvAll(uint8_t* buf, size_t n) {
    size_t got = 0;
    while (got < n) {
      ssize_t r = recv(fd_, buf + got, n - got, 0);
      if (r < 0 && errno == EINTR) continue;
      if (r == 0) {
        SetError("echoClient: the server closed the connection after " + std::to_string(returned_) + " replies");
        return false;
      }
      if (r < 0) {
        Fail("recv");
        return false;
      }
      got += static_cast<size_t>(r);
    }
    return true;
  }

  // n round trips with one message outstanding; records each RTT in out (if given).
  bool PingPong(size_t n, double* out) {
    uint8_t msg[kMessageBytes];
    uint8_t reply[kMessageBytes];
    for (size_t i = 0; i < n; ++i) {
      FillMessage(msg, i);
      int64_t t0 = NowNs();
      if (!SendAll(fd_, msg, kMessageBytes)) {
        Fail("send");
        return false;
      }
      if (!RecvAll(reply, kMessageBytes)) return false;
      int64_t t1 = NowNs();
      if (out) {
        out[i] = static_cast<double>(t1 - t0);
        ++sent_;
        ++returned_;
        if (!MessageIs(reply, i)) ++mismatched_;
      }
    }
    return true;
  }

  // Planned send time of message i.
  int64_t Planned(int64_t t0, size_t i) const { return t0 + static_cast<int64_t>(static_cast<double>(i) * 1e9 / rate_); }

  void OpenLoop() {
    const int64_t t0 = NowNs() + 1000000;  // 1 ms to get the sender going
    std::atomic<bool> senderFailed{false};
    std::atomic<size_t> sentCount{0};
    // When each message was written (read by this thread once its reply is in).
    std::unique_ptr<std::atomic<int64_t>[]> writtenAt(new std::atomic<int64_t>[count_]);
    std::thread sender([&] {
      prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);  // default slack is 50 us: far too coarse for 10 us gaps
      uint8_t batch[kMessageBytes * kMaxBatch];
      size_t next = 0;
      while (next < count_) {
        int64_t due = Planned(t0, next);
        int64_t now = NowNs();
        if (now < due) {
          struct timespec ts;
          ts.tv_sec = static_cast<time_t>(due / 1000000000LL);
          ts.tv_nsec = static_cast<long>(due % 1000000000LL);
          while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
          }
          now = NowNs();
        }
        size_t k = 0;
        while (next + k < count_ && k < static_cast<size_t>(kMaxBatch) && Planned(t0, next + k) <= now) {
          FillMessage(batch + k * kMessageBytes, next + k);
          ++k;
        }
        int64_t writeTime = NowNs();
        for (size_t j = 0; j < k; ++j) writtenAt[next + j].store(writeTime, std::memory_order_relaxed);
        if (!SendAll(fd_, batch, k * kMessageBytes)) {
          senderFailed = true;
          shutdown(fd_, SHUT_RD);  // wake the reader
          return;
        }
        next += k;
        sentCount = next;
      }
    });
    uint8_t buf[kMessageBytes * kMaxBatch];
    size_t have = 0;
    while (returned_ < count_) {
      ssize_t r = recv(fd_, buf + have, sizeof buf - have, 0);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) {
        if (senderFailed) SetError("echoClient: send failed after " + std::to_string(sentCount.load()) + " messages");
        else if (r == 0) SetError("echoClient: the server closed the connection after " + std::to_string(returned_) + " replies");
        else Fail("recv");
        shutdown(fd_, SHUT_RDWR);  // stops the sender too
        break;
      }
      int64_t now = NowNs();
      have += static_cast<size_t>(r);
      size_t at = 0;
      for (; at + kMessageBytes <= have && returned_ < count_; at += kMessageBytes) {
        out_[returned_] = static_cast<double>(now - Planned(t0, returned_));
        if (fromSend_) fromSend_[returned_] = static_cast<double>(now - writtenAt[returned_].load(std::memory_order_relaxed));
        if (!MessageIs(buf + at, returned_)) ++mismatched_;
        ++returned_;
      }
      std::memmove(buf, buf + at, have - at);
      have -= at;
    }
    sender.join();
    sent_ = sentCount;
  }

  Napi::Promise::Deferred deferred_;
  Napi::ObjectReference outRef_;  // keeps the array (and so out_) alive until the worker is done
  Napi::ObjectReference fromSendRef_;
  double* out_;
  double* fromSend_;
  size_t count_;
  int port_;
  uint32_t warmup_;
  double rate_;
  int timeoutMs_;
  int fd_ = -1;
  size_t sent_ = 0;
  size_t returned_ = 0;
  size_t mismatched_ = 0;
};

// Reads o[key] into *value when present; false (a TypeError thrown) when it is not a number in [min, max].
bool OptionalNumber(Napi::Env env, Napi::Object o, const char* key, double min, double max, double* value) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return true;
  double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
  if (!(d >= min && d <= max)) {
    Napi::TypeError::New(env, std::string("echoClient: options.") + key + " must be a number from " + std::to_string(static_cast<int64_t>(min)) +
                                  " to " + std::to_string(static_cast<int64_t>(max)))
        .ThrowAsJavaScriptException();
    return false;
  }
  *value = d;
  return true;
}

Napi::Value EchoClient(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  double port = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : -1;
  if (!(port >= 1 && port <= 65535) || port != static_cast<double>(static_cast<int>(port))) {
    Napi::TypeError::New(env, "echoClient(port, out, options?): port must be an integer from 1 to 65535").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (info.Length() < 2 || !info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) {
    Napi::TypeError::New(env, "echoClient(port, out, options?): out must be a Float64Array (one latency in ns per message)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Float64Array out = info[1].As<Napi::Float64Array>();
  Napi::Float64Array fromSend;
  double warmup = 0, rate = 0, timeoutMs = 10000;
  if (info.Length() > 2 && !info[2].IsUndefined()) {
    if (!info[2].IsObject()) {
      Napi::TypeError::New(env, "echoClient: options must be an object").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    Napi::Object o = info[2].As<Napi::Object>();
    if (!OptionalNumber(env, o, "warmup", 0, 1e9, &warmup) || !OptionalNumber(env, o, "rate", 0, 1e9, &rate) ||
        !OptionalNumber(env, o, "timeoutMs", 1, 3600000, &timeoutMs)) {
      return env.Undefined();
    }
    Napi::Value fs = o.Get("fromSend");
    if (!fs.IsUndefined()) {
      if (!fs.IsTypedArray() || fs.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array ||
          fs.As<Napi::TypedArray>().ElementLength() != out.ElementLength()) {
        Napi::TypeError::New(env, "echoClient: options.fromSend must be a Float64Array as long as out").ThrowAsJavaScriptException();
        return env.Undefined();
      }
      fromSend = fs.As<Napi::Float64Array>();
    }
  }
  auto* w = new EchoClientWorker(env, static_cast<int>(port), out, fromSend, static_cast<uint32_t>(warmup), rate, static_cast<int>(timeoutMs));
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

}  // namespace

void InitEcho(Napi::Env env, Napi::Object exports) {
  exports.Set("echoServerStart", Napi::Function::New(env, EchoServerStart, "echoServerStart"));
  exports.Set("echoServerStop", Napi::Function::New(env, EchoServerStop, "echoServerStop"));
  exports.Set("echoClient", Napi::Function::New(env, EchoClient, "echoClient"));
}

}  // namespace clob

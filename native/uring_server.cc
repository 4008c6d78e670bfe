// UringServer: a TCP server on io_uring (raw syscalls, no liburing) for the order-entry gateway's
// io_uring path (docs/NATIVE.md, src/gateway/uring-transport.ts).
//
//   listening socket --multishot ACCEPT--> connections --multishot RECV (provided buffers)-->
//   the kernel writes each receive straight into a slot of a JS-provided region (a Uint8Array over
//   a SharedArrayBuffer): the slots are the entries of a provided-buffer ring (PBUF_RING)
//
//   completions: the ring's eventfd is watched by a uv_poll_t on the Node loop; on readiness all
//   CQEs are reaped into a JS-provided Int32Array (the completion table: kind, conn, a, b per
//   entry) and JS is called ONCE per table-full with the entry count. JS parses the bytes in place;
//   when the call returns the slots go back to the kernel (so slot bytes are valid only during it).
//
//   sends: send(conn, bytes, n) copies into the connection's outbound buffer and prepares an SQE
//   (one SEND in flight per connection; a short send resubmits the rest); submit() hands every
//   prepared SQE to the kernel with one io_uring_enter per batch.
//
// A connection id is (generation << 16 | index): a stale id (its connection closed) is ignored.
// A connection's index is reused only after every operation on it completed, so the kernel never
// reads a freed send buffer and no CQE lands on the wrong connection.

#include <arpa/inet.h>
#include <errno.h>
#include <linux/io_uring.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <uv.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "addon.h"

namespace clob {
namespace {

// ---- the completion table: 4 int32 per entry. The one definition; JS reads it from the addon's
// `uringLayout` export.
constexpr int kEntryInts = 4;
constexpr int kFieldKind = 0;
constexpr int kFieldConn = 1;
constexpr int kFieldA = 2;
constexpr int kFieldB = 3;
constexpr int kAccept = 1;         // conn: a new connection
constexpr int kData = 2;           // conn, a: byte offset in the region, b: length
constexpr int kClosed = 3;         // conn, a: errno (0: orderly), the id is free from here on
constexpr int kServerClosed = 4;   // the listener and every connection are closed, the ring is gone
constexpr int kAcceptError = 5;    // a: errno of a failed accept (EMFILE...), b: 1 if refused (connection limit)

// ---- user_data of an SQE: op (8 bits) | conn index (24 bits) | generation (32 bits).
constexpr uint64_t kOpAccept = 1;
constexpr uint64_t kOpRecv = 2;
constexpr uint64_t kOpSend = 3;
constexpr uint64_t kOpCancel = 4;
constexpr uint64_t kOpAcceptCancel = 5;

constexpr uint32_t kMaxConnections = 1u << 16;  // the id's index field
constexpr uint16_t kBufferGroup = 0;

constexpr uint8_t kFree = 0;
constexpr uint8_t kOpen = 1;
constexpr uint8_t kDoomed = 2;  // shut down, waiting for its operations to finish before close()

int SysSetup(unsigned entries, io_uring_params* p) { return static_cast<int>(syscall(__NR_io_uring_setup, entries, p)); }
int SysEnter(int fd, unsigned submit, unsigned wait, unsigned flags) {
  return static_cast<int>(syscall(__NR_io_uring_enter, fd, submit, wait, flags, nullptr, 0));
}
int SysRegister(int fd, unsigned op, void* arg, unsigned n) { return static_cast<int>(syscall(__NR_io_uring_register, fd, op, arg, n)); }

struct Conn {
  int fd = -1;
  uint32_t gen = 1;
  uint8_t state = kFree;
  bool recvArmed = false;
  bool sendInFlight = false;
  bool paused = false;
  bool peerEof = false;
  bool endRequested = false;
  bool writeShut = false;
  bool rearm = false;  // recv ended (ENOBUFS): re-arm once buffers are back
  int cancels = 0;     // ASYNC_CANCELs in flight for this connection
  int error = 0;
  std::vector<uint8_t> sending;  // the bytes of the SEND in flight (from sendOff)
  size_t sendOff = 0;
  std::vector<uint8_t> queued;   // bytes written while a SEND is in flight
  std::string remote;
};

Napi::Error ErrnoError(Napi::Env env, const std::string& what, int err, const char* stage) {
  Napi::Error e = Napi::Error::New(env, what + ": " + strerror(err));
  e.Set("errno", Napi::Number::New(env, err));
  e.Set("stage", Napi::String::New(env, stage));
  const char* code = nullptr;
  switch (err) {
    case EADDRINUSE: code = "EADDRINUSE"; break;
    case EADDRNOTAVAIL: code = "EADDRNOTAVAIL"; break;
    case EACCES: code = "EACCES"; break;
    case EPERM: code = "EPERM"; break;
    case ENOSYS: code = "ENOSYS"; break;
    case EINVAL: code = "EINVAL"; break;
    case ENOMEM: code = "ENOMEM"; break;
    default: break;
  }
  if (code) e.Set("code", Napi::String::New(env, code));
  return e;
}

// A typed array's data pointer. Node 20's Node-API cannot open a SharedArrayBuffer itself, but a
// view's data pointer (napi_get_typedarray_info) works for shared and plain buffers alike.
void* ViewData(napi_env env, napi_value view) {
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  napi_value buffer;
  size_t offset = 0;
  if (napi_get_typedarray_info(env, view, &type, &length, &data, &buffer, &offset) != napi_ok) return nullptr;
  return data;
}

class UringServer : public Napi::ObjectWrap<UringServer> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "UringServer", {
      InstanceMethod<&UringServer::Send>("send"),
      InstanceMethod<&UringServer::Submit>("submit"),
      InstanceMethod<&UringServer::Buffered>("buffered"),
      InstanceMethod<&UringServer::End>("end"),
      InstanceMethod<&UringServer::Destroy>("destroy"),
      InstanceMethod<&UringServer::Pause>("pause"),
      InstanceMethod<&UringServer::Resume>("resume"),
      InstanceMethod<&UringServer::Remote>("remote"),
      InstanceMethod<&UringServer::Close>("close"),
      InstanceAccessor<&UringServer::Port>("port"),
      InstanceAccessor<&UringServer::Stats>("stats"),
    });
  }

  // new UringServer({ host, port, backlog?, region: Uint8Array, slotBytes, completions: Int32Array,
  //                   onCompletions(count), maxConnections?, sqEntries? })
  explicit UringServer(const Napi::CallbackInfo& info) : Napi::ObjectWrap<UringServer>(info), env_(info.Env()) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsObject()) {
      Napi::TypeError::New(env, "new UringServer(options): options must be an object").ThrowAsJavaScriptException();
      return;
    }
    Napi::Object o = info[0].As<Napi::Object>();
    Napi::Value host = o.Get("host"), port = o.Get("port"), region = o.Get("region"), slotBytes = o.Get("slotBytes"),
                completions = o.Get("completions"), onCompletions = o.Get("onCompletions");
    if (!host.IsString() || !port.IsNumber() || !region.IsTypedArray() || !slotBytes.IsNumber() || !completions.IsTypedArray() ||
        !onCompletions.IsFunction()) {
      Napi::TypeError::New(env, "new UringServer({ host: string, port: number, region: Uint8Array, slotBytes: number, completions: Int32Array, onCompletions: function })")
          .ThrowAsJavaScriptException();
      return;
    }
    Napi::TypedArray regionView = region.As<Napi::TypedArray>();
    Napi::TypedArray table = completions.As<Napi::TypedArray>();
    if (regionView.TypedArrayType() != napi_uint8_array || table.TypedArrayType() != napi_int32_array) {
      Napi::TypeError::New(env, "UringServer: region must be a Uint8Array and completions an Int32Array").ThrowAsJavaScriptException();
      return;
    }
    slotBytes_ = static_cast<uint32_t>(slotBytes.As<Napi::Number>().Uint32Value());
    size_t regionBytes = regionView.ByteLength();
    size_t slots = slotBytes_ ? regionBytes / slotBytes_ : 0;
    if (slotBytes_ < 64 || slotBytes_ > (1u << 24) || slots < 1 || slots > 32768 || (slots & (slots - 1)) != 0) {
      Napi::RangeError::New(env, "UringServer: slotBytes must be 64..16 MiB and region.byteLength / slotBytes a power of two from 1 to 32768")
          .ThrowAsJavaScriptException();
      return;
    }
    slots_ = static_cast<uint32_t>(slots);
    tableEntries_ = table.ElementLength() / kEntryInts;
    if (tableEntries_ < 1) {
      Napi::RangeError::New(env, "UringServer: completions must hold at least one entry (4 int32)").ThrowAsJavaScriptException();
      return;
    }
    Napi::Value maxConn = o.Get("maxConnections");
    maxConnections_ = maxConn.IsNumber() ? maxConn.As<Napi::Number>().Uint32Value() : 4096;
    if (maxConnections_ < 1 || maxConnections_ > kMaxConnections) {
      Napi::RangeError::New(env, "UringServer: maxConnections must be 1..65536").ThrowAsJavaScriptException();
      return;
    }
    Napi::Value sqEntries = o.Get("sqEntries");
    unsigned sq = sqEntries.IsNumber() ? sqEntries.As<Napi::Number>().Uint32Value() : 256;
    Napi::Value backlogValue = o.Get("backlog");
    int backlog = backlogValue.IsNumber() ? backlogValue.As<Napi::Number>().Int32Value() : 511;

    regionBase_ = static_cast<uint8_t*>(ViewData(env, regionView));
    table_ = static_cast<int32_t*>(ViewData(env, table));
    regionRef_ = Napi::Persistent(regionView.As<Napi::Object>());
    tableRef_ = Napi::Persistent(table.As<Napi::Object>());
    callback_ = Napi::Persistent(onCompletions.As<Napi::Function>());

    if (!SetUpRing(sq)) return;
    if (!Listen(host.As<Napi::String>().Utf8Value(), port.As<Napi::Number>().Int32Value(), backlog)) return;
    if (!StartPolling()) return;
    conns_.resize(maxConnections_);
    for (uint32_t i = maxConnections_; i > 0; --i) freeList_.push_back(i - 1);
    recycle_.reserve(slots_);
    ArmAccept();
    SubmitNow();
    Ref();  // alive while open, whatever JS holds
    open_ = true;
    napi_add_env_cleanup_hook(env, CleanupHook, this);
  }

  ~UringServer() override { Teardown(); }

 private:
  // ---- set-up ----------------------------------------------------------------------------------

  bool Fail(const std::string& what, int err, const char* stage) {
    ErrnoError(env_, what, err, stage).ThrowAsJavaScriptException();
    Teardown();
    return false;
  }

  bool SetUpRing(unsigned sqEntries) {
    io_uring_params p;
    memset(&p, 0, sizeof p);
    p.flags = IORING_SETUP_CQSIZE;
    p.cq_entries = 8192;
    ringFd_ = SysSetup(sqEntries, &p);
    if (ringFd_ < 0) {
      int err = errno;
      ringFd_ = -1;
      return Fail("io_uring_setup", err, "uring");
    }
    if (!(p.features & IORING_FEAT_NODROP) || !(p.features & IORING_FEAT_FAST_POLL)) {
      return Fail("io_uring lacks NODROP/FAST_POLL (kernel older than 5.7)", ENOSYS, "uring");
    }
    sqRingBytes_ = p.sq_off.array + p.sq_entries * sizeof(uint32_t);
    cqRingBytes_ = p.cq_off.cqes + p.cq_entries * sizeof(io_uring_cqe);
    if (p.features & IORING_FEAT_SINGLE_MMAP) sqRingBytes_ = cqRingBytes_ = std::max(sqRingBytes_, cqRingBytes_);
    sqRing_ = mmap(nullptr, sqRingBytes_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ringFd_, IORING_OFF_SQ_RING);
    if (sqRing_ == MAP_FAILED) { sqRing_ = nullptr; return Fail("mmap of the SQ ring", errno, "uring"); }
    if (p.features & IORING_FEAT_SINGLE_MMAP) cqRing_ = sqRing_;
    else {
      cqRing_ = mmap(nullptr, cqRingBytes_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ringFd_, IORING_OFF_CQ_RING);
      if (cqRing_ == MAP_FAILED) { cqRing_ = nullptr; return Fail("mmap of the CQ ring", errno, "uring"); }
    }
    sqesBytes_ = p.sq_entries * sizeof(io_uring_sqe);
    void* sqes = mmap(nullptr, sqesBytes_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ringFd_, IORING_OFF_SQES);
    if (sqes == MAP_FAILED) return Fail("mmap of the SQEs", errno, "uring");
    sqes_ = static_cast<io_uring_sqe*>(sqes);
    uint8_t* sq = static_cast<uint8_t*>(sqRing_);
    sqHead_ = reinterpret_cast<unsigned*>(sq + p.sq_off.head);
    sqTail_ = reinterpret_cast<unsigned*>(sq + p.sq_off.tail);
    sqMask_ = *reinterpret_cast<unsigned*>(sq + p.sq_off.ring_mask);
    sqEntries_ = p.sq_entries;
    sqFlags_ = reinterpret_cast<unsigned*>(sq + p.sq_off.flags);
    sqArray_ = reinterpret_cast<unsigned*>(sq + p.sq_off.array);
    uint8_t* cq = static_cast<uint8_t*>(cqRing_);
    cqHead_ = reinterpret_cast<unsigned*>(cq + p.cq_off.head);
    cqTail_ = reinterpret_cast<unsigned*>(cq + p.cq_off.tail);
    cqMask_ = *reinterpret_cast<unsigned*>(cq + p.cq_off.ring_mask);
    cqes_ = reinterpret_cast<io_uring_cqe*>(cq + p.cq_off.cqes);
    sqLocalTail_ = *sqTail_;

    // The provided-buffer ring: its entries point at the slots of the JS region.
    bufRingBytes_ = ((slots_ * sizeof(io_uring_buf) + 4095) / 4096) * 4096;
    void* br = mmap(nullptr, bufRingBytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (br == MAP_FAILED) return Fail("mmap of the buffer ring", errno, "uring");
    bufRing_ = br;
    io_uring_buf_reg reg;
    memset(&reg, 0, sizeof reg);
    reg.ring_addr = reinterpret_cast<uint64_t>(bufRing_);
    reg.ring_entries = slots_;
    reg.bgid = kBufferGroup;
    if (SysRegister(ringFd_, IORING_REGISTER_PBUF_RING, &reg, 1) < 0) {
      return Fail("io_uring_register(PBUF_RING) (provided-buffer rings need Linux 5.19)", errno, "uring");
    }
    bufRingRegistered_ = true;
    bufTail_ = 0;
    for (uint32_t bid = 0; bid < slots_; ++bid) AddBuffer(static_cast<uint16_t>(bid));
    PublishBuffers();

    eventFd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (eventFd_ < 0) return Fail("eventfd", errno, "uring");
    if (SysRegister(ringFd_, IORING_REGISTER_EVENTFD, &eventFd_, 1) < 0) return Fail("io_uring_register(EVENTFD)", errno, "uring");
    return true;
  }

  bool Listen(const std::string& hostIn, int port, int backlog) {
    std::string host = hostIn == "localhost" ? "127.0.0.1" : hostIn;
    sockaddr_storage addr;
    memset(&addr, 0, sizeof addr);
    socklen_t len;
    int family;
    auto* v4 = reinterpret_cast<sockaddr_in*>(&addr);
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&addr);
    if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
      family = v4->sin_family = AF_INET;
      v4->sin_port = htons(static_cast<uint16_t>(port));
      len = sizeof *v4;
    } else if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
      family = v6->sin6_family = AF_INET6;
      v6->sin6_port = htons(static_cast<uint16_t>(port));
      len = sizeof *v6;
    } else {
      return Fail("listen: host '" + hostIn + "' is not an IP address", EINVAL, "socket");
    }
    listenFd_ = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listenFd_ < 0) return Fail("socket", errno, "socket");
    int one = 1;
    setsockopt(listenFd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(listenFd_, reinterpret_cast<sockaddr*>(&addr), len) < 0) return Fail("bind " + hostIn + ":" + std::to_string(port), errno, "socket");
    if (listen(listenFd_, backlog) < 0) return Fail("listen", errno, "socket");
    sockaddr_storage bound;
    socklen_t blen = sizeof bound;
    getsockname(listenFd_, reinterpret_cast<sockaddr*>(&bound), &blen);
    port_ = ntohs(family == AF_INET ? reinterpret_cast<sockaddr_in*>(&bound)->sin_port : reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
    return true;
  }

  bool StartPolling() {
    uv_loop_t* loop = nullptr;
    if (napi_get_uv_event_loop(env_, &loop) != napi_ok || loop == nullptr) return Fail("napi_get_uv_event_loop", EINVAL, "uring");
    poll_ = new uv_poll_t;
    poll_->data = this;
    if (uv_poll_init(loop, poll_, eventFd_) != 0) {
      delete poll_;
      poll_ = nullptr;
      return Fail("uv_poll_init", EINVAL, "uring");
    }
    uv_poll_start(poll_, UV_READABLE, OnReadable);
    asyncContext_ = new Napi::AsyncContext(env_, "clob:UringServer");
    return true;
  }

  // ---- SQ / CQ -----------------------------------------------------------------------------------

  io_uring_sqe* NextSqe() {
    unsigned head = __atomic_load_n(sqHead_, __ATOMIC_ACQUIRE);
    if (sqLocalTail_ - head >= sqEntries_) {
      SubmitNow();  // the SQ is full: hand it over and carry on
      head = __atomic_load_n(sqHead_, __ATOMIC_ACQUIRE);
      if (sqLocalTail_ - head >= sqEntries_) return nullptr;
    }
    unsigned index = sqLocalTail_ & sqMask_;
    io_uring_sqe* sqe = &sqes_[index];
    memset(sqe, 0, sizeof *sqe);
    sqArray_[index] = index;
    ++sqLocalTail_;
    ++unsubmitted_;
    return sqe;
  }

  void SubmitNow() {
    if (ringFd_ < 0) return;
    __atomic_store_n(sqTail_, sqLocalTail_, __ATOMIC_RELEASE);
    while (unsubmitted_ > 0) {
      int n = SysEnter(ringFd_, unsubmitted_, 0, 0);
      if (n < 0) {
        if (errno == EINTR) continue;
        // EAGAIN/EBUSY: the kernel is short of memory or the CQ is backed up; the SQEs stay queued
        // and the next submit (after the next reap) retries them.
        break;
      }
      unsubmitted_ -= static_cast<unsigned>(n);
      ++enters_;
      if (n == 0) break;
    }
  }

  static uint64_t Tag(uint64_t op, uint32_t index, uint32_t gen) { return op | (static_cast<uint64_t>(index) << 8) | (static_cast<uint64_t>(gen) << 32); }

  // The buffer ring is an array of io_uring_buf whose first entry's `resv` is the ring's tail. Not
  // through io_uring_buf_ring::bufs: in C++ the uapi header's flexible-array macro puts it 8 bytes
  // off (an empty struct has size 1 in C++).
  void AddBuffer(uint16_t bid) {
    io_uring_buf* b = reinterpret_cast<io_uring_buf*>(bufRing_) + (bufTail_ & (slots_ - 1));
    b->addr = reinterpret_cast<uint64_t>(regionBase_ + static_cast<size_t>(bid) * slotBytes_);
    b->len = slotBytes_;
    b->bid = bid;
    ++bufTail_;
  }
  void PublishBuffers() {
    uint16_t* tail = &reinterpret_cast<io_uring_buf*>(bufRing_)->resv;
    __atomic_store_n(tail, bufTail_, __ATOMIC_RELEASE);
  }

  void ArmAccept() {
    io_uring_sqe* sqe = NextSqe();
    if (!sqe) return;
    sqe->opcode = IORING_OP_ACCEPT;
    sqe->fd = listenFd_;
    sqe->ioprio = IORING_ACCEPT_MULTISHOT;
    sqe->accept_flags = SOCK_CLOEXEC;
    sqe->user_data = Tag(kOpAccept, 0, 0);
    acceptArmed_ = true;
  }

  void ArmRecv(uint32_t index) {
    Conn& c = conns_[index];
    io_uring_sqe* sqe = NextSqe();
    if (!sqe) { c.rearm = true; rearm_.push_back(index); return; }
    sqe->opcode = IORING_OP_RECV;
    sqe->fd = c.fd;
    sqe->ioprio = IORING_RECV_MULTISHOT;
    sqe->flags = IOSQE_BUFFER_SELECT;
    sqe->buf_group = kBufferGroup;
    sqe->user_data = Tag(kOpRecv, index, c.gen);
    c.recvArmed = true;
  }

  void ArmSend(uint32_t index) {
    Conn& c = conns_[index];
    io_uring_sqe* sqe = NextSqe();
    if (!sqe) { Doom(index, EAGAIN); return; }
    sqe->opcode = IORING_OP_SEND;
    sqe->fd = c.fd;
    sqe->addr = reinterpret_cast<uint64_t>(c.sending.data() + c.sendOff);
    sqe->len = static_cast<uint32_t>(c.sending.size() - c.sendOff);
    sqe->msg_flags = MSG_NOSIGNAL;
    sqe->user_data = Tag(kOpSend, index, c.gen);
    c.sendInFlight = true;
  }

  bool CancelAll(int fd, uint64_t tag) {
    io_uring_sqe* sqe = NextSqe();
    if (!sqe) return false;
    sqe->opcode = IORING_OP_ASYNC_CANCEL;
    sqe->fd = fd;
    sqe->cancel_flags = IORING_ASYNC_CANCEL_FD | IORING_ASYNC_CANCEL_ALL;
    sqe->user_data = tag;
    return true;
  }

  // ---- connection lifecycle ------------------------------------------------------------------

  /** Shut a connection down; its fd closes (and CLOSED is reported) once its operations are done. */
  void Doom(uint32_t index, int err) {
    Conn& c = conns_[index];
    if (c.state != kOpen) return;
    c.state = kDoomed;
    c.error = err;
    shutdown(c.fd, SHUT_RDWR);  // wakes a pending recv (EOF) and send (EPIPE)
    if ((c.recvArmed || c.sendInFlight) && CancelAll(c.fd, Tag(kOpCancel, index, c.gen))) ++c.cancels;
    MaybeFree(index);
  }

  void MaybeFree(uint32_t index) {
    Conn& c = conns_[index];
    if (c.state != kDoomed || c.recvArmed || c.sendInFlight || c.cancels > 0) return;
    close(c.fd);
    Emit(kClosed, static_cast<int32_t>(Id(index)), c.error, 0);
    c.fd = -1;
    c.state = kFree;
    ++c.gen;
    c.sending.clear();
    c.queued.clear();
    c.sendOff = 0;
    c.remote.clear();
    --liveConns_;
    freeList_.push_back(index);
  }

  /** The write side is done when asked (end) and nothing is left to send; then FIN; both sides done: close. */
  void AfterSendIdle(uint32_t index) {
    Conn& c = conns_[index];
    if (c.state != kOpen || c.sendInFlight) return;
    if (c.endRequested && !c.writeShut) {
      c.writeShut = true;
      shutdown(c.fd, SHUT_WR);
    }
    if (c.peerEof) Doom(index, 0);
  }

  uint32_t Id(uint32_t index) const { return (conns_[index].gen << 16 | index) & 0x7fffffff; }

  /** The index of a live connection id, or -1. */
  int64_t Lookup(const Napi::Value& v) const {
    if (!v.IsNumber()) return -1;
    int64_t id = v.As<Napi::Number>().Int64Value();
    if (id < 0) return -1;
    uint32_t index = static_cast<uint32_t>(id) & 0xffff;
    if (index >= conns_.size()) return -1;
    const Conn& c = conns_[index];
    if (c.state != kOpen || Id(index) != static_cast<uint32_t>(id)) return -1;
    return index;
  }

  // ---- completions ---------------------------------------------------------------------------

  void Emit(int kind, int32_t conn, int32_t a, int32_t b) {
    if (!inReap_ || delivering_) {
      // Outside a reap, or while JS reads the table (a JS call closed a quiet connection): keep it
      // for the next reap, and wake it.
      deferred_.push_back({kind, conn, a, b});
      uint64_t one = 1;
      ssize_t w = write(eventFd_, &one, sizeof one);
      (void)w;
      return;
    }
    if (tableCount_ == tableEntries_) Deliver();
    int32_t* e = table_ + static_cast<size_t>(tableCount_) * kEntryInts;
    e[kFieldKind] = kind;
    e[kFieldConn] = conn;
    e[kFieldA] = a;
    e[kFieldB] = b;
    ++tableCount_;
  }

  /** Calls JS with the table, then gives the slots it referred to back to the kernel. */
  void Deliver() {
    if (tableCount_ > 0) {
      Napi::HandleScope scope(env_);
      uint32_t n = tableCount_;
      tableCount_ = 0;
      ++deliveries_;
      napi_value result;
      napi_value argv[1] = {Napi::Number::New(env_, n)};
      delivering_ = true;
      napi_status st = napi_make_callback(env_, *asyncContext_, Value(), callback_.Value(), 1, argv, &result);
      delivering_ = false;
      if (st == napi_pending_exception || env_.IsExceptionPending()) {
        napi_value err;
        napi_get_and_clear_last_exception(env_, &err);
        napi_fatal_exception(env_, err);  // an uncaught exception, as from a socket's 'data' handler
      }
    }
    if (!recycle_.empty() && bufRing_) {
      for (uint16_t bid : recycle_) AddBuffer(bid);
      PublishBuffers();
      recycle_.clear();
    }
  }

  static void OnReadable(uv_poll_t* handle, int status, int events) {
    static_cast<UringServer*>(handle->data)->Reap();
  }

  void Reap() {
    if (ringFd_ < 0) return;
    uint64_t counter;
    ssize_t r = read(eventFd_, &counter, sizeof counter);  // clear first: a CQE after this wakes us again
    (void)r;
    inReap_ = true;
    if (!deferred_.empty()) {
      std::vector<std::array<int32_t, 4>> pending;
      pending.swap(deferred_);
      for (const auto& d : pending) Emit(d[0], d[1], d[2], d[3]);
    }
    for (int round = 0; round < 2; ++round) {
      unsigned head = *cqHead_;
      for (;;) {
        unsigned tail = __atomic_load_n(cqTail_, __ATOMIC_ACQUIRE);
        if (head == tail) break;
        for (; head != tail; ++head) Complete(cqes_[head & cqMask_]);
        __atomic_store_n(cqHead_, head, __ATOMIC_RELEASE);
      }
      // The CQ overflowed into the kernel's backlog (NODROP): flush it into the ring and reap again.
      if (!(__atomic_load_n(sqFlags_, __ATOMIC_ACQUIRE) & IORING_SQ_CQ_OVERFLOW)) break;
      SysEnter(ringFd_, 0, 0, IORING_ENTER_GETEVENTS);
    }
    Deliver();
    // Receives that ran out of buffers (ENOBUFS) re-arm now that the slots are back.
    if (!rearm_.empty()) {
      std::vector<uint32_t> again;
      again.swap(rearm_);
      for (uint32_t index : again) {
        Conn& c = conns_[index];
        if (!c.rearm) continue;
        c.rearm = false;
        if (c.state == kOpen && !c.recvArmed && !c.paused && !c.peerEof) ArmRecv(index);
      }
    }
    if (closing_ && !acceptArmed_ && acceptCancels_ == 0 && liveConns_ == 0 && !closedReported_) {
      closedReported_ = true;
      Emit(kServerClosed, -1, 0, 0);
      Deliver();
      inReap_ = false;
      Teardown();
      return;
    }
    inReap_ = false;
    SubmitNow();
  }

  void Complete(const io_uring_cqe& cqe) {
    uint64_t op = cqe.user_data & 0xff;
    uint32_t index = static_cast<uint32_t>((cqe.user_data >> 8) & 0xffffff);
    uint32_t gen = static_cast<uint32_t>(cqe.user_data >> 32);
    bool more = cqe.flags & IORING_CQE_F_MORE;
    switch (op) {
      case kOpAccept: return Accepted(cqe.res, more);
      case kOpAcceptCancel: --acceptCancels_; return;
      case kOpRecv: {
        int bid = (cqe.flags & IORING_CQE_F_BUFFER) ? static_cast<int>(cqe.flags >> IORING_CQE_BUFFER_SHIFT) : -1;
        if (index < conns_.size() && conns_[index].gen == gen) Received(index, cqe.res, more, bid);
        // After Received's DATA entry: a table-full delivery before it must not recycle this slot.
        if (bid >= 0) recycle_.push_back(static_cast<uint16_t>(bid));
        return;
      }
      case kOpSend:
        if (index >= conns_.size() || conns_[index].gen != gen) return;
        return Sent(index, cqe.res);
      case kOpCancel:
        if (index >= conns_.size() || conns_[index].gen != gen) return;
        --conns_[index].cancels;
        return MaybeFree(index);
      default: return;
    }
  }

  void Accepted(int res, bool more) {
    if (!more) acceptArmed_ = false;
    if (res >= 0) {
      if (closing_ || freeList_.empty() || liveConns_ >= maxConnections_) {
        close(res);
        ++refused_;
        Emit(kAcceptError, -1, 0, 1);
      } else {
        uint32_t index = freeList_.back();
        freeList_.pop_back();
        Conn& c = conns_[index];
        c.fd = res;
        c.state = kOpen;
        c.recvArmed = c.sendInFlight = c.paused = c.peerEof = c.endRequested = c.writeShut = c.rearm = false;
        c.cancels = 0;
        c.error = 0;
        int one = 1;
        setsockopt(res, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        c.remote = PeerName(res);
        ++liveConns_;
        ++accepted_;
        Emit(kAccept, static_cast<int32_t>(Id(index)), 0, 0);
        ArmRecv(index);
      }
    } else if (res != -ECANCELED) {
      Emit(kAcceptError, -1, -res, 0);
    }
    if (!acceptArmed_ && !closing_) ArmAccept();  // the multishot ended (an error): arm it again
    if (!acceptArmed_ && closing_ && listenFd_ >= 0) {
      close(listenFd_);
      listenFd_ = -1;
    }
  }

  void Received(uint32_t index, int res, bool more, int bid) {
    Conn& c = conns_[index];
    if (!more) c.recvArmed = false;
    if (res > 0) {
      ++recvs_;
      bytesIn_ += static_cast<uint64_t>(res);
      if (c.state == kOpen && !c.peerEof && bid >= 0) {
        Emit(kData, static_cast<int32_t>(Id(index)), static_cast<int32_t>(static_cast<size_t>(bid) * slotBytes_), res);
      }
      if (!more && c.state == kOpen && !c.paused) ArmRecv(index);  // ended after data (e.g. a full CQ): re-arm
    } else if (res == 0) {
      c.peerEof = true;  // the peer closed its side: finish sending, then close (like allowHalfOpen: false)
      AfterSendIdle(index);
    } else if (res == -ENOBUFS) {
      ++noBuffers_;
      if (!c.recvArmed && !c.rearm) {
        c.rearm = true;
        rearm_.push_back(index);
      }
    } else if (res == -ECANCELED) {
      // a pause or a close cancelled it
    } else {
      Doom(index, -res);
    }
    MaybeFree(index);
  }

  void Sent(uint32_t index, int res) {
    Conn& c = conns_[index];
    c.sendInFlight = false;
    if (c.state != kOpen) return MaybeFree(index);
    if (res < 0) {
      if (res == -EAGAIN || res == -EINTR) return ArmSend(index);
      return Doom(index, -res);
    }
    ++sends_;
    bytesOut_ += static_cast<uint64_t>(res);
    c.sendOff += static_cast<size_t>(res);
    if (c.sendOff < c.sending.size()) {
      ++shortSends_;
      return ArmSend(index);  // a short send: the rest goes next
    }
    c.sending.clear();
    c.sendOff = 0;
    if (!c.queued.empty()) {
      c.sending.swap(c.queued);
      return ArmSend(index);
    }
    AfterSendIdle(index);
  }

  static std::string PeerName(int fd) {
    sockaddr_storage a;
    socklen_t len = sizeof a;
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&a), &len) < 0) return "unknown";
    char ip[INET6_ADDRSTRLEN] = "";
    int port = 0;
    if (a.ss_family == AF_INET) {
      auto* v4 = reinterpret_cast<sockaddr_in*>(&a);
      inet_ntop(AF_INET, &v4->sin_addr, ip, sizeof ip);
      port = ntohs(v4->sin_port);
    } else if (a.ss_family == AF_INET6) {
      auto* v6 = reinterpret_cast<sockaddr_in6*>(&a);
      inet_ntop(AF_INET6, &v6->sin6_addr, ip, sizeof ip);
      port = ntohs(v6->sin6_port);
    }
    return std::string(ip) + ":" + std::to_string(port);
  }

  // ---- JS methods ------------------------------------------------------------------------------

  // send(conn, bytes: Uint8Array, length): copies bytes[0, length) for sending; returns the bytes
  // now waiting to be sent on that connection, or -1 if it is not open (closed, or ending).
  Napi::Value Send(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    int64_t index = Lookup(info[0]);
    if (info.Length() < 3 || !info[1].IsTypedArray() || !info[2].IsNumber()) {
      Napi::TypeError::New(env, "send(conn, bytes: Uint8Array, length)").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (index < 0) return Napi::Number::New(env, -1);
    Conn& c = conns_[index];
    if (c.endRequested) return Napi::Number::New(env, -1);
    Napi::TypedArray view = info[1].As<Napi::TypedArray>();
    size_t n = static_cast<size_t>(info[2].As<Napi::Number>().Int64Value());
    if (view.TypedArrayType() != napi_uint8_array || n > view.ByteLength()) {
      Napi::RangeError::New(env, "send: bytes must be a Uint8Array holding at least length bytes").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    const uint8_t* src = static_cast<const uint8_t*>(ViewData(env, view));
    if (n > 0) {
      if (c.sendInFlight) c.queued.insert(c.queued.end(), src, src + n);
      else {
        c.sending.insert(c.sending.end(), src, src + n);
        ArmSend(static_cast<uint32_t>(index));
      }
    }
    return Napi::Number::New(env, static_cast<double>(Pending(c)));
  }

  static size_t Pending(const Conn& c) { return c.sending.size() - c.sendOff + c.queued.size(); }

  // submit(): one io_uring_enter for every SQE prepared since the last (the batch's sends).
  Napi::Value Submit(const Napi::CallbackInfo& info) {
    if (!inReap_) SubmitNow();  // inside a reap, the reap submits once at its end
    return info.Env().Undefined();
  }

  Napi::Value Buffered(const Napi::CallbackInfo& info) {
    int64_t index = Lookup(info[0]);
    return Napi::Number::New(info.Env(), index < 0 ? 0 : static_cast<double>(Pending(conns_[index])));
  }

  // end(conn): send what is queued, then FIN; the connection closes when the peer closes its side.
  Napi::Value End(const Napi::CallbackInfo& info) {
    int64_t index = Lookup(info[0]);
    if (index >= 0) {
      conns_[index].endRequested = true;
      AfterSendIdle(static_cast<uint32_t>(index));
      if (!inReap_) SubmitNow();
    }
    return info.Env().Undefined();
  }

  // destroy(conn): close now, dropping unsent bytes; CLOSED follows.
  Napi::Value Destroy(const Napi::CallbackInfo& info) {
    int64_t index = Lookup(info[0]);
    if (index >= 0) {
      Doom(static_cast<uint32_t>(index), 0);
      if (!inReap_) SubmitNow();
    }
    return info.Env().Undefined();
  }

  // pause(conn): stop receiving (bytes already received may still be delivered); resume(conn).
  Napi::Value Pause(const Napi::CallbackInfo& info) {
    int64_t index = Lookup(info[0]);
    if (index >= 0 && !conns_[index].paused) {
      Conn& c = conns_[index];
      c.paused = true;
      if (c.recvArmed) {
        io_uring_sqe* sqe = NextSqe();
        if (sqe) {
          sqe->opcode = IORING_OP_ASYNC_CANCEL;
          sqe->addr = Tag(kOpRecv, static_cast<uint32_t>(index), c.gen);
          sqe->user_data = Tag(kOpCancel, static_cast<uint32_t>(index), c.gen);
          ++c.cancels;
        }
        if (!inReap_) SubmitNow();
      }
    }
    return info.Env().Undefined();
  }

  Napi::Value Resume(const Napi::CallbackInfo& info) {
    int64_t index = Lookup(info[0]);
    if (index >= 0 && conns_[index].paused) {
      Conn& c = conns_[index];
      c.paused = false;
      if (!c.recvArmed && !c.peerEof) ArmRecv(static_cast<uint32_t>(index));
      if (!inReap_) SubmitNow();
    }
    return info.Env().Undefined();
  }

  Napi::Value Remote(const Napi::CallbackInfo& info) {
    int64_t index = Lookup(info[0]);
    return Napi::String::New(info.Env(), index < 0 ? "" : conns_[index].remote);
  }

  // close(): stop accepting; SERVER_CLOSED is reported (and the ring released) once every
  // connection has closed (JS ends or destroys them).
  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (open_ && !closing_) {
      closing_ = true;
      if (acceptArmed_ && CancelAll(listenFd_, Tag(kOpAcceptCancel, 0, 0))) ++acceptCancels_;
      uint64_t one = 1;  // a reap checks whether everything is closed already
      ssize_t w = write(eventFd_, &one, sizeof one);
      (void)w;
      if (!inReap_) SubmitNow();
    }
    return info.Env().Undefined();
  }

  Napi::Value Port(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), port_); }

  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object o = Napi::Object::New(env);
    o.Set("connections", Napi::Number::New(env, liveConns_));
    o.Set("accepted", Napi::Number::New(env, static_cast<double>(accepted_)));
    o.Set("refused", Napi::Number::New(env, static_cast<double>(refused_)));
    o.Set("recvs", Napi::Number::New(env, static_cast<double>(recvs_)));
    o.Set("bytesIn", Napi::Number::New(env, static_cast<double>(bytesIn_)));
    o.Set("sends", Napi::Number::New(env, static_cast<double>(sends_)));
    o.Set("shortSends", Napi::Number::New(env, static_cast<double>(shortSends_)));
    o.Set("bytesOut", Napi::Number::New(env, static_cast<double>(bytesOut_)));
    o.Set("noBuffers", Napi::Number::New(env, static_cast<double>(noBuffers_)));
    o.Set("enters", Napi::Number::New(env, static_cast<double>(enters_)));
    o.Set("deliveries", Napi::Number::New(env, static_cast<double>(deliveries_)));
    o.Set("slots", Napi::Number::New(env, slots_));
    o.Set("slotBytes", Napi::Number::New(env, slotBytes_));
    return o;
  }

  // ---- teardown --------------------------------------------------------------------------------

  static void CleanupHook(void* arg) { static_cast<UringServer*>(arg)->Teardown(); }

  static void OnPollClosed(uv_handle_t* handle) { delete reinterpret_cast<uv_poll_t*>(handle); }

  /** Releases everything at once (after SERVER_CLOSED, at environment exit, or a failed start). */
  void Teardown() {
    if (poll_) {
      uv_poll_stop(poll_);
      poll_->data = nullptr;
      uv_close(reinterpret_cast<uv_handle_t*>(poll_), OnPollClosed);
      poll_ = nullptr;
    }
    for (Conn& c : conns_) {
      if (c.fd >= 0) close(c.fd);
      c.fd = -1;
    }
    if (listenFd_ >= 0) close(listenFd_);
    listenFd_ = -1;
    if (ringFd_ >= 0) close(ringFd_);  // the kernel cancels what is left
    ringFd_ = -1;
    if (eventFd_ >= 0) close(eventFd_);
    eventFd_ = -1;
    if (sqes_) munmap(sqes_, sqesBytes_);
    sqes_ = nullptr;
    if (cqRing_ && cqRing_ != sqRing_) munmap(cqRing_, cqRingBytes_);
    if (sqRing_) munmap(sqRing_, sqRingBytes_);
    sqRing_ = cqRing_ = nullptr;
    if (bufRing_) munmap(bufRing_, bufRingBytes_);  // after the ring fd: the kernel no longer uses it
    bufRing_ = nullptr;
    delete asyncContext_;
    asyncContext_ = nullptr;
    if (open_) {
      open_ = false;
      napi_remove_env_cleanup_hook(env_, CleanupHook, this);
      Unref();
    }
  }

  Napi::Env env_;
  Napi::ObjectReference regionRef_, tableRef_;
  Napi::FunctionReference callback_;
  Napi::AsyncContext* asyncContext_ = nullptr;
  uv_poll_t* poll_ = nullptr;

  int ringFd_ = -1, eventFd_ = -1, listenFd_ = -1;
  int port_ = 0;
  void* sqRing_ = nullptr;
  void* cqRing_ = nullptr;
  size_t sqRingBytes_ = 0, cqRingBytes_ = 0, sqesBytes_ = 0, bufRingBytes_ = 0;
  io_uring_sqe* sqes_ = nullptr;
  unsigned *sqHead_ = nullptr, *sqTail_ = nullptr, *sqFlags_ = nullptr, *sqArray_ = nullptr;
  unsigned sqMask_ = 0, sqEntries_ = 0, sqLocalTail_ = 0, unsubmitted_ = 0;
  unsigned *cqHead_ = nullptr, *cqTail_ = nullptr;
  unsigned cqMask_ = 0;
  io_uring_cqe* cqes_ = nullptr;

  void* bufRing_ = nullptr;
  bool bufRingRegistered_ = false;
  uint16_t bufTail_ = 0;
  uint8_t* regionBase_ = nullptr;
  uint32_t slotBytes_ = 0, slots_ = 0;
  std::vector<uint16_t> recycle_;

  int32_t* table_ = nullptr;
  uint32_t tableEntries_ = 0, tableCount_ = 0;
  std::vector<std::array<int32_t, 4>> deferred_;
  bool inReap_ = false;
  bool delivering_ = false;

  std::vector<Conn> conns_;
  std::vector<uint32_t> freeList_;
  std::vector<uint32_t> rearm_;
  uint32_t maxConnections_ = 0, liveConns_ = 0;
  bool acceptArmed_ = false;
  int acceptCancels_ = 0;
  bool open_ = false, closing_ = false, closedReported_ = false;

  uint64_t accepted_ = 0, refused_ = 0, recvs_ = 0, bytesIn_ = 0, sends_ = 0, shortSends_ = 0, bytesOut_ = 0, noBuffers_ = 0,
           enters_ = 0, deliveries_ = 0;
};

// uringProbe(): whether this process can use what UringServer needs (io_uring_setup, NODROP and
// FAST_POLL, a provided-buffer ring): undefined if so, else the reason. Sets up and drops a tiny ring.
Napi::Value UringProbe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  io_uring_params p;
  memset(&p, 0, sizeof p);
  int fd = SysSetup(2, &p);
  if (fd < 0) return Napi::String::New(env, std::string("io_uring_setup: ") + strerror(errno));
  std::string reason;
  void* ring = MAP_FAILED;
  if (!(p.features & IORING_FEAT_NODROP) || !(p.features & IORING_FEAT_FAST_POLL)) reason = "io_uring lacks NODROP/FAST_POLL (kernel older than 5.7)";
  else if ((ring = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)) == MAP_FAILED) reason = "mmap failed";
  else {
    io_uring_buf_reg reg;
    memset(&reg, 0, sizeof reg);
    reg.ring_addr = reinterpret_cast<uint64_t>(ring);
    reg.ring_entries = 1;
    if (SysRegister(fd, IORING_REGISTER_PBUF_RING, &reg, 1) < 0) reason = std::string("io_uring_register(PBUF_RING) (Linux 5.19+): ") + strerror(errno);
  }
  close(fd);
  if (ring != MAP_FAILED) munmap(ring, 4096);
  return reason.empty() ? env.Undefined() : Napi::String::New(env, reason);
}

}  // namespace

void InitUringServer(Napi::Env env, Napi::Object exports) {
  exports.Set("UringServer", UringServer::Define(env));
  exports.Set("uringProbe", Napi::Function::New(env, UringProbe, "uringProbe"));
  Napi::Object layout = Napi::Object::New(env);
  layout.Set("ENTRY_INTS", kEntryInts);
  layout.Set("KIND", kFieldKind);
  layout.Set("CONN", kFieldConn);
  layout.Set("A", kFieldA);
  layout.Set("B", kFieldB);
  layout.Set("ACCEPT", kAccept);
  layout.Set("DATA", kData);
  layout.Set("CLOSED", kClosed);
  layout.Set("SERVER_CLOSED", kServerClosed);
  layout.Set("ACCEPT_ERROR", kAcceptError);
  exports.Set("uringLayout", layout);
}

}  // namespace clob

/*
 * ext4box native addon (Node-API, C): exactly the Linux syscalls Node lacks.
 * Unix SOCK_SEQPACKET sockets with SCM_RIGHTS, mount/umount2, ioctl, prctl, seccomp via
 * libseccomp, unshare, set*id/setgroups, l*xattr, mknodat, utimensat with nanoseconds, poll.
 * Error convention (one for every function): a failing syscall throws an Error whose .code is
 * the errno name ('ENOTDIR'), .errno the positive errno number and .syscall the call's name;
 * argument mistakes throw TypeError. Every call is synchronous and blocks the JS thread.
 * Used by helper/ (privileged) and by the unprivileged server; see helper/native.ts.
 */
#define _GNU_SOURCE
#include <node_api.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <signal.h>
#include <time.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <unistd.h>

#define MAX_FDS 16            /* SCM_RIGHTS fds per message we send or accept */
#define MAX_PATH_ARG 4096
#define MAX_XATTR_VALUE 65536 /* XATTR_SIZE_MAX */
#define MAX_XATTR_LIST 65536  /* XATTR_LIST_MAX */
#define MAX_MSG (1 << 20)
#define MAX_GROUPS 65536

/* ---------- error helpers ---------- */

static const char *errno_name(int e) {
  switch (e) {
#define E(x) case x: return #x;
    E(EPERM) E(ENOENT) E(ESRCH) E(EINTR) E(EIO) E(ENXIO) E(E2BIG) E(ENOEXEC) E(EBADF)
    E(ECHILD) E(EAGAIN) E(ENOMEM) E(EACCES) E(EFAULT) E(ENOTBLK) E(EBUSY) E(EEXIST)
    E(EXDEV) E(ENODEV) E(ENOTDIR) E(EISDIR) E(EINVAL) E(ENFILE) E(EMFILE) E(ENOTTY)
    E(ETXTBSY) E(EFBIG) E(ENOSPC) E(ESPIPE) E(EROFS) E(EMLINK) E(EPIPE) E(EDOM) E(ERANGE)
    E(EDEADLK) E(ENAMETOOLONG) E(ENOLCK) E(ENOSYS) E(ENOTEMPTY) E(ELOOP) E(ENOMSG)
    E(ENODATA) E(ENOTSOCK) E(EDESTADDRREQ) E(EMSGSIZE) E(EPROTOTYPE) E(ENOPROTOOPT)
    E(EPROTONOSUPPORT) E(EOPNOTSUPP) E(EAFNOSUPPORT) E(EADDRINUSE) E(EADDRNOTAVAIL)
    E(ENETDOWN) E(ECONNABORTED) E(ECONNRESET) E(ENOBUFS) E(EISCONN) E(ENOTCONN)
    E(ETIMEDOUT) E(ECONNREFUSED) E(EALREADY) E(EINPROGRESS) E(ESTALE) E(EDQUOT)
    E(ECANCELED) E(EOWNERDEAD) E(EUCLEAN) E(EBADMSG) E(EOVERFLOW) E(EILSEQ) E(ENOKEY)
#undef E
    default: return "EUNKNOWN";
  }
}

/* Throws Error{code, errno, syscall}; always returns NULL so callers can `return throw_errno(..)`. */
static napi_value throw_errno(napi_env env, int e, const char *syscall) {
  char msg[160];
  snprintf(msg, sizeof msg, "%s: %s (%s)", syscall, strerror(e), errno_name(e));
  napi_value m, code, err, num, sc;
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m);
  napi_create_string_utf8(env, errno_name(e), NAPI_AUTO_LENGTH, &code);
  napi_create_error(env, code, m, &err);
  napi_create_int32(env, e, &num);
  napi_set_named_property(env, err, "errno", num);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &sc);
  napi_set_named_property(env, err, "syscall", sc);
  napi_throw(env, err);
  return NULL;
}

static napi_value type_error(napi_env env, const char *msg) {
  napi_throw_type_error(env, "ERR_INVALID_ARG", msg);
  return NULL;
}

/* ---------- argument helpers (return 0 on success, else a TypeError is pending) ---------- */

static int get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return -1;
  if (argc < want) { type_error(env, "too few arguments"); return -1; }
  return 0;
}

static int arg_int64(napi_env env, napi_value v, int64_t lo, int64_t hi, int64_t *out, const char *what) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t == napi_bigint) {
    bool lossless;
    if (napi_get_value_bigint_int64(env, v, out, &lossless) != napi_ok || !lossless) goto bad;
  } else if (t == napi_number) {
    double d;
    napi_get_value_double(env, v, &d);
    if (!(d >= -9007199254740991.0 && d <= 9007199254740991.0) || d != (double)(int64_t)d) goto bad;
    *out = (int64_t)d;
  } else goto bad;
  if (*out < lo || *out > hi) goto bad;
  return 0;
bad:;
  char msg[128];
  snprintf(msg, sizeof msg, "%s must be an integer in range", what);
  type_error(env, msg);
  return -1;
}

static int arg_int(napi_env env, napi_value v, int64_t lo, int64_t hi, int *out, const char *what) {
  int64_t x;
  if (arg_int64(env, v, lo, hi, &x, what)) return -1;
  *out = (int)x;
  return 0;
}

static int arg_fd(napi_env env, napi_value v, int *out) {
  return arg_int(env, v, 0, INT_MAX, out, "fd");
}

static int arg_dirfd(napi_env env, napi_value v, int *out) {
  int64_t x;
  if (arg_int64(env, v, AT_FDCWD, INT_MAX, &x, "dirfd")) return -1;
  if (x < 0 && x != AT_FDCWD) { type_error(env, "dirfd must be >= 0 or AT_FDCWD"); return -1; }
  *out = (int)x;
  return 0;
}

/* Copies a JS string (as UTF-8) or a Buffer/Uint8Array (raw bytes: file names need not be
 * UTF-8) into buf, NUL-terminated; rejects embedded NULs and overlong input. */
static int arg_str(napi_env env, napi_value v, char *buf, size_t cap, const char *what) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  size_t len = 0;
  char msg[128];
  bool isbuf = false, ista = false;
  /* Typed arrays first: napi_is_buffer also says yes to a Uint16Array or a DataView. */
  napi_is_typedarray(env, v, &ista);
  if (!ista) napi_is_buffer(env, v, &isbuf);
  if (isbuf) goto notstr;
  if (ista) {
    void *data = NULL;
    napi_typedarray_type tt; napi_value ab; size_t off;
    napi_get_typedarray_info(env, v, &tt, &len, &data, &ab, &off);
    if (tt != napi_uint8_array && tt != napi_uint8_clamped_array) goto notstr;
    if (len + 1 > cap) {
      snprintf(msg, sizeof msg, "%s is too long", what);
      type_error(env, msg);
      return -1;
    }
    if (len) memcpy(buf, data, len);
    buf[len] = 0;
    if (memchr(buf, 0, len)) {
      snprintf(msg, sizeof msg, "%s contains a NUL byte", what);
      type_error(env, msg);
      return -1;
    }
    return 0;
  }
  if (t != napi_string) {
notstr:
    snprintf(msg, sizeof msg, "%s must be a string or a Uint8Array", what);
    type_error(env, msg);
    return -1;
  }
  napi_get_value_string_utf8(env, v, NULL, 0, &len);
  if (len + 1 > cap) {
    snprintf(msg, sizeof msg, "%s is too long", what);
    type_error(env, msg);
    return -1;
  }
  napi_get_value_string_utf8(env, v, buf, cap, &len);
  if (strlen(buf) != len) {
    snprintf(msg, sizeof msg, "%s contains a NUL byte", what);
    type_error(env, msg);
    return -1;
  }
  return 0;
}

static int arg_is_nullish(napi_env env, napi_value v) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  return t == napi_null || t == napi_undefined;
}

static int arg_buffer(napi_env env, napi_value v, void **data, size_t *len, const char *what) {
  bool is;
  /* Only byte arrays: napi_is_buffer would also accept a Uint16Array or a DataView. */
  napi_is_typedarray(env, v, &is);
  if (is) {
    napi_typedarray_type tt; size_t n; napi_value ab; size_t off;
    napi_get_typedarray_info(env, v, &tt, &n, data, &ab, &off);
    if (tt == napi_uint8_array) { *len = n; return 0; }
  }
  char msg[128];
  snprintf(msg, sizeof msg, "%s must be a Buffer or Uint8Array", what);
  type_error(env, msg);
  return -1;
}

static napi_value ret_int(napi_env env, int64_t x) {
  napi_value r;
  napi_create_int64(env, x, &r);
  return r;
}

static napi_value ret_undef(napi_env env) {
  napi_value r;
  napi_get_undefined(env, &r);
  return r;
}

/* ---------- unix sockets ---------- */

static int sock_type(napi_env env, napi_value v, int *out) {
  char s[16];
  if (arg_str(env, v, s, sizeof s, "socket type")) return -1;
  if (!strcmp(s, "seqpacket")) *out = SOCK_SEQPACKET;
  else if (!strcmp(s, "stream")) *out = SOCK_STREAM;
  else if (!strcmp(s, "dgram")) *out = SOCK_DGRAM;
  else { type_error(env, "socket type must be seqpacket, stream or dgram"); return -1; }
  return 0;
}

static int sun_from(napi_env env, napi_value v, struct sockaddr_un *sa, socklen_t *salen) {
  char path[sizeof sa->sun_path];
  if (arg_str(env, v, path, sizeof path, "socket path")) return -1;
  memset(sa, 0, sizeof *sa);
  sa->sun_family = AF_UNIX;
  memcpy(sa->sun_path, path, strlen(path) + 1);
  *salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1);
  return 0;
}

static napi_value n_socketpair(napi_env env, napi_callback_info info) {
  napi_value argv[1]; int type; int sv[2];
  if (get_args(env, info, 1, argv) || sock_type(env, argv[0], &type)) return NULL;
  if (socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv) < 0) return throw_errno(env, errno, "socketpair");
  napi_value arr;
  napi_create_array_with_length(env, 2, &arr);
  napi_set_element(env, arr, 0, ret_int(env, sv[0]));
  napi_set_element(env, arr, 1, ret_int(env, sv[1]));
  return arr;
}

static napi_value n_socket(napi_env env, napi_callback_info info) {
  napi_value argv[1]; int type;
  if (get_args(env, info, 1, argv) || sock_type(env, argv[0], &type)) return NULL;
  int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, errno, "socket");
  return ret_int(env, fd);
}

static napi_value n_bind(napi_env env, napi_callback_info info) {
  napi_value argv[2]; int fd; struct sockaddr_un sa; socklen_t l;
  if (get_args(env, info, 2, argv) || arg_fd(env, argv[0], &fd) || sun_from(env, argv[1], &sa, &l)) return NULL;
  if (bind(fd, (struct sockaddr *)&sa, l) < 0) return throw_errno(env, errno, "bind");
  return ret_undef(env);
}

static napi_value n_connect(napi_env env, napi_callback_info info) {
  napi_value argv[2]; int fd; struct sockaddr_un sa; socklen_t l;
  if (get_args(env, info, 2, argv) || arg_fd(env, argv[0], &fd) || sun_from(env, argv[1], &sa, &l)) return NULL;
  int r;
  do r = connect(fd, (struct sockaddr *)&sa, l); while (r < 0 && errno == EINTR);
  if (r < 0) return throw_errno(env, errno, "connect");
  return ret_undef(env);
}

static napi_value n_listen(napi_env env, napi_callback_info info) {
  napi_value argv[2]; int fd, backlog;
  if (get_args(env, info, 2, argv) || arg_fd(env, argv[0], &fd) || arg_int(env, argv[1], 0, 4096, &backlog, "backlog")) return NULL;
  if (listen(fd, backlog) < 0) return throw_errno(env, errno, "listen");
  return ret_undef(env);
}

static napi_value n_accept(napi_env env, napi_callback_info info) {
  napi_value argv[1]; int fd, c;
  if (get_args(env, info, 1, argv) || arg_fd(env, argv[0], &fd)) return NULL;
  do c = accept4(fd, NULL, NULL, SOCK_CLOEXEC); while (c < 0 && errno == EINTR);
  if (c < 0) return throw_errno(env, errno, "accept4");
  return ret_int(env, c);
}

/* peerCred(fd) -> {pid, uid, gid}: who is on the other end of a unix socket (SO_PEERCRED). */
static napi_value n_peercred(napi_env env, napi_callback_info info) {
  napi_value argv[1]; int fd; struct ucred cr; socklen_t l = sizeof cr;
  if (get_args(env, info, 1, argv) || arg_fd(env, argv[0], &fd)) return NULL;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &l) < 0) return throw_errno(env, errno, "getsockopt");
  napi_value o;
  napi_create_object(env, &o);
  napi_set_named_property(env, o, "pid", ret_int(env, cr.pid));
  napi_set_named_property(env, o, "uid", ret_int(env, cr.uid));
  napi_set_named_property(env, o, "gid", ret_int(env, cr.gid));
  return o;
}

/* sendmsg(fd, data, fds[]) -> bytes sent. */
static napi_value n_sendmsg(napi_env env, napi_callback_info info) {
  napi_value argv[3]; int fd; void *data; size_t len;
  if (get_args(env, info, 3, argv) || arg_fd(env, argv[0], &fd) || arg_buffer(env, argv[1], &data, &len, "data")) return NULL;
  bool isarr; uint32_t nfds = 0;
  napi_is_array(env, argv[2], &isarr);
  if (!isarr) return type_error(env, "fds must be an array");
  napi_get_array_length(env, argv[2], &nfds);
  if (nfds > MAX_FDS) return type_error(env, "too many fds");
  int fds[MAX_FDS];
  for (uint32_t i = 0; i < nfds; i++) {
    napi_value e;
    napi_get_element(env, argv[2], i, &e);
    if (arg_fd(env, e, &fds[i])) return NULL;
  }
  union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int) * MAX_FDS)]; } cm;
  memset(&cm, 0, sizeof cm);
  char dummy = 0;
  struct iovec iov = { len ? data : &dummy, len ? len : 1 }; /* a zero-byte SEQPACKET message cannot carry fds on every kernel */
  struct msghdr mh = { 0 };
  mh.msg_iov = &iov; mh.msg_iovlen = 1;
  if (nfds) {
    mh.msg_control = cm.buf;
    mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET; c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
    memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
  }
  ssize_t r;
  do r = sendmsg(fd, &mh, MSG_NOSIGNAL); while (r < 0 && errno == EINTR);
  if (r < 0) return throw_errno(env, errno, "sendmsg");
  return ret_int(env, len ? r : 0);
}

/* recvmsg(fd, maxLen, flags) -> {data: Buffer, fds: number[], truncated, ctruncated}.
 * Received fds are close-on-exec (MSG_CMSG_CLOEXEC); flags may add MSG_DONTWAIT. */
static napi_value n_recvmsg(napi_env env, napi_callback_info info) {
  napi_value argv[3]; int fd, maxlen, flags;
  if (get_args(env, info, 3, argv) || arg_fd(env, argv[0], &fd) ||
      arg_int(env, argv[1], 1, MAX_MSG, &maxlen, "maxLen") ||
      arg_int(env, argv[2], 0, INT_MAX, &flags, "flags")) return NULL;
  if (flags & ~(MSG_DONTWAIT | MSG_PEEK)) return type_error(env, "flags may only contain MSG_DONTWAIT, MSG_PEEK");
  char *buf = malloc((size_t)maxlen);
  if (!buf) return throw_errno(env, ENOMEM, "recvmsg");
  union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int) * MAX_FDS)]; } cm;
  struct iovec iov = { buf, (size_t)maxlen };
  struct msghdr mh = { 0 };
  mh.msg_iov = &iov; mh.msg_iovlen = 1;
  mh.msg_control = cm.buf; mh.msg_controllen = sizeof cm.buf;
  ssize_t r;
  do r = recvmsg(fd, &mh, flags | MSG_CMSG_CLOEXEC); while (r < 0 && errno == EINTR);
  if (r < 0) { int e = errno; free(buf); return throw_errno(env, e, "recvmsg"); }
  napi_value fdarr, data, o, b;
  napi_create_array(env, &fdarr);
  uint32_t n = 0;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS || c->cmsg_len < CMSG_LEN(0)) continue;
    size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < k; i++) {
      int rfd;
      memcpy(&rfd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
      napi_set_element(env, fdarr, n++, ret_int(env, rfd));
    }
  }
  napi_create_buffer_copy(env, (size_t)r, buf, NULL, &data);
  free(buf);
  napi_create_object(env, &o);
  napi_set_named_property(env, o, "data", data);
  napi_set_named_property(env, o, "fds", fdarr);
  napi_get_boolean(env, (mh.msg_flags & MSG_TRUNC) != 0, &b);
  napi_set_named_property(env, o, "truncated", b);
  napi_get_boolean(env, (mh.msg_flags & MSG_CTRUNC) != 0, &b);
  napi_set_named_property(env, o, "ctruncated", b);
  return o;
}

/* poll(fd, events, timeoutMs) -> revents (0 on timeout). */
static napi_value n_poll(napi_env env, napi_callback_info info) {
  napi_value argv[3]; int fd, ev, to;
  if (get_args(env, info, 3, argv) || arg_fd(env, argv[0], &fd) ||
      arg_int(env, argv[1], 0, 0xffff, &ev, "events") || arg_int(env, argv[2], -1, INT_MAX, &to, "timeoutMs")) return NULL;
  struct pollfd p = { fd, (short)ev, 0 };
  int r = poll(&p, 1, to);
  if (r < 0) return throw_errno(env, errno, "poll");
  return ret_int(env, r ? p.revents : 0);
}

/* ---------- mounts, ioctl, prctl ---------- */

static napi_value n_mount(napi_env env, napi_callback_info info) {
  napi_value argv[5]; int64_t flags;
  char src[MAX_PATH_ARG], tgt[MAX_PATH_ARG], type[256], data[MAX_PATH_ARG];
  if (get_args(env, info, 5, argv)) return NULL;
  int nosrc = arg_is_nullish(env, argv[0]), notype = arg_is_nullish(env, argv[2]), nodata = arg_is_nullish(env, argv[4]);
  if ((!nosrc && arg_str(env, argv[0], src, sizeof src, "source")) ||
      arg_str(env, argv[1], tgt, sizeof tgt, "target") ||
      (!notype && arg_str(env, argv[2], type, sizeof type, "fstype")) ||
      arg_int64(env, argv[3], 0, 0xffffffffLL, &flags, "flags") ||
      (!nodata && arg_str(env, argv[4], data, sizeof data, "data"))) return NULL;
  if (mount(nosrc ? NULL : src, tgt, notype ? NULL : type, (unsigned long)flags, nodata ? NULL : data) < 0)
    return throw_errno(env, errno, "mount");
  return ret_undef(env);
}

/* mountWatched(source, target, fstype, flags, data, watchFd, timeoutMs)
 * With FUSE_DEV_IOC_SYNC_INIT, mount(2) sleeps until the server answers INIT, and only a
 * fatal signal ends that sleep: neither closing our fd copy nor an ordinary signal does
 * (measured on 6.18). So mount(2) runs in a forked child that does nothing but the syscall;
 * the parent polls the child (pidfd) and watchFd (the server's control socket: POLLHUP means
 * the server is gone) and SIGKILLs the child when the server dies or the time runs out.
 * Errors: the mount's own errno; ENOTCONN when watchFd hung up first; ETIMEDOUT on timeout.
 * After ENOTCONN/ETIMEDOUT the caller must still check for (and remove) a mount that won
 * the race with the kill. */
static napi_value n_mount_watched(napi_env env, napi_callback_info info) {
  napi_value argv[7]; int64_t flags; int watch, timeout;
  char src[MAX_PATH_ARG], tgt[MAX_PATH_ARG], type[256], data[MAX_PATH_ARG];
  if (get_args(env, info, 7, argv)) return NULL;
  if (arg_str(env, argv[0], src, sizeof src, "source") || arg_str(env, argv[1], tgt, sizeof tgt, "target") ||
      arg_str(env, argv[2], type, sizeof type, "fstype") || arg_int64(env, argv[3], 0, 0xffffffffLL, &flags, "flags") ||
      arg_str(env, argv[4], data, sizeof data, "data") || arg_int(env, argv[5], -1, INT_MAX, &watch, "watchFd") ||
      arg_int(env, argv[6], 1, INT_MAX, &timeout, "timeoutMs")) return NULL;
  pid_t pid = fork();
  if (pid < 0) return throw_errno(env, errno, "fork");
  if (pid == 0) {
    /* Only async-signal-safe calls after fork() in a multi-threaded process. */
    int r = mount(src, tgt, type, (unsigned long)flags, data);
    _exit(r == 0 ? 0 : (errno > 0 && errno < 255 ? errno : 255));
  }
  int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
  int result = 0; /* 0 ok, >0 errno */
  const char *what = "mount";
  struct timespec t0, now;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (;;) {
    clock_gettime(CLOCK_MONOTONIC, &now);
    int64_t left = (int64_t)timeout - ((int64_t)(now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000);
    if (left <= 0) { result = ETIMEDOUT; what = "mount (timed out waiting for the server's INIT reply)"; break; }
    struct pollfd p[2] = { { pfd, POLLIN, 0 }, { watch, 0, 0 } };
    int n = poll(p, watch >= 0 ? 2 : 1, pfd >= 0 ? (int)(left > 100 ? 100 : left) : 50);
    if (n < 0 && errno != EINTR) { result = errno; what = "poll"; break; }
    int st;
    pid_t w = waitpid(pid, &st, WNOHANG);
    if (w == pid) {
      if (WIFEXITED(st)) {
        if (pfd >= 0) close(pfd);
        if (WEXITSTATUS(st) == 0) return ret_undef(env);
        return throw_errno(env, WEXITSTATUS(st), "mount");
      }
      if (pfd >= 0) close(pfd);
      return throw_errno(env, EINTR, "mount (child killed)");
    }
    if (watch >= 0 && n > 0 && (p[1].revents & (POLLHUP | POLLERR | POLLNVAL))) {
      result = ENOTCONN; what = "mount (server closed its control socket before INIT)"; break;
    }
  }
  kill(pid, SIGKILL);
  int st;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
  if (pfd >= 0) close(pfd);
  if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return ret_undef(env); /* it won the race */
  return throw_errno(env, result, what);
}

static napi_value n_umount2(napi_env env, napi_callback_info info) {
  napi_value argv[2]; int flags; char tgt[MAX_PATH_ARG];
  if (get_args(env, info, 2, argv) || arg_str(env, argv[0], tgt, sizeof tgt, "target") ||
      arg_int(env, argv[1], 0, INT_MAX, &flags, "flags")) return NULL;
  if (umount2(tgt, flags) < 0) return throw_errno(env, errno, "umount2");
  return ret_undef(env);
}

/* ioctl(fd, request, arg): arg is an integer (passed by value) or a Buffer (passed by
 * pointer, read and written in place; the caller sizes it to the ioctl's _IOC_SIZE). */
static napi_value n_ioctl(napi_env env, napi_callback_info info) {
  napi_value argv[3]; int fd; int64_t req;
  if (get_args(env, info, 3, argv) || arg_fd(env, argv[0], &fd) ||
      arg_int64(env, argv[1], 0, 0xffffffffLL, &req, "request")) return NULL;
  napi_valuetype t;
  napi_typeof(env, argv[2], &t);
  int r;
  if (t == napi_number || t == napi_bigint) {
    int64_t a;
    if (arg_int64(env, argv[2], INT64_MIN, INT64_MAX, &a, "arg")) return NULL;
    r = ioctl(fd, (unsigned long)req, (unsigned long)a);
  } else {
    void *p; size_t len;
    if (arg_buffer(env, argv[2], &p, &len, "arg")) return NULL;
    size_t want = (size_t)((req >> 16) & 0x3fff); /* _IOC_SIZE: refuse a buffer the kernel would overrun */
    if (len < want) return type_error(env, "buffer smaller than the ioctl's _IOC_SIZE");
    r = ioctl(fd, (unsigned long)req, p);
  }
  if (r < 0) return throw_errno(env, errno, "ioctl");
  return ret_int(env, r);
}

static napi_value n_prctl(napi_env env, napi_callback_info info) {
  napi_value argv[2]; int opt; int64_t a2;
  if (get_args(env, info, 2, argv) || arg_int(env, argv[0], 0, INT_MAX, &opt, "option") ||
      arg_int64(env, argv[1], 0, INT64_MAX, &a2, "arg2")) return NULL;
  int r = prctl(opt, (unsigned long)a2, 0UL, 0UL, 0UL);
  if (r < 0) return throw_errno(env, errno, "prctl");
  return ret_int(env, r);
}

/* ---------- credentials and namespaces ---------- */

static napi_value n_unshare(napi_env env, napi_callback_info info) {
  napi_value argv[1]; int64_t flags;
  if (get_args(env, info, 1, argv) || arg_int64(env, argv[0], 0, 0xffffffffLL, &flags, "flags")) return NULL;
  if (unshare((int)flags) < 0) return throw_errno(env, errno, "unshare");
  return ret_undef(env);
}

/* -1 means "unchanged", as for the syscalls. glibc's wrappers apply the change to every
 * thread of the process (Node has several), which is what a privilege drop must do. */
static napi_value n_setresuid(napi_env env, napi_callback_info info) {
  napi_value argv[3]; int64_t r, e, s;
  if (get_args(env, info, 3, argv) || arg_int64(env, argv[0], -1, 0xfffffffeLL, &r, "ruid") ||
      arg_int64(env, argv[1], -1, 0xfffffffeLL, &e, "euid") || arg_int64(env, argv[2], -1, 0xfffffffeLL, &s, "suid")) return NULL;
  if (setresuid((uid_t)r, (uid_t)e, (uid_t)s) < 0) return throw_errno(env, errno, "setresuid");
  return ret_undef(env);
}

static napi_value n_setresgid(napi_env env, napi_callback_info info) {
  napi_value argv[3]; int64_t r, e, s;
  if (get_args(env, info, 3, argv) || arg_int64(env, argv[0], -1, 0xfffffffeLL, &r, "rgid") ||
      arg_int64(env, argv[1], -1, 0xfffffffeLL, &e, "egid") || arg_int64(env, argv[2], -1, 0xfffffffeLL, &s, "sgid")) return NULL;
  if (setresgid((gid_t)r, (gid_t)e, (gid_t)s) < 0) return throw_errno(env, errno, "setresgid");
  return ret_undef(env);
}

static napi_value n_getresids(napi_env env, napi_callback_info info) {
  (void)info;
  uid_t ru, eu, su; gid_t rg, eg, sg;
  if (getresuid(&ru, &eu, &su) < 0) return throw_errno(env, errno, "getresuid");
  if (getresgid(&rg, &eg, &sg) < 0) return throw_errno(env, errno, "getresgid");
  napi_value o;
  napi_create_object(env, &o);
  napi_set_named_property(env, o, "ruid", ret_int(env, ru));
  napi_set_named_property(env, o, "euid", ret_int(env, eu));
  napi_set_named_property(env, o, "suid", ret_int(env, su));
  napi_set_named_property(env, o, "rgid", ret_int(env, rg));
  napi_set_named_property(env, o, "egid", ret_int(env, eg));
  napi_set_named_property(env, o, "sgid", ret_int(env, sg));
  return o;
}

static napi_value n_setgroups(napi_env env, napi_callback_info info) {
  napi_value argv[1]; bool isarr; uint32_t n;
  if (get_args(env, info, 1, argv)) return NULL;
  napi_is_array(env, argv[0], &isarr);
  if (!isarr) return type_error(env, "groups must be an array");
  napi_get_array_length(env, argv[0], &n);
  if (n > MAX_GROUPS) return type_error(env, "too many groups");
  gid_t *g = calloc(n ? n : 1, sizeof(gid_t));
  if (!g) return throw_errno(env, ENOMEM, "setgroups");
  for (uint32_t i = 0; i < n; i++) {
    napi_value e; int64_t x;
    napi_get_element(env, argv[0], i, &e);
    if (arg_int64(env, e, 0, 0xfffffffeLL, &x, "gid")) { free(g); return NULL; }
    g[i] = (gid_t)x;
  }
  int r = setgroups(n, g);
  int err = errno;
  free(g);
  if (r < 0) return throw_errno(env, err, "setgroups");
  return ret_undef(env);
}

/* ---------- seccomp ---------- */

/* seccompLoad({defaultAction, arches: string[], rules: [{name, action, args: [[index, op, a, b]]}]})
 * Actions are the kernel's SECCOMP_RET_* values (helper/native.ts maps the OCI names).
 * Unknown syscall names on this architecture are skipped (libseccomp cannot resolve them),
 * exactly like runc does; the count of skipped names is returned. TSYNC applies the filter to
 * every thread of the process, not only the calling one. */
static napi_value n_seccomp_load(napi_env env, napi_callback_info info) {
  napi_value argv[1], v, rules, arches;
  int64_t defact;
  if (get_args(env, info, 1, argv)) return NULL;
  if (napi_get_named_property(env, argv[0], "defaultAction", &v) != napi_ok ||
      arg_int64(env, v, 0, 0xffffffffLL, &defact, "defaultAction")) return NULL;
  scmp_filter_ctx ctx = seccomp_init((uint32_t)defact);
  if (!ctx) return throw_errno(env, EINVAL, "seccomp_init");
  int rc, skipped = 0;
  if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1)) < 0) goto fail_rc;
  napi_get_named_property(env, argv[0], "arches", &arches);
  bool isarr; uint32_t n;
  napi_is_array(env, arches, &isarr);
  if (isarr) {
    napi_get_array_length(env, arches, &n);
    for (uint32_t i = 0; i < n && i < 16; i++) {
      char name[32];
      napi_get_element(env, arches, i, &v);
      if (arg_str(env, v, name, sizeof name, "arch")) goto fail_js;
      uint32_t a = seccomp_arch_resolve_name(name);
      if (!a) { type_error(env, "unknown seccomp architecture"); goto fail_js; }
      rc = seccomp_arch_add(ctx, a);
      if (rc < 0 && rc != -EEXIST) goto fail_rc;
    }
  }
  napi_get_named_property(env, argv[0], "rules", &rules);
  napi_is_array(env, rules, &isarr);
  if (!isarr) { type_error(env, "rules must be an array"); goto fail_js; }
  napi_get_array_length(env, rules, &n);
  for (uint32_t i = 0; i < n; i++) {
    napi_value r, args; char name[64]; int64_t act;
    napi_get_element(env, rules, i, &r);
    napi_get_named_property(env, r, "name", &v);
    if (arg_str(env, v, name, sizeof name, "syscall name")) goto fail_js;
    napi_get_named_property(env, r, "action", &v);
    if (arg_int64(env, v, 0, 0xffffffffLL, &act, "action")) goto fail_js;
    int sc = seccomp_syscall_resolve_name(name);
    if (sc == __NR_SCMP_ERROR) { skipped++; continue; }
    struct scmp_arg_cmp cmp[6];
    uint32_t na = 0;
    napi_get_named_property(env, r, "args", &args);
    napi_is_array(env, args, &isarr);
    if (isarr) {
      napi_get_array_length(env, args, &na);
      if (na > 6) { type_error(env, "at most 6 argument comparisons"); goto fail_js; }
      for (uint32_t k = 0; k < na; k++) {
        napi_value t, x; int64_t idx, op, a, b;
        napi_get_element(env, args, k, &t);
        napi_get_element(env, t, 0, &x); if (arg_int64(env, x, 0, 5, &idx, "arg index")) goto fail_js;
        napi_get_element(env, t, 1, &x); if (arg_int64(env, x, 1, 7, &op, "arg op")) goto fail_js;
        napi_get_element(env, t, 2, &x); if (arg_int64(env, x, INT64_MIN, INT64_MAX, &a, "arg value")) goto fail_js;
        napi_get_element(env, t, 3, &x); if (arg_int64(env, x, INT64_MIN, INT64_MAX, &b, "arg valueTwo")) goto fail_js;
        cmp[k].arg = (unsigned int)idx; cmp[k].op = (enum scmp_compare)op;
        cmp[k].datum_a = (scmp_datum_t)a; cmp[k].datum_b = (scmp_datum_t)b;
      }
    }
    rc = seccomp_rule_add_array(ctx, (uint32_t)act, sc, na, na ? cmp : NULL);
    /* libseccomp refuses a rule whose action equals the default action: nothing to add. */
    if (rc == -EACCES || (rc == -EINVAL && (uint32_t)act == (uint32_t)defact)) continue;
    if (rc < 0) goto fail_rc;
  }
  if ((rc = seccomp_load(ctx)) < 0) goto fail_rc;
  seccomp_release(ctx);
  return ret_int(env, skipped);
fail_rc:
  seccomp_release(ctx);
  return throw_errno(env, -rc, "seccomp");
fail_js:
  seccomp_release(ctx);
  return NULL;
}

/* ---------- extract helpers: xattrs, device nodes, timestamps ---------- */

static napi_value n_lsetxattr(napi_env env, napi_callback_info info) {
  napi_value argv[4]; char path[MAX_PATH_ARG], name[256]; void *val; size_t len; int flags;
  if (get_args(env, info, 4, argv) || arg_str(env, argv[0], path, sizeof path, "path") ||
      arg_str(env, argv[1], name, sizeof name, "name") || arg_buffer(env, argv[2], &val, &len, "value") ||
      arg_int(env, argv[3], 0, 3, &flags, "flags")) return NULL;
  if (lsetxattr(path, name, len ? val : "", len, flags) < 0) return throw_errno(env, errno, "lsetxattr");
  return ret_undef(env);
}

static napi_value n_lgetxattr(napi_env env, napi_callback_info info) {
  napi_value argv[2]; char path[MAX_PATH_ARG], name[256];
  if (get_args(env, info, 2, argv) || arg_str(env, argv[0], path, sizeof path, "path") ||
      arg_str(env, argv[1], name, sizeof name, "name")) return NULL;
  char *buf = malloc(MAX_XATTR_VALUE);
  if (!buf) return throw_errno(env, ENOMEM, "lgetxattr");
  ssize_t r = lgetxattr(path, name, buf, MAX_XATTR_VALUE);
  if (r < 0) { int e = errno; free(buf); return throw_errno(env, e, "lgetxattr"); }
  napi_value out;
  napi_create_buffer_copy(env, (size_t)r, buf, NULL, &out);
  free(buf);
  return out;
}

static napi_value n_llistxattr(napi_env env, napi_callback_info info) {
  napi_value argv[1]; char path[MAX_PATH_ARG];
  if (get_args(env, info, 1, argv) || arg_str(env, argv[0], path, sizeof path, "path")) return NULL;
  char *buf = malloc(MAX_XATTR_LIST);
  if (!buf) return throw_errno(env, ENOMEM, "llistxattr");
  ssize_t r = llistxattr(path, buf, MAX_XATTR_LIST);
  if (r < 0) { int e = errno; free(buf); return throw_errno(env, e, "llistxattr"); }
  napi_value arr;
  napi_create_array(env, &arr);
  uint32_t n = 0;
  for (ssize_t i = 0; i < r;) {
    size_t l = strnlen(buf + i, (size_t)(r - i));
    if (l) {
      napi_value s;
      napi_create_string_utf8(env, buf + i, l, &s);
      napi_set_element(env, arr, n++, s);
    }
    i += (ssize_t)l + 1;
  }
  free(buf);
  return arr;
}

static napi_value n_mknodat(napi_env env, napi_callback_info info) {
  napi_value argv[5]; int dirfd; char path[MAX_PATH_ARG]; int64_t mode, maj, min;
  if (get_args(env, info, 5, argv) || arg_dirfd(env, argv[0], &dirfd) ||
      arg_str(env, argv[1], path, sizeof path, "path") || arg_int64(env, argv[2], 0, 0xffff, &mode, "mode") ||
      arg_int64(env, argv[3], 0, 0xffffffffLL, &maj, "major") || arg_int64(env, argv[4], 0, 0xffffffffLL, &min, "minor")) return NULL;
  if (mknodat(dirfd, path, (mode_t)mode, makedev((unsigned)maj, (unsigned)min)) < 0) return throw_errno(env, errno, "mknodat");
  return ret_undef(env);
}

/* utimensat(dirfd, path, atimeSec, atimeNsec, mtimeSec, mtimeNsec, flags); nsec may be
 * UTIME_NOW / UTIME_OMIT. Seconds are 64-bit (number or bigint). */
static napi_value n_utimensat(napi_env env, napi_callback_info info) {
  napi_value argv[7]; int dirfd, flags; char path[MAX_PATH_ARG]; int64_t as, an, ms, mn;
  if (get_args(env, info, 7, argv) || arg_dirfd(env, argv[0], &dirfd) ||
      arg_str(env, argv[1], path, sizeof path, "path") ||
      arg_int64(env, argv[2], INT64_MIN, INT64_MAX, &as, "atimeSec") ||
      arg_int64(env, argv[3], 0, (1LL << 30) - 1, &an, "atimeNsec") ||
      arg_int64(env, argv[4], INT64_MIN, INT64_MAX, &ms, "mtimeSec") ||
      arg_int64(env, argv[5], 0, (1LL << 30) - 1, &mn, "mtimeNsec") ||
      arg_int(env, argv[6], 0, INT_MAX, &flags, "flags")) return NULL;
  struct timespec ts[2] = { { (time_t)as, (long)an }, { (time_t)ms, (long)mn } };
  if (utimensat(dirfd, path, ts, flags) < 0) return throw_errno(env, errno, "utimensat");
  return ret_undef(env);
}

/* ---------- module ---------- */

static void def_const(napi_env env, napi_value o, const char *name, int64_t v) {
  napi_set_named_property(env, o, name, ret_int(env, v));
}

NAPI_MODULE_INIT() {
  static const struct { const char *name; napi_callback cb; } fns[] = {
    { "socketpair", n_socketpair }, { "socket", n_socket }, { "bind", n_bind },
    { "connect", n_connect }, { "listen", n_listen }, { "accept", n_accept },
    { "peerCred", n_peercred }, { "sendmsg", n_sendmsg }, { "recvmsg", n_recvmsg },
    { "poll", n_poll }, { "mount", n_mount }, { "umount2", n_umount2 }, { "mountWatched", n_mount_watched }, { "ioctl", n_ioctl },
    { "prctl", n_prctl }, { "unshare", n_unshare }, { "setresuid", n_setresuid },
    { "setresgid", n_setresgid }, { "getresids", n_getresids }, { "setgroups", n_setgroups },
    { "seccompLoad", n_seccomp_load }, { "lsetxattr", n_lsetxattr }, { "lgetxattr", n_lgetxattr },
    { "llistxattr", n_llistxattr }, { "mknodat", n_mknodat }, { "utimensat", n_utimensat },
  };
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value f;
    napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].cb, NULL, &f);
    napi_set_named_property(env, exports, fns[i].name, f);
  }
  napi_value c;
  napi_create_object(env, &c);
  def_const(env, c, "AT_FDCWD", AT_FDCWD); def_const(env, c, "AT_SYMLINK_NOFOLLOW", AT_SYMLINK_NOFOLLOW);
  def_const(env, c, "UTIME_NOW", UTIME_NOW); def_const(env, c, "UTIME_OMIT", UTIME_OMIT);
  def_const(env, c, "MS_RDONLY", MS_RDONLY); def_const(env, c, "MS_NOSUID", MS_NOSUID);
  def_const(env, c, "MS_NODEV", MS_NODEV); def_const(env, c, "MS_NOEXEC", MS_NOEXEC);
  def_const(env, c, "MS_BIND", MS_BIND); def_const(env, c, "MS_REC", MS_REC);
  def_const(env, c, "MS_PRIVATE", MS_PRIVATE); def_const(env, c, "MS_SLAVE", MS_SLAVE);
  def_const(env, c, "MS_REMOUNT", MS_REMOUNT);
  def_const(env, c, "MNT_FORCE", MNT_FORCE); def_const(env, c, "MNT_DETACH", MNT_DETACH);
  def_const(env, c, "UMOUNT_NOFOLLOW", UMOUNT_NOFOLLOW);
  def_const(env, c, "PR_SET_NO_NEW_PRIVS", PR_SET_NO_NEW_PRIVS); def_const(env, c, "PR_GET_NO_NEW_PRIVS", PR_GET_NO_NEW_PRIVS);
  def_const(env, c, "PR_SET_DUMPABLE", PR_SET_DUMPABLE); def_const(env, c, "PR_GET_DUMPABLE", PR_GET_DUMPABLE);
  def_const(env, c, "PR_CAPBSET_DROP", PR_CAPBSET_DROP); def_const(env, c, "PR_CAPBSET_READ", PR_CAPBSET_READ);
  def_const(env, c, "PR_GET_SECCOMP", PR_GET_SECCOMP);
  def_const(env, c, "CLONE_NEWNS", CLONE_NEWNS); def_const(env, c, "CLONE_NEWUSER", CLONE_NEWUSER);
  def_const(env, c, "CLONE_NEWPID", CLONE_NEWPID); def_const(env, c, "CLONE_NEWNET", CLONE_NEWNET);
  def_const(env, c, "CLONE_NEWIPC", CLONE_NEWIPC); def_const(env, c, "CLONE_NEWUTS", CLONE_NEWUTS);
  def_const(env, c, "CLONE_NEWCGROUP", CLONE_NEWCGROUP);
  def_const(env, c, "XATTR_CREATE", XATTR_CREATE); def_const(env, c, "XATTR_REPLACE", XATTR_REPLACE);
  def_const(env, c, "MSG_DONTWAIT", MSG_DONTWAIT); def_const(env, c, "MSG_PEEK", MSG_PEEK);
  def_const(env, c, "POLLIN", POLLIN); def_const(env, c, "POLLOUT", POLLOUT);
  def_const(env, c, "POLLHUP", POLLHUP); def_const(env, c, "POLLERR", POLLERR);
  def_const(env, c, "S_IFIFO", S_IFIFO); def_const(env, c, "S_IFCHR", S_IFCHR);
  def_const(env, c, "S_IFBLK", S_IFBLK); def_const(env, c, "S_IFSOCK", S_IFSOCK);
  napi_set_named_property(env, exports, "constants", c);
  return exports;
}

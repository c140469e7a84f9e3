# faultpeer.py - broken clients for faults.bats and review.bats, as a
# module their Python snippets import (sys.path gets tests/peers):
#
#   conn(port, rcvbuf=None)      a TCP connection to 127.0.0.1:port, with
#                                a small receive buffer when asked
#   reset(s)                     close with SO_LINGER 0: an RST, no FIN
#   read_all(s)                  what comes until EOF, and how it ended
#                                ("eof", "reset" or "timeout")
#   server_read_all(s)           wait until the server side of s has read
#                                every byte we sent (its Recv-Q is 0)
#   server_unsent(s)             bytes queued on the server side of s
#   fds(pid), rss_kib(pid)       from /proc
#   idle_fds(pid, port)          the server's fd count once it holds no
#                                connection and holds still: the baseline
#   wait_fds(pid, n)             until pid has n descriptors open
#   Growth(pid, bound_kib)       peak RSS growth: sample(), verdict()
#   gone(pid)                    until pid has left /proc
#   read_pid(path)               the pid a program wrote to path
#   blocked(pid)                 until pid's writes stop (held back)
#   get(port, path)              a whole HTTP/1.0 response (head, body)
#   Ws(port, path, ...)          a raw WebSocket client: send(text),
#                                recv() -> (opcode, payload), close_code()
#
# Run as a program (python3 faultpeer.py), it is a capture server: see
# capture() at the end.  Every wait is bounded by BOUND seconds and
# raises Timeout past it.
import base64
import os
import socket
import struct
import time

BOUND = 15.0 * float(os.environ.get("WHIRL_SLOW", "1"))


class Timeout(Exception):
    pass


def until(pred, what, bound=BOUND):
    end = time.monotonic() + bound
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > end:
            raise Timeout(what)
        time.sleep(0.01)


def conn(port, rcvbuf=None):
    s = socket.socket()
    if rcvbuf is not None:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(BOUND)
    s.connect(("127.0.0.1", port))
    return s


def reset(s):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


def read_all(s):
    data, how = b"", "eof"
    s.settimeout(BOUND)
    while True:
        try:
            chunk = s.recv(65536)
        except ConnectionResetError:
            how = "reset"
            break
        except socket.timeout:
            how = "timeout"
            break
        if not chunk:
            break
        data += chunk
    return data, how


def _tcp_entry(local_port, remote_port):
    """The /proc/net/tcp line of the socket local_port -> remote_port:
    (tx_queue, rx_queue), or None."""
    want = ":%04X" % local_port, ":%04X" % remote_port
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fld = line.split()
            if fld[1].endswith(want[0]) and fld[2].endswith(want[1]):
                tx, rx = fld[4].split(":")
                return int(tx, 16), int(rx, 16)
    return None


def _server_side(s):
    return s.getpeername()[1], s.getsockname()[1]


def server_read_all(s):
    until(lambda: (_tcp_entry(*_server_side(s)) or (0, 1))[1] == 0,
          "the server to read what we sent")


def server_unsent(s):
    e = _tcp_entry(*_server_side(s))
    return e[0] if e else 0


def _busy(port):
    """Whether a connection on the server's port is still open there
    (ESTABLISHED or CLOSE_WAIT on its side)."""
    want = ":%04X" % port
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fld = line.split()
            if fld[1].endswith(want) and fld[3] in ("01", "08"):
                return True
    return False


def idle_fds(pid, port):
    """The server's descriptors once none of its connections is open and
    the count holds still for 0.3 s (a program's pipes close just after
    its response ends)."""
    until(lambda: not _busy(port), "the connections on %d to close" % port)

    def steady():
        n = fds(pid)
        time.sleep(0.3)
        return n if n == fds(pid) else None
    return until(steady, "a steady count of fds in %d" % pid)


def fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def wait_fds(pid, n):
    try:
        until(lambda: fds(pid) == n, "")
    except Timeout:
        d = "/proc/%d/fd" % pid
        have = ", ".join("%s %s" % (fd, os.readlink(os.path.join(d, fd)))
                         for fd in sorted(os.listdir(d), key=int))
        raise Timeout("%d fds in %d, not %d: %s" % (fds(pid), pid, n, have))


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])


class Growth:
    """The peak growth of pid's RSS over samples, against bound_kib (0:
    measured, not checked)."""

    def __init__(self, pid, bound_kib):
        self.pid, self.bound = pid, bound_kib
        self.before = self.peak = rss_kib(pid)

    def sample(self):
        self.peak = max(self.peak, rss_kib(self.pid))

    def verdict(self):
        self.sample()
        grew = self.peak - self.before
        if self.bound == 0 or grew < self.bound:
            return "bounded"
        return "grew by %d KiB" % grew


def gone(pid):
    until(lambda: not os.path.exists("/proc/%d" % pid), "%d to go" % pid)


def _whole_line(path):
    try:
        with open(path) as f:
            text = f.read()
    except FileNotFoundError:
        return None
    return text if text.endswith("\n") else None


def read_pid(path):
    """The pid a program writes to path (a line), once it is there."""
    return int(until(lambda: _whole_line(path), "a pid in " + path))


def wchar(pid):
    with open("/proc/%d/io" % pid) as f:
        for line in f:
            if line.startswith("wchar:"):
                return int(line.split()[1])


def blocked(pid):
    """Until pid has written nothing for 0.3 s: held back."""
    def still():
        before = wchar(pid)
        time.sleep(0.3)
        return wchar(pid) == before
    until(still, "%d to stop writing" % pid)


def get(port, path):
    s = conn(port)
    s.sendall(b"GET %s HTTP/1.0\r\n\r\n" % path.encode())
    data, _ = read_all(s)
    s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    return head.decode("latin-1"), body


class Ws:
    """A WebSocket client with no extension, reading only when told."""

    def __init__(self, port, path, rcvbuf=None, origin=None):
        self.s = conn(port, rcvbuf)
        key = base64.b64encode(os.urandom(16)).decode()
        head = ("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
                % (path, port, key))
        if origin:
            head += "Origin: %s\r\n" % origin
        self.s.sendall((head + "\r\n").encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            chunk = self.s.recv(4096)
            if not chunk:
                raise EOFError("no handshake answer")
            self.buf += chunk
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        self.status = int(head.split()[1])

    def send(self, payload, opcode=1):
        if isinstance(payload, str):
            payload = payload.encode()
        mask = os.urandom(4)
        n = len(payload)
        if n < 126:
            hdr = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
        elif n < 65536:
            hdr = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
        else:
            hdr = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
        m = (mask * (n // 4 + 1))[:n]
        body = (int.from_bytes(payload, "big") ^
                int.from_bytes(m, "big")).to_bytes(n, "big")
        self.s.sendall(hdr + mask + body)

    def _need(self, n):
        while len(self.buf) < n:
            chunk = self.s.recv(65536)
            if not chunk:
                raise EOFError("connection closed")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv(self):
        b0, b1 = self._need(2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", self._need(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self._need(8))[0]
        return b0 & 0x0F, self._need(n)

    def close_code(self):
        """Read until the close frame: (messages before it, its code), the
        code None when the connection ends without one."""
        n = 0
        try:
            while True:
                op, data = self.recv()
                if op == 8:
                    code = struct.unpack("!H", data[:2])[0] if data else 1005
                    return n, code
                n += 1
        except (EOFError, ConnectionResetError):
            return n, None


def capture():
    """A server that prints the head of each request it gets, as a
    Python bytes literal on a line, and answers 400: where to look for
    bytes a client must never send.  Port 0, printed alone on stderr."""
    import sys
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    print(srv.getsockname()[1], file=sys.stderr, flush=True)
    while True:
        c, _ = srv.accept()
        c.settimeout(BOUND)
        data = b""
        try:
            while b"\r\n\r\n" not in data:
                chunk = c.recv(4096)
                if not chunk:
                    break
                data += chunk
        except OSError:
            pass
        print(repr(data), flush=True)
        try:
            c.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
                      b"Connection: close\r\n\r\n")
        except OSError:
            pass
        c.close()


if __name__ == "__main__":
    capture()

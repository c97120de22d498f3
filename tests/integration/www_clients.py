#!/usr/bin/env python3
"""Hostile and slow HTTP clients for tests/integration/www_*.sh.

  www_clients.py corpus PORT      send each malformed request of CORPUS on
                                  its own connection; each must get its
                                  expected answer or a close, never a hang;
                                  the site must answer a good GET after
                                  every few of them
  www_clients.py slowloris PORT N IDLE_S
                                  N connections that trickle a request
                                  head a byte-group every 0.3 s, while
                                  good GETs must stay fast; then every slow
                                  connection must be closed by the server
                                  within IDLE_S + 3 s

Prints one line per check; exits 1 on the first failure.
"""
import socket
import sys
import threading
import time

HOST = "127.0.0.1"
GOOD = b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
ANY = None  # an error status or a close is fine


def corpus():
    big_line = b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: t\r\n\r\n"
    big_head = (b"GET / HTTP/1.1\r\nHost: t\r\nX-Big: " + b"b" * 17000 +
                b"\r\n\r\n")
    many = (b"GET / HTTP/1.1\r\nHost: t\r\n" +
            b"".join(b"X-%d: v\r\n" % i for i in range(101)) + b"\r\n")
    return [
        # (name, bytes, expected statuses (ANY: any error or close))
        ("empty", b"", ANY),
        ("crlf only", b"\r\n\r\n\r\n", ANY),
        ("binary", bytes(range(256)) * 4, (400,)),
        ("nul in path", b"GET /\x00 HTTP/1.1\r\nHost: t\r\n\r\n", (400,)),
        ("no version", b"GET /\r\n\r\n", (400, 505)),
        ("http/0.9 style", b"GET /\r\n", ANY),
        ("bad version", b"GET / HTTP/1.x\r\nHost: t\r\n\r\n", (400, 505)),
        ("http/2", b"GET / HTTP/2.0\r\nHost: t\r\n\r\n", (505,)),
        ("http/9.9", b"GET / HTTP/9.9\r\nHost: t\r\n\r\n", (505,)),
        ("lowercase method", b"get / HTTP/1.1\r\nHost: t\r\n\r\n", (400, 501)),
        ("unknown method", b"BREW / HTTP/1.1\r\nHost: t\r\n\r\n", (501,)),
        ("post", b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n\r\nx",
         (405,)),
        ("no host 1.1", b"GET / HTTP/1.1\r\n\r\n", (400,)),
        ("two spaces", b"GET  / HTTP/1.1\r\nHost: t\r\n\r\n", (400,)),
        ("tab separator", b"GET\t/\tHTTP/1.1\r\nHost: t\r\n\r\n", (400,)),
        ("no colon", b"GET / HTTP/1.1\r\nHost t\r\n\r\n", (400,)),
        ("space before colon", b"GET / HTTP/1.1\r\nHost : t\r\n\r\n", (400,)),
        ("obs-fold", b"GET / HTTP/1.1\r\nHost: t\r\n x\r\n\r\n", (400,)),
        ("empty header name", b"GET / HTTP/1.1\r\n: x\r\nHost: t\r\n\r\n",
         (400,)),
        ("ctl in header", b"GET / HTTP/1.1\r\nHost: t\x01\r\n\r\n", (400,)),
        ("cl and te", b"GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n"
         b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", (400, 501)),
        ("te chunked", b"GET / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: "
         b"chunked\r\n\r\n0\r\n\r\n", (501,)),
        ("negative cl", b"GET / HTTP/1.1\r\nHost: t\r\nContent-Length: -1"
         b"\r\n\r\n", (400,)),
        ("huge cl", b"GET / HTTP/1.1\r\nHost: t\r\nContent-Length: "
         b"99999999999999999999999\r\n\r\n", (400,)),
        ("two cl", b"GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n"
         b"Content-Length: 2\r\n\r\nxx", (400,)),
        ("traversal", b"GET /../../etc/passwd HTTP/1.1\r\nHost: t\r\n\r\n",
         (400,)),
        ("encoded traversal", b"GET /%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\n"
         b"Host: t\r\n\r\n", (400,)),
        ("encoded slash", b"GET /css%2fsite.css HTTP/1.1\r\nHost: t\r\n\r\n",
         (400,)),
        ("bad percent", b"GET /%zz HTTP/1.1\r\nHost: t\r\n\r\n", (400,)),
        ("truncated percent", b"GET /%4 HTTP/1.1\r\nHost: t\r\n\r\n", (400,)),
        ("backslash", b"GET /css\\site.css HTTP/1.1\r\nHost: t\r\n\r\n",
         (400,)),
        ("double slash", b"GET //etc/passwd HTTP/1.1\r\nHost: t\r\n\r\n",
         (400,)),
        ("asterisk", b"GET * HTTP/1.1\r\nHost: t\r\n\r\n", (400,)),
        ("absolute form", b"GET http://t/ HTTP/1.1\r\nHost: t\r\n\r\n",
         (200,)),
        ("utf-8 path", "GET /ü HTTP/1.1\r\nHost: t\r\n\r\n".encode(),
         (400, 404)),
        ("bad range", b"GET /robots.txt HTTP/1.1\r\nHost: t\r\n"
         b"Range: bytes=9-1\r\n\r\n", (416,)),
        ("huge range", b"GET /robots.txt HTTP/1.1\r\nHost: t\r\n"
         b"Range: bytes=99999999999999999999999-\r\n\r\n", (416,)),
        ("bad ims", b"GET /robots.txt HTTP/1.1\r\nHost: t\r\n"
         b"If-Modified-Since: yesterday\r\nConnection: close\r\n\r\n",
         (200,)),
        ("request line too long", big_line, (414,)),
        ("header too long", big_head, (431,)),
        ("too many headers", many, (431,)),
        ("1 MiB no newline", b"G" * (1 << 20), (400, 414, 501)),
        ("half a request", b"GET / HTTP/1.1\r\nHost:", ANY),
        ("garbage after good", GOOD.replace(b"close", b"keep-alive") +
         b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", (200, 400)),
    ]


def exchange(port, data, timeout=5.0, shut=True):
    """Send data, half-close, read until the server closes.  Returns
    (bytes, hung)."""
    s = socket.create_connection((HOST, port), timeout=timeout)
    got = b""
    try:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # it answered and closed before we finished: fine
        if shut:
            try:
                s.shutdown(socket.SHUT_WR)
            except OSError:
                pass
        end = time.monotonic() + timeout
        while True:
            if time.monotonic() > end:
                return got, True
            try:
                b = s.recv(65536)
            except socket.timeout:
                return got, True
            except ConnectionResetError:
                return got, False
            if not b:
                return got, False
            got += b
    finally:
        s.close()


def status(resp):
    if not resp.startswith(b"HTTP/1."):
        return None
    try:
        return int(resp[9:12])
    except ValueError:
        return -1


def good(port):
    resp, hung = exchange(port, GOOD)
    return not hung and status(resp) == 200


def run_corpus(port):
    fails = 0
    for i, (name, data, want) in enumerate(corpus()):
        resp, hung = exchange(port, data)
        st = status(resp)
        if hung:
            print("FAIL %s: no answer and no close in 5 s" % name)
            fails += 1
        elif st == -1 or (resp and st is None):
            print("FAIL %s: not HTTP: %r" % (name, resp[:60]))
            fails += 1
        elif want is ANY and st is not None and st < 400:
            print("FAIL %s: %d, expected an error or a close" % (name, st))
            fails += 1
        elif want is not ANY and st not in want:
            print("FAIL %s: %s, expected %s" % (name, st, want))
            fails += 1
        else:
            print("ok   %-22s %s" % (name, st if st else "closed"))
        if i % 5 == 4 and not good(port):
            print("FAIL the site stopped answering after %s" % name)
            return 1
    if not good(port):
        print("FAIL the site does not answer after the corpus")
        return 1
    # Pipelining: three requests in one write, three answers in order.
    p = (b"GET /robots.txt HTTP/1.1\r\nHost: t\r\n\r\n"
         b"HEAD / HTTP/1.1\r\nHost: t\r\n\r\n" + GOOD)
    resp, hung = exchange(port, p)
    n = resp.count(b"HTTP/1.1 200 OK\r\n")
    if hung or n != 3:
        print("FAIL pipelining: %d answers%s" % (n, " (hung)" if hung else ""))
        fails += 1
    else:
        print("ok   pipelining: 3 answers")
    return 1 if fails else 0


def run_slowloris(port, n, idle_s):
    socks, closed_at = [], {}
    t0 = time.monotonic()
    for _ in range(n):
        s = socket.create_connection((HOST, port), timeout=5)
        s.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n")
        s.setblocking(False)
        socks.append(s)
    stop = threading.Event()

    def trickle():
        k = 0
        while not stop.is_set() and len(closed_at) < n:
            for i, s in enumerate(socks):
                if i in closed_at:
                    continue
                try:
                    if s.recv(4096) == b"":
                        closed_at[i] = time.monotonic() - t0
                        continue
                except BlockingIOError:
                    pass
                except OSError:
                    closed_at[i] = time.monotonic() - t0
                    continue
                try:
                    s.send(b"X-%d: v\r\n" % k)
                except OSError:
                    closed_at[i] = time.monotonic() - t0
            k += 1
            time.sleep(0.3)

    th = threading.Thread(target=trickle)
    th.start()
    worst = 0.0
    for _ in range(20):
        a = time.monotonic()
        ok = good(port)
        dt = time.monotonic() - a
        worst = max(worst, dt)
        if not ok:
            stop.set()
            th.join()
            print("FAIL a good GET failed while %d slow clients trickle" % n)
            return 1
        time.sleep(0.05)
    print("ok   20 good GETs among %d slow clients, slowest %.0f ms" %
          (n, worst * 1000))
    if worst > 1.0:
        stop.set()
        th.join()
        print("FAIL slow clients stalled a good GET for %.2f s" % worst)
        return 1
    th.join(timeout=idle_s + 5)
    stop.set()
    th.join()
    for s in socks:
        s.close()
    if len(closed_at) < n:
        print("FAIL %d of %d slow clients still open after %.1f s" %
              (n - len(closed_at), n, time.monotonic() - t0))
        return 1
    last = max(closed_at.values())
    print("ok   the server closed all %d slow clients, the last after %.1f s"
          % (n, last))
    if last > idle_s + 3:
        print("FAIL idle_s is %d but a slow client lasted %.1f s" %
              (idle_s, last))
        return 1
    return 0


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "corpus":
        return run_corpus(int(sys.argv[2]))
    if len(sys.argv) >= 5 and sys.argv[1] == "slowloris":
        return run_slowloris(int(sys.argv[2]), int(sys.argv[3]),
                             int(sys.argv[4]))
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""AH5 reproduction: C connections of one token, each pipelining P entries
(POST PATH) of a ~1 MB JSON body of M members, and reading the answers;
meanwhile /healthz from another address (127.0.0.2) every 100 ms: its
latencies (median, max) in ms, the load average beside them, and the
answers' statuses and codes.
usage: bench/body_members_flood.py PORT TOKEN PATH [C P M [R]]  (defaults 8 8 60000 1)
R: rounds, each connection sending its P bodies R times, one round after
another's answers.

The server: `vigil serve` with an open visit, PATH its entries
(/api/v1/visits/1/entries), TOKEN a nurse's session token. The figures of
docs/security.md AH5 were taken so, on this machine (2 cores, shared)."""
import socket, sys, threading, time, statistics, collections
from healthz_probe import healthz_ms
port, token, path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
C, P, M = (int(x) for x in (sys.argv[4:7] if len(sys.argv) > 6 else (8, 8, 60000)))
R = int(sys.argv[7]) if len(sys.argv) > 7 else 1
body = ("{" + ", ".join('"mem_%06d": 0' % i for i in range(M)) + "}").encode()
one = ("POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
       "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % (path, token, len(body))).encode() + body
codes = collections.Counter()
done = threading.Event()
def attacker():
    for _ in range(R):
        one_round()
def one_round():
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(one * P)
    data, seen = b"", 0
    s.settimeout(60)
    while seen < P:
        try:
            d = s.recv(65536)
        except OSError:
            break
        if not d: break
        data += d
        while True:
            h = data.find(b"\r\n\r\n")
            if h < 0: break
            head = data[:h].decode("latin-1")
            n = 0
            for line in head.split("\r\n"):
                if line.lower().startswith("content-length:"): n = int(line.split(":")[1])
            if len(data) < h + 4 + n: break
            answer = data[h + 4:h + 4 + n].decode("utf-8", "replace")
            code = answer.split('"code":"')[1].split('"')[0] if '"code":"' in answer else ""
            codes[head.split(" ")[1] + " " + code] += 1
            data = data[h + 4 + n:]
            seen += 1
    s.close()
ts = [threading.Thread(target=attacker) for _ in range(C)]
t_start = time.time()
for t in ts: t.start()
lat = []
while any(t.is_alive() for t in ts) or not lat:
    try:
        lat.append(healthz_ms(port))
    except OSError as e:
        print("healthz:", e)
    time.sleep(0.1)
for t in ts: t.join()
print("%d x %d pipelined bodies of %d members (%d bytes), %d rounds, answered in %.1f s: %s; healthz n=%d median %.0f ms, max %.0f ms; load %s" %
      (C, P, M, len(body), R, time.time() - t_start, dict(codes), len(lat), statistics.median(lat), max(lat),
       open("/proc/loadavg").read().split()[0]))

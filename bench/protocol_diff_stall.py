#!/usr/bin/env python3
"""AC1 reproduction: /healthz from another address (127.0.0.2) every 100 ms
while the first diff of an upload is computed; the diff's time and status,
/healthz's latencies (median, max) in ms, and the load average beside.
usage: bench/protocol_diff_stall.py PORT USER PASSWORD upload|run

upload: USER (a clinician) uploads dbench@1.0.0 and dbench@1.1.0, ten rules
that each build three 20 MB strings a call (C time the instruction budget
does not see); then an admin approves dbench@1.0.0 (POST
/api/v1/protocols/dbench@1.0.0/approve), so that 1.1.0's diff runs both
versions' rules. run: asks GET /api/v1/protocols/dbench@1.1.0/diff (computed
once per server: restart the server between runs) and measures /healthz
meanwhile. The figures of docs/security.md AC1 were taken so."""
import json, os, socket, statistics, sys, threading, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from api_call import api_call  # noqa: E402
port, user, password, what = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
U = "http://127.0.0.1:%d/api/v1" % port

def call(method, path, body=None, token=None):
    return api_call(U, method, path, body, token)

token = json.loads(call("POST", "/session", {"user": user, "password": password})[1])["token"]
if what == "upload":
    rules = "".join("      v.number 'x%d' { unit = '1', range = { 0, 1000 }, rule = function(x)\n"
                    "        for _ = 1, 3 do pcall(string.rep, 'a', 20000000) end\n      end },\n" % i for i in range(10))
    lua = ("local v = require 'vigil'\nreturn v.protocol 'dbench' {\n  version = '%s',\n  phases = {\n"
           "    v.phase 'only' { items = {\n" + rules + "    } },\n  },\n}\n")
    spec = "return {\n  spec 'starts' {\n    expect '0m' { phase = 'only' },\n  },\n}\n"
    for version in ("1.0.0", "1.1.0"):
        print(version, call("POST", "/protocols", {"files": {"protocol.lua": lua % version, "only_spec.lua": spec}}, token)[0])
    sys.exit(0)
result = {}
def diff():
    t0 = time.time()
    status, _ = call("GET", "/protocols/dbench@1.1.0/diff", None, token)
    result["diff"] = (status, (time.time() - t0) * 1000)
t = threading.Thread(target=diff)
t.start()
lat = []
time.sleep(0.2)
while t.is_alive():
    t0 = time.time()
    s = socket.create_connection(("127.0.0.1", port), source_address=("127.0.0.2", 0), timeout=300)
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    data = b""
    while b"\r\n\r\n" not in data:
        d = s.recv(4096)
        if not d: break
        data += d
    s.close()
    lat.append((time.time() - t0) * 1000)
    time.sleep(0.1)
t.join()
print("diff %d in %.0f ms; /healthz from another address meanwhile: n=%d median %.0f ms, max %.0f ms; load %s" %
      (result["diff"][0], result["diff"][1], len(lat), statistics.median(lat) if lat else -1,
       max(lat) if lat else -1, open("/proc/loadavg").read().split()[0]))

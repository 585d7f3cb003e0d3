#!/usr/bin/env python3
"""AT3 reproduction (docs/security.md): /healthz from another address
(127.0.0.2) every 20 ms while a nurse exports a full visit's FHIR Bundle
(3,000 readings) again and again; /healthz's latencies (median, max) in ms,
the exports' times, and the load average beside.
usage: bench/export_stall.py VIGIL [EXPORTS]

VIGIL: the binary (build/vigil); EXPORTS: how many exports, one after the
other (default 5). It makes a folder in /tmp with a nurse and the bundled
ketamine_iv protocol, serves it (simulated clock) on a free port, records
a visit's screening and readings up to the default max_readings_per_visit,
then measures. The figures of docs/security.md AT3 were taken so, with the
binary of main before the change and of the branch after it."""
import json, os, shutil, socket, statistics, subprocess, sys, tempfile, threading, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from api_call import api_call  # noqa: E402
from healthz_probe import healthz_ms  # noqa: E402

vigil, exports = os.path.abspath(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 5
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
tmp = tempfile.mkdtemp(prefix="vigil-export-stall-")
db = os.path.join(tmp, "vigil.db")
shutil.copytree(os.path.join(root, "protocols", "ketamine_iv"), os.path.join(tmp, "ketamine_iv"))
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
with open(os.path.join(tmp, "vigil.conf"), "w") as f:
    f.write('listen = "127.0.0.1:%d"\ndatabase = "%s"\nprotocols = "%s"\n' % (port, db, os.path.join(tmp, "ketamine_iv")))
subprocess.run([vigil, "user", "add", "nurse.bench", "--role", "nurse", "--password-stdin", "--db", db],
               input=b"correct horse battery\n", check=True, stdout=subprocess.DEVNULL)
server = subprocess.Popen([vigil, "serve", "--config", os.path.join(tmp, "vigil.conf"), "--allow-untested",
                           "--clock=simulated", "--allow-simulated-clock"], stdout=subprocess.DEVNULL,
                          stderr=open(os.path.join(tmp, "log"), "w"))
U = "http://127.0.0.1:%d/api/v1" % port


def call(method, path, body=None, token=None):
    return api_call(U, method, path, body, token)


try:
    for _ in range(200):
        try:
            status, body = call("POST", "/session", {"user": "nurse.bench", "password": "correct horse battery"})
            break
        except OSError:
            time.sleep(0.1)
    token = json.loads(body)["token"]
    visit = json.loads(call("POST", "/visits", {"protocol": "ketamine_iv", "patient": "MRN-BENCH",
                                                "params": {"weight": 70}}, token)[1])["id"]
    base = {"baseline": {"sbp": 128, "dbp": 80, "hr": 70, "spo2": 98, "rr": 14}}
    screening = dict(base, consent=True, ci_hypertension="no", ci_vascular="no", ci_psychosis="no",
                     ci_hypersensitivity="no", pregnancy="not applicable", substance_use="no", ride_confirmed=True,
                     dose=35, phq9={"q%d" % i: 0 for i in range(1, 10)})
    assert call("POST", "/visits/%d/entries" % visit, screening, token)[0] == 200
    n = 11
    while call("POST", "/visits/%d/entries" % visit, base, token)[0] == 200:
        n += 1
    result = {"times": []}

    def export():
        for _ in range(exports):
            t0 = time.time()
            status, data = call("GET", "/visits/%d/fhir" % visit, None, token)
            result["times"].append((status, (time.time() - t0) * 1000, len(data)))

    lat = [healthz_ms(port) for _ in range(5)]
    before = statistics.median(lat)
    t = threading.Thread(target=export)
    t.start()
    lat = []
    while t.is_alive():
        lat.append(healthz_ms(port, 300))
        time.sleep(0.02)
    t.join()
    print("%d readings; /healthz before %.0f ms; %d exports %s; /healthz meanwhile: n=%d median %.0f ms, "
          "%d over 100 ms, max %.0f ms; load %s" % (n, before, exports, ", ".join("%d %.0f ms %.1f MB" % (s, ms, b / 1e6)
                                                                                 for s, ms, b in result["times"]),
                                                   len(lat), statistics.median(lat), sum(x > 100 for x in lat), max(lat),
                                                   open("/proc/loadavg").read().split()[0]))
finally:
    server.terminate()
    server.wait()
    shutil.rmtree(tmp)

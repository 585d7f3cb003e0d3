"""One request to vigil's API as JSON, with a token or without: the HTTP
status and the answer's bytes (an error's too)."""
import json, urllib.request


def api_call(base, method, path, body=None, token=None, timeout=300):
    headers = {"Content-Type": "application/json"}
    if token: headers["Authorization"] = "Bearer " + token
    r = urllib.request.Request(base + path, method=method, headers=headers,
                               data=json.dumps(body).encode() if body is not None else None)
    try:
        with urllib.request.urlopen(r, timeout=timeout) as f: return f.status, f.read()
    except urllib.error.HTTPError as e: return e.code, e.read()

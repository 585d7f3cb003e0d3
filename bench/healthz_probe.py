"""One GET /healthz from another address (127.0.0.2) than the load's, so that
per-address limits do not meet it: the time to its answer's head, in ms."""
import socket, time


def healthz_ms(port, timeout=30):
    t0 = time.time()
    s = socket.create_connection(("127.0.0.1", port), source_address=("127.0.0.2", 0), timeout=timeout)
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    data = b""
    while b"\r\n\r\n" not in data:
        d = s.recv(4096)
        if not d:
            break
        data += d
    s.close()
    return (time.time() - t0) * 1000

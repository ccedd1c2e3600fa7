"""A stand-in HTTP proxy for the browser check: it records every connection it receives
(one line per request line) and answers 502. The browser is pointed at it for all traffic,
loopback included, so any network request a page makes shows up in the record."""
import socket
import sys
import threading

port_file, record_file = sys.argv[1], sys.argv[2]
server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", 0))
server.listen(16)
lock = threading.Lock()


def serve(conn):
    with conn:
        conn.settimeout(5)
        try:
            first = conn.recv(4096).split(b"\r\n", 1)[0].decode("latin-1")
        except OSError:
            first = "(no request line)"
        with lock, open(record_file, "a") as f:
            f.write(first + "\n")
        try:
            conn.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        except OSError:
            pass


with open(port_file, "w") as f:
    f.write(str(server.getsockname()[1]))
while True:
    c, _ = server.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()

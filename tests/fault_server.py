"""A raw-socket server for faults http.server cannot produce: trickled bytes, resets, bombs."""

from __future__ import annotations

import gzip
import socket
import socketserver
import struct
import threading
import time
from types import TracebackType

# 200 MB of zeros, about 200 KB on the wire.
BOMB = gzip.compress(b"\0" * (200 * 1024 * 1024), compresslevel=9)


class _Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = self.request.recv(4096)
            if not chunk:
                return
            data += chunk
        path = data.split(b" ", 2)[1].decode()
        getattr(self, "_" + path.strip("/").split("/")[-1].split(".")[0].replace("-", "_"), self._missing)()

    def _send(self, head: str, body: bytes = b"") -> None:
        self.request.sendall(head.encode() + b"\r\n\r\n" + body)

    def _trickle(self) -> None:
        self._send("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 1000000")
        stop = time.monotonic() + 60  # bounded: the test's client gives up long before
        try:
            while time.monotonic() < stop:
                self.request.sendall(b"<")
                time.sleep(0.2)
        except OSError:
            return

    def _reset(self) -> None:
        # SO_LINGER with a zero timeout makes close() send a TCP reset.
        self.request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.request.close()

    def _bomb(self) -> None:
        self._send(f"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Encoding: gzip\r\n"
                   f"Content-Length: {len(BOMB)}", BOMB)

    def _missing(self) -> None:
        self._send("HTTP/1.1 404 Not Found\r\nContent-Length: 0")


class FaultServer:
    """Serve /x/trickle.html, /x/reset.html and /x/bomb.html on 127.0.0.1."""

    def __enter__(self) -> FaultServer:
        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

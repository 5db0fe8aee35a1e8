"""A real HTTP server on 127.0.0.1 for tests: serves a folder with Range support and scripted faults.

``LoopbackServer(root)`` is a ``http.server.ThreadingHTTPServer`` on an ephemeral port. Faults are set per
relative path: ``cut_once[path] = n`` sends the full ``Content-Length`` but closes after ``n`` body bytes
(once); ``fail_once[path] = [503, ...]`` answers those statuses first; ``missing`` answers 404;
``ignore_range`` answers 200 with the whole file even to Range requests. ``requests`` records every
request as ``(method, path, Range header or None)``.

Hostile behaviours, also per relative path: ``throttle[path] = s`` sleeps ``s`` seconds after every 64 KiB
block (read live, so a test can speed a transfer up); ``stall`` never answers (headers never sent);
``stall_after[path] = n`` sends headers and ``n`` body bytes, then goes silent (once); ``endless[path] = n``
announces ``Content-Length: n`` (``None``: no length, ``Connection: close``) and then sends bytes without
end; ``html[path] = content_type`` answers a 200 HTML login page; ``redirects[path] = target`` answers 302
to ``target`` (a path on this server); ``lie_total[path] = n`` announces a total size of ``n`` in the
``Content-Range`` of its 206 answers (and sends the real rest); ``moved = "old/"`` redirects every
``old/<path>`` to ``<path>`` (301). Stalled and endless handlers end when the client goes away or the
server stops.

``SilentServer`` accepts TCP connections on 127.0.0.1 and never answers.
"""

from __future__ import annotations

import re
import socket
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from urllib.parse import unquote, urlsplit


class LoopbackServer(ThreadingHTTPServer):
    """Serves ``root`` read-only at :attr:`url` until :meth:`stop` (or the ``with`` block ends)."""

    daemon_threads = True

    def __init__(self, root: Path) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.root = Path(root).resolve()
        self.cut_once: dict[str, int] = {}
        self.fail_once: dict[str, list[int]] = {}
        self.missing: set[str] = set()
        self.ignore_range = False
        self.throttle: dict[str, float] = {}
        self.stall: set[str] = set()
        self.stall_after: dict[str, int] = {}
        self.endless: dict[str, int | None] = {}
        self.html: dict[str, str] = {}
        self.redirects: dict[str, str] = {}
        self.lie_total: dict[str, int] = {}
        self.moved: str | None = None
        self.requests: list[tuple[str, str, str | None]] = []
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.02}, name="loopback-http", daemon=True
        )

    @property
    def url(self) -> str:
        """Base URL ending in ``/``, e.g. ``http://127.0.0.1:41234/``."""
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/"

    def requests_for(self, relpath: str) -> list[str | None]:
        """Range headers (``None`` when absent) of the GET requests for ``relpath``, in order."""
        return [rng for method, path, rng in self.requests if method == "GET" and path == relpath]

    def start(self) -> LoopbackServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()  # releases stalled, throttled and endless handlers
        self.shutdown()
        self.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: LoopbackServer

    def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
        pass

    def do_HEAD(self) -> None:
        self._serve(body=False)

    def do_GET(self) -> None:
        try:
            self._serve(body=True)
        except (BrokenPipeError, ConnectionResetError):  # the client went away (or was killed) mid-body
            self.close_connection = True

    def _serve(self, body: bool) -> None:
        srv = self.server
        relpath = unquote(urlsplit(self.path).path).lstrip("/")
        rng = self.headers.get("Range")
        with srv._lock:
            srv.requests.append((self.command, relpath, rng))
            statuses = srv.fail_once.get(relpath)
            status = statuses.pop(0) if statuses else None
            cut = srv.cut_once.pop(relpath, None) if body else None
            silent_after = srv.stall_after.pop(relpath, None) if body else None
        if status is not None:
            return self._empty(status, {"Retry-After": "0"})
        if srv.moved and relpath.startswith(srv.moved):
            return self._empty(HTTPStatus.MOVED_PERMANENTLY, {"Location": "/" + relpath[len(srv.moved) :]})
        if relpath in srv.redirects:
            return self._empty(HTTPStatus.FOUND, {"Location": "/" + srv.redirects[relpath]})
        if relpath in srv.stall:
            srv.stopping.wait()
            self.close_connection = True
            return None
        if relpath in srv.html:
            page = b"<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body>Log in</body></html>\n"
            return self._empty(HTTPStatus.OK, {"Content-Type": srv.html[relpath]}, page)
        if relpath in srv.endless:
            return self._endless(srv.endless[relpath], body)
        path = (srv.root / relpath).resolve()
        if relpath in srv.missing or srv.root not in path.parents or not path.is_file():
            return self._empty(HTTPStatus.NOT_FOUND)
        data = path.read_bytes()
        start, code, headers = 0, HTTPStatus.OK, {}
        m = re.fullmatch(r"bytes=(\d+)-(\d*)", rng or "")
        if m and not srv.ignore_range:
            start = int(m.group(1))
            end = min(int(m.group(2)), len(data) - 1) if m.group(2) else len(data) - 1
            if start >= len(data):
                return self._empty(
                    HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE, {"Content-Range": f"bytes */{len(data)}"}
                )
            data = data[: end + 1]
            code, headers = (
                HTTPStatus.PARTIAL_CONTENT,
                {"Content-Range": f"bytes {start}-{end}/{srv.lie_total.get(relpath, path.stat().st_size)}"},
            )
        payload = data[start:]
        self.send_response(code)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Accept-Ranges", "bytes")
        for key, value in headers.items():
            self.send_header(key, value)
        if cut is not None:
            self.send_header("Connection", "close")
        self.end_headers()
        if not body:
            return
        if silent_after is not None:
            self.wfile.write(payload[:silent_after])  # then say nothing more until the server stops
            self.wfile.flush()
            srv.stopping.wait()
            self.close_connection = True
            return
        if cut is None:
            self._write(relpath, payload)
            return
        self.wfile.write(payload[:cut])  # then drop the connection mid-body
        self.wfile.flush()
        self.close_connection = True

    def _write(self, relpath: str, payload: bytes) -> None:
        """Send ``payload`` in 64 KiB blocks, sleeping ``throttle[relpath]`` seconds after each."""
        srv = self.server
        block = 1 << 16
        for start in range(0, len(payload), block):
            self.wfile.write(payload[start : start + block])
            delay = srv.throttle.get(relpath, 0.0)
            if delay:
                self.wfile.flush()
                if srv.stopping.wait(delay):
                    self.close_connection = True
                    return

    def _endless(self, length: int | None, body: bool) -> None:
        """A 200 whose body never ends, announcing ``Content-Length: length`` (or no length at all)."""
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "application/octet-stream")
        if length is not None:
            self.send_header("Content-Length", str(length))
        else:
            self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        if not body:
            return
        self.wfile.flush()
        self.connection.settimeout(0.5)
        junk = b"\x00junk" * 8192
        try:
            while not self.server.stopping.is_set():
                self.connection.sendall(junk)
        except OSError:  # the client hung up (or stopped reading): done
            pass

    def _empty(
        self, status: int, headers: dict[str, str] | None = None, message: bytes | None = None
    ) -> None:
        message = HTTPStatus(status).phrase.encode() if message is None else message
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(message)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(message)


class SilentServer:
    """A TCP listener on 127.0.0.1 that accepts connections and never sends a byte (until :meth:`stop`)."""

    def __init__(self) -> None:
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.05)
        host, port = self._sock.getsockname()[:2]
        self.url = f"http://{host}:{port}/"
        """Base URL ending in ``/`` (still valid for messages after :meth:`stop`)."""
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="silent-tcp", daemon=True)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._held.append(conn)

    def __enter__(self) -> SilentServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for conn in self._held:
            conn.close()
        self._sock.close()

"""A real HTTP server on 127.0.0.1 for tests: serves a folder with Range support and scripted faults.

``LoopbackServer(root)`` is a ``http.server.ThreadingHTTPServer`` on an ephemeral port. Faults are set per
relative path: ``cut_once[path] = n`` sends the full ``Content-Length`` but closes after ``n`` body bytes
(once); ``fail_once[path] = [503, ...]`` answers those statuses first; ``missing`` answers 404;
``ignore_range`` answers 200 with the whole file even to Range requests. ``requests`` records every
request as ``(method, path, Range header or None)``.
"""

from __future__ import annotations

import re
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
        self.requests: list[tuple[str, str, str | None]] = []
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
        self._serve(body=True)

    def _serve(self, body: bool) -> None:
        srv = self.server
        relpath = unquote(urlsplit(self.path).path).lstrip("/")
        rng = self.headers.get("Range")
        with srv._lock:
            srv.requests.append((self.command, relpath, rng))
            statuses = srv.fail_once.get(relpath)
            status = statuses.pop(0) if statuses else None
            cut = srv.cut_once.pop(relpath, None) if body else None
        if status is not None:
            return self._empty(status, {"Retry-After": "0"})
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
                {"Content-Range": f"bytes {start}-{end}/{path.stat().st_size}"},
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
        if cut is None:
            self.wfile.write(payload)
            return
        self.wfile.write(payload[:cut])  # then drop the connection mid-body
        self.wfile.flush()
        self.close_connection = True

    def _empty(self, status: int, headers: dict[str, str] | None = None) -> None:
        message = HTTPStatus(status).phrase.encode()
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(message)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(message)

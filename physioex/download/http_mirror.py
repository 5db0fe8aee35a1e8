"""HTTP(S) mirrors through ``requests``: retries with exponential backoff on 429/5xx and connection errors
are urllib3's ``Retry``; ``Range`` resumes partial files; failures become errors naming the file and URL.

Every connect and every read has a timeout, redirects are followed up to ``MAX_REDIRECTS``, and the listing
is read with a size bound, so no server can make a download hang or fill memory.
"""

from __future__ import annotations

import http.client
import re
import threading
from collections.abc import Generator

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from physioex.download.errors import (
    NETWORK_HINT,
    FetchError,
    HtmlPageError,
    NotFoundError,
    RangeNotSatisfiable,
    TruncatedError,
    UnreachableError,
)
from physioex.download.mirror import CHUNK_BYTES, LISTING_MAX_BYTES, Mirror, Stream, looks_like_html

RETRY_STATUSES = (429, 500, 502, 503, 504)
"""Transient statuses urllib3 retries (honouring ``Retry-After``)."""

MAX_REDIRECTS = 10
"""Redirects followed per request; more is reported as a redirect loop."""


class HttpMirror(Mirror):
    """HTTP(S) mirror: ``requests`` with a pooled adapter whose urllib3 ``Retry`` backs off on 429/5xx."""

    def __init__(self, url: str, *, retries: int, backoff: float, timeout: float, pool: int) -> None:
        self.location = url if url.endswith("/") else url + "/"
        self.timeout = timeout
        self.retries = retries
        retry = Retry(
            total=retries,
            connect=retries,
            read=retries,
            status=retries,
            backoff_factor=backoff,
            status_forcelist=RETRY_STATUSES,
            allowed_methods=frozenset({"GET", "HEAD"}),
            respect_retry_after_header=True,
            raise_on_status=False,
        )
        self._adapter = HTTPAdapter(max_retries=retry, pool_connections=pool, pool_maxsize=pool)
        self._local = threading.local()

    @property
    def session(self) -> requests.Session:
        """This thread's session (requests does not promise thread safety); all share one adapter/pool."""
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            session.mount("http://", self._adapter)
            session.mount("https://", self._adapter)
            session.max_redirects = MAX_REDIRECTS
            # Identity encoding: the hash and the byte offsets refer to the file itself, not a gzip of it.
            session.headers.update({"Accept-Encoding": "identity", "User-Agent": "physioex-download"})
        return session

    def _get(self, relpath: str, headers: dict[str, str] | None = None) -> requests.Response:
        url = self.describe(relpath)
        try:
            return self.session.get(
                url, headers=headers, stream=True, timeout=(self.timeout, self.timeout), allow_redirects=True
            )
        except requests.TooManyRedirects as exc:
            raise UnreachableError(
                relpath, f"redirect loop at {url} (more than {MAX_REDIRECTS} redirects); check the mirror URL"
            ) from exc
        except requests.RequestException as exc:
            raise UnreachableError(relpath, self._failure(url, exc)) from exc

    def _failure(self, url: str, exc: requests.RequestException) -> str:
        """One line saying why a request to ``url`` got no usable answer, and what to do."""
        after = f" (after {self.retries} retries)" if self.retries else ""
        if _is_read_timeout(exc):
            return (
                f"no answer from {url} within the {self.timeout:g} s timeout{after}; "
                f"check the mirror, or raise --timeout"
            )
        if isinstance(exc, requests.ConnectionError):
            return f"cannot reach {url} ({_reason(exc)}){after}; {NETWORK_HINT}"
        return f"request to {url} failed: {_reason(exc)}"

    def read_text(self, relpath: str) -> str | None:
        response = self._get(relpath)
        with response:
            if response.status_code in (404, 410):
                return None
            _raise_for_status(relpath, response)
            chunks = _body(relpath, response)
            data = bytearray()
            for chunk in chunks:
                data += chunk
                if len(data) > LISTING_MAX_BYTES:
                    chunks.close()
                    raise FetchError(
                        relpath, f"{response.url} sent more than {LISTING_MAX_BYTES:,} bytes: not a listing"
                    )
            if looks_like_html(response.headers.get("Content-Type"), bytes(data[:512])):
                raise HtmlPageError(
                    relpath, f"{response.url} answered an HTML page, not the listing: check the mirror URL"
                )
            return data.decode("utf-8", errors="replace")

    def open(self, relpath: str, offset: int = 0) -> Stream:
        headers = {"Range": f"bytes={offset}-"} if offset > 0 else None
        response = self._get(relpath, headers)
        if response.status_code == 416 and offset > 0:
            response.close()
            raise RangeNotSatisfiable(relpath)
        if response.status_code in (404, 410):
            response.close()
            raise NotFoundError(relpath, f"HTTP {response.status_code} {response.reason} at {response.url}")
        _raise_for_status(relpath, response)
        start, size = 0, _int(response.headers.get("Content-Length"))
        if response.status_code == 206:
            m = re.match(r"bytes\s+(\d+)-(\d+)/(\d+|\*)", response.headers.get("Content-Range", ""))
            if m is None or int(m.group(1)) != offset:
                response.close()
                raise FetchError(
                    relpath,
                    f"{response.url} sent an unexpected Content-Range "
                    f"{response.headers.get('Content-Range')!r} for bytes={offset}-",
                )
            start, size = offset, _int(m.group(3))
        return Stream(
            start=start,
            size=size,
            chunks=_body(relpath, response),
            where=response.url,
            content_type=response.headers.get("Content-Type"),
        )


def _body(relpath: str, response: requests.Response) -> Generator[bytes, None, None]:
    """Body chunks; a connection cut or a read timeout mid-body becomes ``TruncatedError``.

    ``http.client`` never reads past ``Content-Length``: a longer body is cut there (and urllib3 drops the
    connection, which still has unread bytes, instead of reusing it).
    """
    raw = response.raw
    try:
        # read1 hands over every byte that arrived, so a cut loses nothing that reached us
        while chunk := raw.read1(CHUNK_BYTES):
            yield chunk
    except (
        requests.RequestException,
        urllib3.exceptions.HTTPError,
        http.client.HTTPException,
        OSError,
    ) as exc:
        raise TruncatedError(relpath, f"truncated body from {response.url}: {_reason(exc)}") from exc
    finally:
        response.close()


def _raise_for_status(relpath: str, response: requests.Response) -> None:
    if response.status_code >= 400:
        response.close()
        retried = " (after retries)" if response.status_code in RETRY_STATUSES else ""
        raise FetchError(relpath, f"HTTP {response.status_code} {response.reason} at {response.url}{retried}")


def _int(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() else None


def _is_read_timeout(exc: BaseException) -> bool:
    """A read timeout, raised directly or wrapped by urllib3 after its retries."""
    if isinstance(exc, requests.ReadTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, urllib3.exceptions.ReadTimeoutError)


_REASONS = {
    "Connection refused": "connection refused",
    "Name or service not known": "host name not found (no network or wrong URL?)",
    "Temporary failure in name resolution": "host name not found (no network or wrong URL?)",
    "Network is unreachable": "network is unreachable",
    "RemoteDisconnected": "the server closed the connection without answering",
    "IncompleteRead": "connection closed before the end of the file",
    "Connection broken": "connection broken before the end of the file",
    "timed out": "timed out",
}


def _reason(exc: BaseException) -> str:
    """A short one-line reason for a requests/urllib3 error (their messages nest several wrappers)."""
    text = str(exc)
    reason = next((reason for marker, reason in _REASONS.items() if marker in text), text[:200])
    return " ".join(reason.split())

"""Remote (fsspec) stores that fail fast: connect/read timeouts, bounded retries, one-line errors.

``PHYSIOEX_STORE_TIMEOUT`` (seconds, default 20) bounds every connect and every read of a remote
store; ``PHYSIOEX_STORE_RETRIES`` (default 2) is how many times a timed-out, refused or 5xx request is
retried (with a short backoff) before the run stops with one line naming the URL and the cause.
s3fs's and botocore's own retry loops are turned off, so the worst case is about
``(retries + 1) * timeout`` per request. Credentials are never printed: URLs are shown without
user info or query string, and storage options are never shown.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from physioex.errors import InputError
from physioex.store.errors import RemoteStoreError, StoreError

T = TypeVar("T")

DEFAULT_TIMEOUT = 20.0
"""Seconds to wait for a connection or for the next bytes of an answer."""
DEFAULT_RETRIES = 2
"""Retries after the first attempt of a request that timed out, was refused or got a 5xx answer."""

TIMEOUT_ENV = "PHYSIOEX_STORE_TIMEOUT"
RETRIES_ENV = "PHYSIOEX_STORE_RETRIES"


def is_remote(location: str) -> bool:
    """True for fsspec URLs other than ``file://`` (``s3://``, ``http://``, ``gs://``, ...)."""
    scheme = location.split("://", 1)[0].lower() if "://" in location else ""
    return scheme not in ("", "file", "local")


def redact(url: str) -> str:
    """``url`` without user info, password or query string (which may hold credentials or tokens)."""
    if "://" not in url:
        return url
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _env_number(name: str, default: float, minimum: float) -> float:
    text = os.environ.get(name)
    if text is None or not text.strip():
        return default
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"${name}={text!r} is not a number; set it to e.g. {default:g}") from None
    if value < minimum:
        raise InputError(f"${name}={text!r} must be at least {minimum:g}")
    return value


def store_timeout(timeout: float | None = None) -> float:
    """The timeout in seconds: ``timeout`` if given, else ``$PHYSIOEX_STORE_TIMEOUT``, else 20."""
    if timeout is not None:
        if timeout <= 0:
            raise InputError(f"store timeout must be positive, got {timeout}")
        return float(timeout)
    return _env_number(TIMEOUT_ENV, DEFAULT_TIMEOUT, 0.001)


def store_retries() -> int:
    """Retries per request: ``$PHYSIOEX_STORE_RETRIES``, else 2."""
    return int(_env_number(RETRIES_ENV, DEFAULT_RETRIES, 0))


def open_fsspec_store(url: str, storage_options: dict[str, Any] | None, timeout: float) -> Any:
    """A read-only ``zarr.storage.FsspecStore`` for ``url`` with timeouts set and library retries off."""
    import fsspec
    from zarr.storage import FsspecStore

    opts: dict[str, Any] = dict(storage_options or {})
    scheme = url.split("://", 1)[0].lower()
    if scheme in ("s3", "s3a"):
        config = dict(opts.get("config_kwargs") or {})
        config.setdefault("connect_timeout", timeout)
        config.setdefault("read_timeout", timeout)
        config.setdefault("retries", {"total_max_attempts": 1})  # physioex retries, botocore does not
        opts["config_kwargs"] = config
    elif scheme in ("http", "https"):
        import aiohttp

        client = dict(opts.get("client_kwargs") or {})
        client.setdefault(
            "timeout", aiohttp.ClientTimeout(total=None, sock_connect=timeout, sock_read=timeout)
        )
        opts["client_kwargs"] = client
    opts["asynchronous"] = True
    try:
        fs, path = fsspec.url_to_fs(url, **opts)
    except (ValueError, TypeError, ImportError) as exc:
        raise InputError(f"store {redact(url)}: cannot open this URL ({_first_line(exc)})") from None
    if scheme in ("s3", "s3a"):
        fs.retries = 1  # s3fs's own retry loop: one attempt, physioex retries (see ``call``)
    return FsspecStore(fs=fs, path=path, read_only=True)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and cur not in seen and len(seen) < 10:
        seen.append(cur)
        cur = cur.__cause__ or cur.__context__
    return seen


def _status(exc: BaseException) -> int | None:
    for e in _chain(exc):
        status = getattr(e, "status", None)
        if isinstance(status, int):
            return status
        response = getattr(e, "response", None)
        if isinstance(response, dict):
            code = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if isinstance(code, int):
                return code
    return None


def is_timeout(exc: BaseException) -> bool:
    """A connect or read timeout anywhere in the exception chain."""
    names = {"ReadTimeoutError", "ConnectTimeoutError", "ServerTimeoutError", "FSTimeoutError"}
    for e in _chain(exc):
        if isinstance(e, (TimeoutError, asyncio.TimeoutError)) or type(e).__name__ in names:
            return True
    return False


def is_transient(exc: BaseException) -> bool:
    """Worth retrying: a timeout, a refused or dropped connection, or an HTTP 5xx answer."""
    if isinstance(exc, StoreError):
        return False
    if is_timeout(exc):
        return True
    names = {
        "EndpointConnectionError",
        "ConnectionClosedError",
        "ClientConnectorError",
        "ClientOSError",
        "ServerDisconnectedError",
        "ClientPayloadError",
        "IncompleteRead",
    }
    for e in _chain(exc):
        if isinstance(e, ConnectionError) or type(e).__name__ in names:
            return True
    status = _status(exc)
    return status is not None and status >= 500


def describe(exc: BaseException, timeout: float) -> str:
    """The cause of a failed request in a few words, without credentials."""
    for e in _chain(exc):
        if isinstance(e, ConnectionRefusedError) or "Connect call failed" in str(e):
            return "connection refused (is the server running and the port right?)"
    if is_timeout(exc):
        return f"no answer within {timeout:g} s (timed out)"
    for e in _chain(exc):
        response = getattr(e, "response", None)
        if isinstance(response, dict) and "Error" in response:
            err = response["Error"]
            return f"{err.get('Code', 'error')}: {err.get('Message', '')}".strip().rstrip(":")
    status = _status(exc)
    if status is not None:
        return f"HTTP {status}"
    for e in _chain(exc):
        if type(e).__name__ in ("EndpointConnectionError", "ClientConnectorError"):
            return re.sub(r"https?://\S+", "", _first_line(e)).strip().rstrip(":") or "cannot connect"
    return f"{type(exc).__name__}: {_first_line(exc)}"


def call(fn: Callable[[], T], *, url: str, what: str, timeout: float, retries: int | None = None) -> T:
    """Run ``fn`` (a request to the remote store ``url``), retrying transient failures with backoff.

    Raises ``RemoteStoreError`` (one line: URL, ``what``, cause, what to do) when retries run out or the
    error is not transient (e.g. access denied). ``FileNotFoundError`` and ``StoreError`` pass through.
    """
    retries = store_retries() if retries is None else retries
    attempt = 0
    while True:
        try:
            return fn()
        except (StoreError, FileNotFoundError, KeyError):
            raise
        except Exception as exc:
            if is_transient(exc) and attempt < retries:
                time.sleep(min(0.2 * 2**attempt, 2.0))
                attempt += 1
                continue
            tries = f" after {attempt + 1} attempts" if attempt else ""
            raise RemoteStoreError(
                f"store {redact(url)}: {what} failed{tries}: {describe(exc, timeout)}; check the URL, the "
                f"server and your network (timeout {timeout:g} s: ${TIMEOUT_ENV}, retries {retries}: "
                f"${RETRIES_ENV})"
            ) from None

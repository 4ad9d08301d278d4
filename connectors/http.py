"""The one seam every outbound vendor call goes through.

    VendorHttp(base_url, ...) -> .request(...) -> httpx.Response | raises ConnectorError

Layers, outermost first: httpx-retries (exponential backoff with jitter, honouring
Retry-After) → the shared client-side rate limiter (every attempt, retries included, takes a
token from the vendor account's bucket) → the network, or an in-process emulator mounted with
`mount()` for fast tests. Failures are classified once, here, as retryable or permanent.

Server-side request forgery: every connection the network layer opens is checked at connect
time (`PublicOnlyBackend`): the host is resolved, every address it resolves to must be public
(IPv4 and IPv6, with IPv4 hidden in IPv4-mapped, IPv4-compatible, 6to4, Teredo and NAT64
addresses unwrapped first), and the socket connects to the checked address itself, so a DNS
answer that changes between check and connect changes nothing. Hosts in
settings.SYNCSMART_ALLOWED_EMULATOR_HOSTS (development only: the emulators on loopback) skip the
check. A refusal is a ConnectorError of kind CONFIG, never retried.

Thread safety: the engine sends a page's vendor calls from several worker threads through one
VendorHttp. httpx.Client may be shared between threads, httpx-retries keeps its retry state per
request, and the limiters lock their buckets (connectors.ratelimit). What must not run on a worker
thread is database work (Django connections belong to a thread): callbacks that store something,
such as refreshed tokens, are wrapped with `on_owner_thread` and run by the run's own thread.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import os
import socket
import ssl
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

import httpcore
import httpx
from django.conf import settings
from httpx_retries import Retry, RetryTransport

from connectors.base import ConnectorError, ErrorKind
from syncsmart.core import metrics

log = logging.getLogger("syncsmart.http")

RETRY_STATUSES = (429, 500, 502, 503, 504)
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)

_mounted: dict[str, httpx.BaseTransport] = {}
_mount_lock = threading.Lock()


def mount(base_url: str, transport: httpx.BaseTransport) -> None:
    """Route every call to `base_url` through `transport` (an emulator's WSGITransport)."""
    with _mount_lock:
        _mounted[base_url.rstrip("/")] = transport


def unmount(base_url: str) -> None:
    with _mount_lock:
        _mounted.pop(base_url.rstrip("/"), None)


def mounted_transport(base_url: str) -> httpx.BaseTransport | None:
    base = base_url.rstrip("/")
    with _mount_lock:
        for prefix, transport in _mounted.items():
            if base == prefix or base.startswith(prefix + "/"):
                return transport
    return None


# Callbacks a worker thread handed back to the thread that owns them, until it runs them.
_owner_queues: weakref.WeakKeyDictionary[threading.Thread, list[Callable[[], None]]] = weakref.WeakKeyDictionary()
_owner_lock = threading.Lock()


def on_owner_thread(callback: Callable[..., None]) -> Callable[..., None]:
    """Wrap a callback that touches the database. Called on the thread that wrapped it (the run's),
    it runs at once; called from a vendor-call worker thread, it waits for that thread's next
    `run_owner_callbacks()` (the engine calls it whenever a batch of concurrent calls is over)."""
    owner = threading.current_thread()

    @functools.wraps(callback)
    def call(*args: Any, **kwargs: Any) -> None:
        if threading.current_thread() is owner:
            callback(*args, **kwargs)
            return
        with _owner_lock:
            _owner_queues.setdefault(owner, []).append(functools.partial(callback, *args, **kwargs))

    return call


def run_owner_callbacks() -> None:
    """Run, in order, the callbacks worker threads left for this thread."""
    with _owner_lock:
        queued = _owner_queues.pop(threading.current_thread(), [])
    for callback in queued:
        callback()


def tls_context(verify: bool | str | ssl.SSLContext = True) -> ssl.SSLContext:
    """The client TLS context for a trust setting: one per setting for the whole process. Building
    one loads the CA bundle (~40 ms of CPU), and a connector is built per run and per webhook
    request, so a fresh context each time delayed every webhook. An SSLContext is safe to share
    between threads and clients; one passed in is used as it is."""
    return verify if isinstance(verify, ssl.SSLContext) else _shared_tls_context(verify)


@functools.lru_cache(maxsize=8)
def _shared_tls_context(verify: bool | str) -> ssl.SSLContext:
    if isinstance(verify, str):  # a CA file
        return ssl.create_default_context(cafile=verify)
    return httpx.create_ssl_context(verify=verify)


# --- connect-time address check (SSRF) ---------------------------------------------------------
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


class PrivateAddressRefused(Exception):
    """A vendor host that is, or resolves to, a private / loopback / link-local / reserved address."""


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries: mapped (::ffff:a.b.c.d), compatible (::a.b.c.d),
    6to4 (2002:AABB:CCDD::), Teredo (its client), NAT64 (64:ff9b::a.b.c.d and the /48 local prefix)."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if any(address in net for net in _NAT64):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if int(address) >> 32 == 0 and int(address) > 1:  # ::a.b.c.d (deprecated IPv4-compatible)
        return ipaddress.IPv4Address(int(address))
    return None


def is_public_address(text: str) -> bool:
    """True when SyncSmart may connect to this address: globally routable, unicast, not
    reserved — for IPv6, the IPv4 address it embeds must be public too."""
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address):
        inner = embedded_ipv4(address)
        if inner is not None and not _plainly_public(inner):
            return False
        if address.ipv4_mapped is not None or address in _NAT64[0]:
            return True  # judged by the IPv4 address they carry, public here
    return _plainly_public(address)


def _plainly_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return address.is_global and not (address.is_multicast or address.is_reserved or address.is_unspecified)


def allowed_emulator_hosts() -> frozenset[str]:
    """Hosts that skip the address check: the emulators on loopback, in development only."""
    if settings.configured:
        production = getattr(settings, "PRODUCTION", False)
        hosts = getattr(settings, "SYNCSMART_ALLOWED_EMULATOR_HOSTS", [])
    else:  # a tool process without Django settings: the same environment variables decide
        production = os.environ.get("SYNCSMART_ENV", "development") == "production"
        hosts = os.environ.get("SYNCSMART_ALLOWED_EMULATOR_HOSTS", "127.0.0.1,localhost").split(",")
    if production:
        return frozenset()
    return frozenset(h.strip().lower() for h in hosts if h.strip())


class PublicOnlyBackend(httpcore.NetworkBackend):
    """httpcore's network backend with the address check of every TCP connection it opens."""

    def __init__(self, allowed_hosts: Iterable[str] = ()) -> None:
        self._inner = httpcore.SyncBackend()
        self._allowed = frozenset(h.lower().strip("[]") for h in allowed_hosts)

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        if host.lower().strip("[]") in self._allowed:
            return self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        addresses = self._resolve(host, port)
        refused = [a for a in addresses if not is_public_address(a)]
        if refused or not addresses:
            raise PrivateAddressRefused(
                f"{host} points to a private, local or reserved network address ({refused[0] if refused else 'none'}); "
                "SyncSmart only connects to public addresses."
            )
        error: Exception | None = None
        for address in addresses:  # the checked address itself, never the name again
            try:
                return self._inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except httpcore.ConnectError as exc:
                error = exc
        raise error or httpcore.ConnectError(f"could not connect to {host}")

    @staticmethod
    def _resolve(host: str, port: int) -> list[str]:
        try:
            infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError, OSError) as exc:
            raise httpcore.ConnectError(f"{host} does not resolve: {exc}") from exc
        return list(dict.fromkeys(info[4][0] for info in infos))

    def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore.NetworkStream:
        raise PrivateAddressRefused("SyncSmart does not connect to Unix sockets")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def network_transport(verify: bool | str | ssl.SSLContext = True) -> httpx.HTTPTransport:
    """An httpx transport whose every connection passes the address check."""
    transport = httpx.HTTPTransport(verify=tls_context(verify))
    # httpx 0.28 builds its httpcore pool without a backend parameter: swap the pool's backend.
    transport._pool._network_backend = PublicOnlyBackend(allowed_emulator_hosts())
    return transport


class Limiter(Protocol):
    def acquire(self, request: httpx.Request) -> None:
        """Block until the vendor account may make one more call (raise ConnectorError if it never may)."""


class _LimitedTransport(httpx.BaseTransport):
    def __init__(self, inner: httpx.BaseTransport, limiter: Limiter | None, system: str = ""):
        self.inner = inner
        self.limiter = limiter
        self.system = system.lower()  # the metrics label: "hubspot", "connectwise"...

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.limiter is not None:
            waited = time.monotonic()
            self.limiter.acquire(request)
            metrics.LIMITER_WAIT.labels(self.system).observe(time.monotonic() - waited)
        try:
            # Every attempt (retries included) is counted here, so 429s are seen even when a retry succeeds.
            response = self.inner.handle_request(request)
            metrics.record_vendor_call(self.system, request.url.path, response.status_code)
            observe = getattr(self.limiter, "observe", None)  # the vendor's report of the daily limit
            if observe is not None:
                observe(response)
            return response
        finally:
            # A limiter in concurrency mode (connectors.ratelimit.InFlightLimiter) frees its slot.
            release = getattr(self.limiter, "release", None)
            if release is not None:
                release(request)

    def close(self) -> None:
        self.inner.close()


def default_retry(total: int = 6, backoff_factor: float = 0.5, max_backoff_wait: float = 30.0) -> Retry:
    return Retry(
        total=total,
        backoff_factor=backoff_factor,
        backoff_jitter=1.0,
        max_backoff_wait=max_backoff_wait,
        respect_retry_after_header=True,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=["HEAD", "GET", "PUT", "DELETE", "OPTIONS", "PATCH", "POST"],
    )


def status_only_retry(base: Retry) -> Retry:
    """For calls that are not idempotent: retry what the server refused (429/5xx), never a
    timeout or a dropped connection, after which the write may or may not have happened."""
    return Retry(
        total=base.total,
        backoff_factor=base.backoff_factor,
        backoff_jitter=base.backoff_jitter,
        max_backoff_wait=base.max_backoff_wait,
        respect_retry_after_header=True,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=base.allowed_methods,
        retry_on_exceptions=(),
    )


ErrorParser = Callable[[httpx.Response], ConnectorError]


def kind_for_status(status: int) -> ErrorKind:
    if status == 429:
        return ErrorKind.RATE_LIMITED
    if status >= 500:
        return ErrorKind.SERVER
    if status in (401, 403):
        return ErrorKind.AUTH
    if status == 404:
        return ErrorKind.NOT_FOUND
    if status == 409:
        return ErrorKind.CONFLICT
    return ErrorKind.VALIDATION


def retry_after_seconds(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def generic_error(response: httpx.Response) -> ConnectorError:
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text[:500]
    message = body.get("message") if isinstance(body, dict) else None
    return ConnectorError(
        message or f"HTTP {response.status_code}",
        kind_for_status(response.status_code),
        status=response.status_code,
        retry_after=retry_after_seconds(response),
        body=body,
    )


class VendorHttp:
    def __init__(
        self,
        base_url: str,
        *,
        system: str,
        auth: httpx.Auth | None = None,
        headers: Mapping[str, str] | None = None,
        limiter: Limiter | None = None,
        error_parser: ErrorParser = generic_error,
        retry: Retry | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        verify: bool | str | ssl.SSLContext = True,
        transport: httpx.BaseTransport | None = None,
    ):
        self.base_url = base_url.rstrip("/")
        self.system = system
        self.error_parser = error_parser
        self.retry = retry or default_retry()
        inner = transport or mounted_transport(self.base_url) or network_transport(verify)
        self._client = httpx.Client(
            base_url=self.base_url,
            auth=auth,
            headers=dict(headers or {}),
            timeout=timeout,
            transport=RetryTransport(transport=_LimitedTransport(inner, limiter, system), retry=self.retry),
        )

    def request(
        self,
        method: str,
        path: str,
        *,
        idempotent: bool = True,
        ok_statuses: tuple[int, ...] = (),
        **kwargs: Any,
    ) -> httpx.Response:
        """Send one call; return the response if 2xx (or in `ok_statuses`, e.g. 207), else raise."""
        extensions = kwargs.pop("extensions", {})
        if not idempotent:
            extensions["retry"] = status_only_retry(self.retry)
        try:
            response = self._client.request(method, path, extensions=extensions, **kwargs)
        except PrivateAddressRefused as exc:
            raise ConnectorError(str(exc), ErrorKind.CONFIG) from exc
        except httpx.TimeoutException as exc:
            raise ConnectorError(f"{self.system} did not answer in time ({method} {path})", ErrorKind.TIMEOUT) from exc
        except httpx.TransportError as exc:
            raise ConnectorError(
                f"Could not reach {self.system} at {self.base_url}: {exc.__class__.__name__}", ErrorKind.NETWORK
            ) from exc
        if response.is_success or response.status_code in ok_statuses:
            return response
        error = self.error_parser(response)
        log.info("%s %s %s -> %s %s", self.system, method, path, response.status_code, error.message)
        raise error

    def close(self) -> None:
        self._client.close()

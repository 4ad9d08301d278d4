"""Shared machinery of the vendor emulators (a product feature: demo, sandbox, tests, benchmarks).

An emulator is a WSGI app (`Emulator` subclass) with in-memory state, reachable two ways with
the same code: in-process through `emulator.transport()` (an `httpx.WSGITransport`), and on a
real port through `emulator.serve(port=...)` (a threaded WSGI server, optionally HTTPS with a
locally generated CA). Every emulator has the same knobs:

- latency: uniform between `latency_ms[0]` and `latency_ms[1]` per call;
- limits: whether the vendor's published rate limits are enforced;
- faults: rates per kind (`429`, `500`, `502`, `503`, `timeout`, `drop`), deterministic under
  `seed`; timeouts and dropped connections happen before or after the call's effect (half each),
  as on a real network, so clients must be idempotent to survive them;
- counters: calls per (method, route) and writes, readable in-process (`emulator.counters()`)
  and over HTTP (`GET /_emulator/counters`; `POST /_emulator/reset-counters`; `POST /_emulator/knobs`).
"""

from __future__ import annotations

import collections
import datetime as dt
import functools
import ipaddress
import json
import random
import re
import socketserver
import ssl
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs
from wsgiref.simple_server import ServerHandler, WSGIRequestHandler, WSGIServer

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

FAULT_KINDS = ("429", "500", "502", "503", "timeout", "drop")

STATUS_TEXT = {
    200: "OK",
    201: "Created",
    202: "Accepted",
    204: "No Content",
    207: "Multi-Status",
    302: "Found",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    412: "Precondition Failed",
    415: "Unsupported Media Type",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


class DropConnection(Exception):
    """Raised inside a handler to close the socket without an answer."""


class BadInput(ValueError):
    """A request the vendor refuses as malformed (bad JSON, `limit=abc`...): the shared `handle`
    answers it with the vendor's own 400 error body, so malformed input is never a 500."""


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes
    environ: dict[str, Any]
    params: dict[str, str] = field(default_factory=dict)  # from the route's named groups

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def json(self) -> Any:
        if not self.body:
            return None
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise BadInput(f"Invalid input JSON: {exc}") from None

    def json_object(self) -> dict[str, Any]:
        """The body as a JSON object ({} when empty); anything else is a BadInput."""
        body = self.json()
        if body is None:
            return {}
        if not isinstance(body, dict):
            raise BadInput("Invalid input JSON: the body must be a JSON object")
        return body

    def int_arg(self, name: str, default: int, minimum: int | None = None) -> int:
        """A whole-number query parameter; `limit=abc` is a BadInput, not a crash."""
        text = self.arg(name)
        if text in (None, ""):
            return default
        try:
            value = int(text)
        except ValueError:
            raise BadInput(f"{name} must be a whole number, not {text!r}") from None
        if minimum is not None and value < minimum:
            raise BadInput(f"{name} must be at least {minimum}")
        return value

    @property
    def url(self) -> str:
        qs = self.environ.get("QUERY_STRING", "")
        scheme = self.environ.get("wsgi.url_scheme", "http")
        host = self.environ.get("HTTP_HOST") or self.environ.get("SERVER_NAME", "localhost")
        return f"{scheme}://{host}{self.path}" + (f"?{qs}" if qs else "")


@dataclass
class Response:
    status: int = 200
    body: Any = None  # dict/list -> JSON; bytes/str -> as is
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json; charset=utf-8"

    def encode(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body, default=_json_default).encode()


def _json_default(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value)}")


def json_response(body: Any, status: int = 200, **headers: str) -> Response:
    return Response(status=status, body=body, headers=dict(headers))


Handler = Callable[[Request], Response]


@dataclass
class Route:
    method: str
    pattern: re.Pattern
    handler: Handler
    name: str
    write: bool


class SlidingWindow:
    """A rate limit as vendors describe it: at most `limit` calls in any `seconds` window."""

    def __init__(self, limit: int, seconds: float):
        self.limit, self.seconds = limit, seconds
        self.calls: dict[str, collections.deque] = collections.defaultdict(collections.deque)
        self.lock = threading.Lock()

    def hit(self, key: str = "", now: float | None = None) -> tuple[bool, int, float]:
        """Count a call; return (allowed, remaining, seconds until a slot frees)."""
        now = time.monotonic() if now is None else now
        with self.lock:
            window = self.calls[key]
            while window and window[0] <= now - self.seconds:
                window.popleft()
            if len(window) >= self.limit:
                return False, 0, max(0.0, window[0] + self.seconds - now)
            window.append(now)
            return True, self.limit - len(window), 0.0


class Emulator:
    """Base of every vendor emulator. Subclasses register routes in `setup_routes()`."""

    system = "emulator"
    not_emulated: tuple[str, ...] = ()
    # Whether `/things/` reaches the route of `/things` (ConnectWise accepts both; clients send both).
    trailing_slash: bool = False

    def __init__(
        self,
        *,
        latency_ms: tuple[float, float] = (0, 0),
        limits: bool = True,
        faults: dict[str, float] | None = None,
        seed: int = 0,
        timeout_sleep: float = 35.0,
    ):
        self.latency_ms = latency_ms
        self.limits = limits
        self.faults = {k: float(v) for k, v in (faults or {}).items() if v}
        self.seed = seed
        self.timeout_sleep = timeout_sleep
        self.rng = random.Random(seed)
        self.rng_lock = threading.Lock()
        self.lock = threading.RLock()
        self.routes: list[Route] = []
        self._counts: collections.Counter = collections.Counter()
        self._writes = 0
        self._faults_injected: collections.Counter = collections.Counter()
        self.in_process = False
        self.setup_routes()

    @classmethod
    def add_arguments(cls, parser) -> None:
        """Vendor-specific options of `manage.py emulator SYSTEM` (credentials it accepts...)."""

    @classmethod
    def from_options(cls, options: dict[str, Any], **knobs: Any) -> Emulator:
        return cls(**knobs)

    # --- routing ------------------------------------------------------------------------
    def route(self, method: str, pattern: str, handler: Handler, name: str | None = None, write: bool | None = None) -> None:
        self.routes.append(
            Route(
                method.upper(),
                re.compile("^" + pattern + "$"),
                handler,
                name or pattern,
                write if write is not None else method.upper() in ("POST", "PATCH", "PUT", "DELETE"),
            )
        )

    def setup_routes(self) -> None:
        raise NotImplementedError

    def error(self, status: int, message: str, **extra: Any) -> Response:
        """The vendor's error body. Subclasses override to match the vendor's shape."""
        return json_response({"message": message, **extra}, status)

    def authenticate(self, request: Request) -> Response | None:
        """Return an error Response when the call is not authorised, else None."""
        return None

    def rate_limit(self, request: Request, route: Route) -> Response | None:
        """Return a 429 Response when the vendor's limits refuse the call, else None."""
        return None

    def decorate(self, request: Request, response: Response) -> None:
        """Add headers every answer carries (rate-limit headers, correlation ids...)."""

    # --- knobs and counters ------------------------------------------------------------------
    def counters(self) -> dict[str, Any]:
        with self.lock:
            return {
                "calls": dict(self._counts),
                "total": sum(self._counts.values()),
                "writes": self._writes,
                "faults": dict(self._faults_injected),
            }

    def reset_counters(self) -> None:
        with self.lock:
            self._counts.clear()
            self._writes = 0
            self._faults_injected.clear()

    def calls(self, name_contains: str = "") -> int:
        with self.lock:
            return sum(n for k, n in self._counts.items() if name_contains in k)

    @property
    def writes(self) -> int:
        with self.lock:
            return self._writes

    def set_knobs(self, latency_ms=None, limits=None, faults=None, seed=None) -> None:
        if latency_ms is not None:
            self.latency_ms = tuple(latency_ms)
        if limits is not None:
            self.limits = bool(limits)
        if faults is not None:
            self.faults = {k: float(v) for k, v in faults.items() if v}
        if seed is not None:
            self.seed = seed
            self.rng = random.Random(seed)

    def _draw_fault(self) -> tuple[str | None, bool]:
        if not self.faults:
            return None, False
        with self.rng_lock:
            roll = self.rng.random()
            after = self.rng.random() < 0.5
        acc = 0.0
        for kind in FAULT_KINDS:
            acc += self.faults.get(kind, 0.0)
            if roll < acc:
                return kind, after
        return None, False

    # --- WSGI ---------------------------------------------------------------------------
    def transport(self) -> httpx.WSGITransport:
        self.in_process = True
        return httpx.WSGITransport(app=self)

    def __call__(self, environ, start_response):
        request = Request(
            method=environ["REQUEST_METHOD"].upper(),
            path=environ.get("PATH_INFO", "/") or "/",
            query=parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True),
            headers={k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
            | {k.replace("_", "-").lower(): environ[k] for k in ("CONTENT_TYPE", "CONTENT_LENGTH") if environ.get(k)},
            body=_read_body(environ),
            environ=environ,
        )
        response = self.handle(request)
        body = response.encode()
        headers = [("Content-Type", response.content_type)] if response.body is not None else []
        headers += [(k, str(v)) for k, v in response.headers.items()]
        headers.append(("Content-Length", str(len(body))))
        start_response(f"{response.status} {STATUS_TEXT.get(response.status, 'Status')}", headers)
        return [body]

    def handle(self, request: Request) -> Response:
        if request.path.startswith("/_emulator/"):
            try:
                return self._control(request)
            except (ValueError, TypeError, KeyError, AttributeError) as exc:  # a malformed control call, not a crash
                return json_response({"message": f"bad control request: {exc}"}, 400)
        route, allowed = self._match(request)
        if route is None:
            return self.error(405 if allowed else 404, "Method not allowed" if allowed else f"Unknown path {request.path}")
        if self.latency_ms[1] > 0:
            time.sleep(random.uniform(*self.latency_ms) / 1000.0)
        with self.lock:
            self._counts[f"{request.method} {route.name}"] += 1
        if not getattr(route.handler, "public", False):
            denied = self.authenticate(request)
            if denied is not None:
                self.decorate(request, denied)
                return denied
        if self.limits:
            limited = self.rate_limit(request, route)
            if limited is not None:
                self.decorate(request, limited)
                return limited
        fault, after = self._draw_fault()
        if fault and not after:
            return self._inject(fault, request)
        try:
            response = route.handler(request)
        except BadInput as exc:
            response = self.error(400, str(exc))
        if route.write and response.status < 400:
            with self.lock:
                self._writes += 1
        if fault:  # the effect happened; the client never hears of it
            return self._inject(fault, request, after_effect=True)
        self.decorate(request, response)
        return response

    def _match(self, request: Request) -> tuple[Route | None, bool]:
        allowed = False
        path = request.path
        if self.trailing_slash and len(path) > 1 and path.endswith("/"):
            path = path.rstrip("/") or "/"
        for route in self.routes:
            m = route.pattern.match(path)
            if m:
                if route.method == request.method:
                    request.params = m.groupdict()
                    return route, True
                allowed = True
        return None, allowed

    def _inject(self, fault: str, request: Request, after_effect: bool = False) -> Response:
        if fault in ("429", "500", "502", "503") and after_effect:
            # A status fault models a refusal, which never follows an effect: the answer is lost instead.
            return self._inject("drop", request, after_effect=True)
        with self.lock:
            self._faults_injected[fault + (" after" if after_effect else "")] += 1
        if fault in ("429", "500", "502", "503"):
            status = int(fault)
            response = self.error(status, "Injected fault: " + STATUS_TEXT[status])
            if status == 429:
                response.headers.setdefault("Retry-After", "1")
            self.decorate(request, response)
            return response
        if fault == "timeout":
            if self.in_process:
                raise httpx.ReadTimeout("emulated timeout")
            time.sleep(self.timeout_sleep)
            raise DropConnection()
        if self.in_process:
            raise httpx.RemoteProtocolError("emulated dropped connection")
        raise DropConnection()

    def _control(self, request: Request) -> Response:
        if request.path == "/_emulator/counters":
            return json_response(self.counters())
        if request.path == "/_emulator/reset-counters" and request.method == "POST":
            self.reset_counters()
            return json_response({"ok": True})
        if request.path == "/_emulator/knobs" and request.method == "POST":
            self.set_knobs(**(request.json() or {}))
            return json_response({"ok": True})
        return self.control(request) or json_response({"message": "unknown control"}, 404)

    def control(self, request: Request) -> Response | None:
        """Vendor-specific control endpoints under /_emulator/ (seed data, state dumps...)."""
        return None

    # --- serving on a port ---------------------------------------------------------------
    def serve(
        self, host: str = "127.0.0.1", port: int = 0, tls: bool = False, ca_file: str | Path | None = None
    ) -> RunningEmulator:
        server = _ThreadingWSGIServer((host, port), _QuietHandler)
        server.set_app(self)
        scheme = "http"
        if tls:
            context = tls_context(host, ca_file)
            server.socket = context.wrap_socket(server.socket, server_side=True)
            scheme = "https"
        thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True, name=f"{self.system}-emulator"
        )
        thread.start()
        return RunningEmulator(self, server, thread, f"{scheme}://{host}:{server.server_address[1]}")


@dataclass
class RunningEmulator:
    emulator: Emulator
    server: WSGIServer
    thread: threading.Thread
    base_url: str

    @property
    def handler_cpu_seconds(self) -> float:
        """CPU the emulator spent answering requests (its handler threads), so a benchmark can
        tell the sync's CPU from the emulator's when both share a process."""
        return self.server.handler_cpu_seconds

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def public(handler: Handler) -> Handler:
    """Mark a handler that needs no authentication (OAuth endpoints, metadata)."""
    handler.public = True  # type: ignore[attr-defined]
    return handler


def _read_body(environ) -> bytes:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    return environ["wsgi.input"].read(length) if length > 0 else b""


class _ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.handler_cpu_seconds = 0.0
        self._cpu_lock = threading.Lock()

    def process_request_thread(self, request, client_address):
        started = time.thread_time()
        try:
            super().process_request_thread(request, client_address)
        finally:
            spent = time.thread_time() - started
            with self._cpu_lock:
                self.handler_cpu_seconds += spent

    def handle_error(self, request, client_address):
        pass  # dropped connections and client hang-ups are expected here


class _DroppingServerHandler(ServerHandler):
    def cleanup_headers(self):
        super().cleanup_headers()
        # One request per connection (see _QuietHandler): say so, or HTTP/1.1 clients reuse the
        # closed socket and a non-idempotent POST fails with "Server disconnected".
        self.headers["Connection"] = "close"

    def handle_error(self):
        if isinstance(sys.exc_info()[1], DropConnection):
            raise  # noqa: PLE0704 - re-raise so the socket closes without an answer
        super().handle_error()


class _QuietHandler(WSGIRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):
        pass

    def handle(self):
        # One request per connection keeps the threaded server simple and robust.
        self.raw_requestline = self.rfile.readline(65537)
        if not self.raw_requestline or not self.parse_request():
            return
        handler = _DroppingServerHandler(self.rfile, self.wfile, self.get_stderr(), self.get_environ(), multithread=True)
        handler.request_handler = self
        handler.http_version = "1.1"
        self.close_connection = True
        handler.run(self.server.get_app())


def tls_context(host: str, ca_file: str | Path | None) -> ssl.SSLContext:
    """A server context with a certificate for `host` signed by a CA generated here;
    the CA certificate is written to `ca_file` for clients to trust."""

    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "SyncSmart emulator CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [x509.DNSName("localhost")]
    try:
        names.append(x509.IPAddress(ipaddress.ip_address(host)))
    except ValueError:
        names.append(x509.DNSName(host))
    if host != "127.0.0.1":
        names.append(x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    if ca_file:
        Path(ca_file).write_bytes(ca_cert.public_bytes(pem))
    workdir = Path(tempfile.mkdtemp(prefix="syncsmart-tls-"))
    (workdir / "cert.pem").write_bytes(cert.public_bytes(pem) + ca_cert.public_bytes(pem))
    (workdir / "key.pem").write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(workdir / "cert.pem", workdir / "key.pem")
    return context


@functools.cache
def _delivery_tls() -> ssl.SSLContext:
    """One client TLS context for every delivery: building one loads the whole CA bundle (tens of
    milliseconds of CPU), which per webhook would delay each delivery on a busy machine."""
    return httpx.create_ssl_context()


class WebhookSender:
    """Delivers an emulator's webhooks in the background, the way vendors do: POST with the
    vendor's signature headers, a few retries on failure, never blocking the API call."""

    def __init__(self, timeout: float = 10.0):
        self.timeout = timeout
        self.deliveries: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self._pending = 0
        self._idle = threading.Condition(self.lock)
        self.transport: httpx.BaseTransport | None = None  # set in tests to deliver in-process

    def send(self, url: str, body: bytes, headers: dict[str, str]) -> None:
        with self.lock:
            self._pending += 1
        threading.Thread(target=self._deliver, args=(url, body, headers), daemon=True).start()

    def _deliver(self, url: str, body: bytes, headers: dict[str, str]) -> None:
        status: int | str = "error"
        try:
            for attempt in range(3):
                try:
                    with httpx.Client(timeout=self.timeout, transport=self.transport, verify=_delivery_tls()) as client:
                        status = client.post(url, content=body, headers=headers).status_code
                    if status < 500:
                        break
                except httpx.HTTPError as exc:
                    status = exc.__class__.__name__
                time.sleep(0.2 * (attempt + 1))
        finally:
            with self.lock:
                self.deliveries.append({"url": url, "status": status, "at": time.time()})
                self._pending -= 1
                self._idle.notify_all()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        with self.lock:
            return self._idle.wait_for(lambda: self._pending == 0, timeout=timeout)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso(value: str) -> dt.datetime:
    value = value.strip()
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    parsed = dt.datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def add_common_arguments(parser) -> None:
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--seed-size", type=int, default=100, help="demo records per object type")
    parser.add_argument("--latency-ms", default="0", help="'150' or '100-250' per call")
    parser.add_argument("--no-limits", action="store_true", help="do not enforce the vendor's rate limits")
    parser.add_argument("--faults", default="", help="e.g. '429=0.1,503=0.05,timeout=0.02,drop=0.01'")
    parser.add_argument("--seed", type=int, default=0, help="random seed for data and faults")
    parser.add_argument("--tls", action="store_true", help="serve HTTPS with a locally generated certificate")
    parser.add_argument("--ca-file", default="", help="with --tls: where to write the CA certificate")


def parse_latency(spec: str) -> tuple[float, float]:
    low, _, high = str(spec).partition("-")
    return float(low or 0), float(high or low or 0)


def parse_faults(spec: str) -> dict[str, float]:
    faults: dict[str, float] = {}
    for item in filter(None, (s.strip() for s in spec.split(","))):
        kind, _, rate = item.partition("=")
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; use one of {', '.join(FAULT_KINDS)}")
        faults[kind] = float(rate)
    return faults


def common_knobs(options: dict[str, Any]) -> dict[str, Any]:
    return {
        "latency_ms": parse_latency(options.get("latency_ms", "0")),
        "limits": not options.get("no_limits", False),
        "faults": parse_faults(options.get("faults", "")),
        "seed": options.get("seed", 0),
    }


def unique_everseen(items: Iterable[Any]) -> list[Any]:
    seen: set = set()
    out = []
    for item in items:
        if item not in seen:
            seen.add(item)
            out.append(item)
    return out

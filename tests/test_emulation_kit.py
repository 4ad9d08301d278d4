"""The machinery every emulator shares: routing, knobs, faults, counters, serving over HTTP(S)."""

import ssl

import httpx
import pytest

from connectors.emulation import Emulator, json_response, parse_faults, parse_latency, public


class Echo(Emulator):
    system = "echo"

    def setup_routes(self):
        self.items: list = []
        self.route("GET", r"/items", lambda r: json_response({"results": self.items}), name="list")
        self.route("POST", r"/items", self._create, name="create")
        self.route("GET", r"/open", public(lambda r: json_response({"open": True})), name="open")

    def _create(self, request):
        self.items.append(request.json())
        return json_response(request.json(), 201)

    def authenticate(self, request):
        if request.headers.get("authorization") != "Bearer good":
            return self.error(401, "bad token")
        return None


def client_for(emulator: Emulator) -> httpx.Client:
    return httpx.Client(transport=emulator.transport(), base_url="http://echo.test", headers={"Authorization": "Bearer good"})


def test_routes_answer_and_unknown_paths_and_methods_are_404_and_405():
    client = client_for(Echo())
    assert client.get("/items").json() == {"results": []}
    assert client.get("/nope").status_code == 404
    assert client.delete("/items").status_code == 405


def test_authentication_is_enforced_except_on_public_handlers():
    emulator = Echo()
    anonymous = httpx.Client(transport=emulator.transport(), base_url="http://echo.test")
    assert anonymous.get("/items").status_code == 401
    assert anonymous.get("/open").status_code == 200


def test_counters_count_calls_per_route_and_successful_writes():
    emulator = Echo()
    client = client_for(emulator)
    client.post("/items", json={"a": 1})
    client.get("/items")
    client.get("/items")
    counters = emulator.counters()
    assert counters["calls"] == {"POST create": 1, "GET list": 2}
    assert counters["writes"] == 1
    assert client.get("/_emulator/counters").json()["total"] == 3
    client.post("/_emulator/reset-counters")
    assert emulator.counters()["total"] == 0


def test_faults_are_deterministic_under_a_seed():
    def outcomes(seed):
        emulator = Echo(faults={"503": 0.3, "timeout": 0.1, "drop": 0.1}, seed=seed)
        client = client_for(emulator)
        seen = []
        for _ in range(60):
            try:
                seen.append(client.get("/items").status_code)
            except httpx.TransportError as exc:
                seen.append(type(exc).__name__)
        return seen

    first = outcomes(7)
    assert first == outcomes(7)
    assert first != outcomes(8)
    assert {503, "ReadTimeout", "RemoteProtocolError", 200} <= set(first)


def test_a_timeout_after_the_effect_still_applies_the_write():
    emulator = Echo(faults={"timeout": 1.0}, seed=1)
    client = client_for(emulator)
    effects = 0
    for i in range(20):
        with pytest.raises(httpx.ReadTimeout):
            client.post("/items", json={"i": i})
        effects = len(emulator.items)
    assert 0 < effects < 20  # some timeouts happened after the write, some before


def test_serves_on_a_real_port_and_drops_connections_there_too():
    emulator = Echo(faults={"drop": 1.0})
    running = emulator.serve(port=0)
    try:
        with pytest.raises(httpx.TransportError):
            httpx.get(running.base_url + "/items", headers={"Authorization": "Bearer good"}, timeout=5)
        emulator.set_knobs(faults={})
        response = httpx.get(running.base_url + "/items", headers={"Authorization": "Bearer good"}, timeout=5)
        assert response.status_code == 200 and response.headers["content-type"].startswith("application/json")
    finally:
        running.stop()


def test_serves_https_with_a_generated_ca_that_clients_can_trust(tmp_path):
    ca = tmp_path / "ca.pem"
    running = Echo().serve(port=0, tls=True, ca_file=ca)
    try:
        assert running.base_url.startswith("https://")
        response = httpx.get(running.base_url + "/open", verify=ssl.create_default_context(cafile=str(ca)), timeout=5)
        assert response.json() == {"open": True}
        with pytest.raises(httpx.ConnectError):
            httpx.get(running.base_url + "/open", timeout=5)  # untrusted without the CA
    finally:
        running.stop()


def test_knob_specs_parse_and_bad_ones_are_refused():
    assert parse_latency("100-250") == (100.0, 250.0)
    assert parse_latency("150") == (150.0, 150.0)
    assert parse_faults("429=0.1,timeout=0.02") == {"429": 0.1, "timeout": 0.02}
    with pytest.raises(ValueError, match="unknown fault kind"):
        parse_faults("teapot=1")

"""A real daemon for the client's tests, started once per session: ``sluice sim`` (its
demo scenario: seed 000's SHORT 8,486.84 SOLUSDT with the hidden MARKET cap of 400) and
``sluice run`` against it through the real adapter, with a Postgres ledger of its own. The
simulator is a process of its own so the daemon can be killed and restarted on it.

Needs ``DATABASE_URL`` (a Postgres server; scripts/test.sh provides it), ``psql`` and the
built ``sluice`` binary (``SLUICE_BIN``, default target/debug/sluice).
"""

from __future__ import annotations

import asyncio
import json
import os
import pathlib
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from typing import Any, Awaitable, TypeVar

import pytest

from sluice_client import Client

ROOT = pathlib.Path(__file__).resolve().parents[3]
SLUICE_BIN = os.environ.get("SLUICE_BIN", str(ROOT / "target" / "debug" / "sluice"))
T = TypeVar("T")
# The simulator's demo account (`sluice_sim::DEMO_API_KEY`, as tests/interop/run.sh).
SIM_API_KEY = "sluiceDemoKey0000000000000000000000000000000000000000000000000001"
SIM_API_SECRET = "sluiceDemoSecret000000000000000000000000000000000000000000000001"
# Paper mode's scenario (src/paper.rs): seed 000's one-way SHORT 8,486.84 SOLUSDT where the
# venue enforces a MARKET cap of 400 that exchangeInfo does not publish (it shows 5,000).
SEED_000 = f"""
[[symbols]]
name = "SOLUSDT"
mark_price = "180"
step_size = "0.01"
quantity_precision = 2
min_qty = "0.01"
market_min_qty = "0.01"
market_max_qty = "5000"
hidden_market_max_qty = "400"

[[accounts]]
api_key = "{SIM_API_KEY}"
api_secret = "{SIM_API_SECRET}"
usdt = "1000000"
positions = [ {{ symbol = "SOLUSDT", side = "SHORT", quantity = "8486.84", entry_price = "180" }} ]
"""


def run(coro: Awaitable[T]) -> T:
    return asyncio.run(coro)  # type: ignore[arg-type]


class Daemon:
    def __init__(self, server_url: str, state_dir: pathlib.Path) -> None:
        parts = urllib.parse.urlsplit(server_url)
        self.database = f"sluice_pyclient_{os.getpid()}"
        self.server_url = server_url
        self.database_url = urllib.parse.urlunsplit(parts._replace(path="/" + self.database))
        self.ledger_url = self.database_url
        self.state_dir = state_dir
        self.log: list[str] = []
        self.api: str | None = None
        self.simulator: str | None = None
        self.sim_process: subprocess.Popen[str] | None = None
        self.process: subprocess.Popen[str] | None = None

    def psql(self, url: str, sql: str) -> str:
        out = subprocess.run(["psql", url, "-qAtc", sql], check=True, capture_output=True, text=True)
        return out.stdout.strip()

    def create(self) -> None:
        self.drop()
        self.psql(self.server_url, f"CREATE DATABASE {self.database}")

    def drop(self) -> None:
        self.psql(self.server_url, f"DROP DATABASE IF EXISTS {self.database} WITH (FORCE)")

    def start_simulator(self) -> None:
        scenario = self.state_dir / "seed-000.toml"
        scenario.write_text(SEED_000, encoding="utf-8")
        self.sim_process = subprocess.Popen(
            [SLUICE_BIN, "sim", "--listen", "127.0.0.1:0", "--scenario", str(scenario)],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
        assert self.sim_process.stdout is not None
        line = self.sim_process.stdout.readline().strip()
        if not line.startswith("listening on http://"):
            self.sim_process.kill()
            raise RuntimeError(f"sluice sim did not start: {line!r}")
        self.simulator = line.removeprefix("listening on ")
        threading.Thread(target=self.sim_process.stdout.read, daemon=True).start()

    def start(self) -> None:
        env = dict(os.environ)
        env.update(
            DATABASE_URL=self.database_url,
            STATE_DIRECTORY=str(self.state_dir),
            SLUICE__API__LISTEN=self.api or "127.0.0.1:0",
            SLUICE__BUDGET__ALLOCATION_USDT="500000",
            SLUICE__EXCHANGE__VENUE="custom",
            SLUICE__EXCHANGE__REST_URL=self.simulator or "",
            SLUICE__EXCHANGE__WS_URL=(self.simulator or "").replace("http://", "ws://"),
            SLUICE__EXCHANGE__API_KEY=SIM_API_KEY,
            SLUICE__EXCHANGE__API_SECRET=SIM_API_SECRET,
            # Fast leader checks keep the grace after a SIGKILL short (as DaemonProc).
            SLUICE__DAEMON__LEADER_CHECK_MS="200",
            SLUICE__DAEMON__LEADER_CHECK_TIMEOUT_MS="1000",
            SLUICE__EXCHANGE__RECV_WINDOW_MS="2000",
            SLUICE__TELEMETRY__LOG_FILTER="info,sqlx=warn",
        )
        for k in ("SLUICE__API__TOKEN", "SLUICE__API__TOKEN_FILE", "RUST_LOG"):
            env.pop(k, None)
        self.process = subprocess.Popen(
            [SLUICE_BIN, "--log-format", "json", "run"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        found = threading.Event()
        threading.Thread(target=self._read, args=(self.process, found), daemon=True).start()
        if not found.wait(60):
            self.stop()
            raise RuntimeError("sluice did not serve its API within 60 s:\n" + "\n".join(self.log[-30:]))
        self._wait_ready()

    def _read(self, process: subprocess.Popen[str], found: threading.Event) -> None:
        assert process.stderr is not None
        for line in process.stderr:
            self.log.append(line.rstrip())
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if record.get("message") == "control API serving":
                self.api = record["api"]
                found.set()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/readyz", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError("sluice was not ready within 60 s:\n" + "\n".join(self.log[-30:]))

    @property
    def url(self) -> str:
        return f"http://{self.api}"

    @property
    def token_file(self) -> pathlib.Path:
        return self.state_dir / "control.token"

    def stop(self, kill: bool = False) -> None:
        if self.process is None:
            return
        if kill:
            self.process.kill()
        else:
            self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
        self.process = None

    def sim_admin(self, method: str, path: str, body: dict[str, Any]) -> None:
        """The simulator's admin API (`/sim/faults`...)."""
        assert self.simulator, "the simulator's address was not logged"
        request = urllib.request.Request(
            self.simulator + path, method=method, data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as r:
            assert r.status < 300, r.status

    def client(self, **options: Any) -> Client:
        return Client(self.url, token_file=str(self.token_file), **options)


@pytest.fixture(scope="session")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Any:
    server = os.environ.get("DATABASE_URL")
    if not server:
        pytest.fail("DATABASE_URL must name a Postgres server (scripts/test.sh sets it)")
    d = Daemon(server, tmp_path_factory.mktemp("state"))
    d.create()
    try:
        d.start_simulator()
        d.start()
        yield d
    finally:
        d.stop()
        if d.sim_process is not None:
            d.sim_process.terminate()
            d.sim_process.wait(10)
        d.drop()


@pytest.fixture
def flat(daemon: Daemon) -> Daemon:
    """The daemon with no open position (the seed-000 SHORT closed, if a test before did
    not), so opens fit the budget."""

    async def close_all() -> None:
        async with daemon.client() as api:
            for p in (await api.positions()).positions:
                intent = await api.close_position(position_id=p.id, reason="test set-up")
                ended = await api.wait(intent.id, timeout=120)
                assert ended.state == "done", ended

    asyncio.run(close_all())
    return daemon

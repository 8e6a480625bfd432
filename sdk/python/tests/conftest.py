"""A real Cairn server for the session (fresh data dir, free port), tokens for the demo users, and a TCP proxy
that drops a log stream once. CAIRN_SDK_TEST_URL uses a running server instead; CAIRN_SDK_TEST_ROOT names the
repository with a production build (default: the repository these tests sit in). CAIRN_SDK_KEEP_DATA keeps the
server's data dir (and its server.log) after the session."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional

import httpx
import pytest

from cairn import Cairn
from cairn.auth import mint_token

REPO = Path(__file__).resolve().parents[3]
PASSWORD = "cairn-demo"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    external = os.environ.get("CAIRN_SDK_TEST_URL")
    if external:
        yield external.rstrip("/")
        return
    root = Path(os.environ.get("CAIRN_SDK_TEST_ROOT") or REPO)
    if not (root / ".next" / "BUILD_ID").exists():
        pytest.exit(f"{root} has no production build (.next/BUILD_ID): run `npm run build` there, or set CAIRN_SDK_TEST_ROOT / CAIRN_SDK_TEST_URL", 2)
    port = free_port()
    data = tempfile.mkdtemp(prefix="cairn-sdk-test-")
    env = {**os.environ, "CAIRN_DATA_DIR": data, "PORT": str(port), "NEXTAUTH_SECRET": "sdk-test-secret-" + "x" * 32,
           "AUTH_TRUST_HOST": "true", "CAIRN_PROMETHEUS": "off", "NODE_ENV": "production"}
    log = open(Path(data) / "server.log", "w")
    proc = subprocess.Popen(["node", str(root / "node_modules" / "next" / "dist" / "bin" / "next"), "start", "-p", str(port)],
                            cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the Cairn server exited with {proc.returncode}; see {data}/server.log")
            try:
                if httpx.get(f"{url}/api/health", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the Cairn server did not answer /api/health in 180 s; see {data}/server.log")
            time.sleep(0.5)
        yield url
    finally:
        # The server's own process group (it was started in a new session): next and the job sandboxes it spawned.
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        log.close()
        if not os.environ.get("CAIRN_SDK_KEEP_DATA"):
            shutil.rmtree(data, ignore_errors=True)


@pytest.fixture(scope="session")
def token_for(server_url: str) -> Callable[..., str]:
    """token_for(email, team) — an API token minted by signing in as that demo user (cached per session)."""
    cache: Dict[tuple, str] = {}

    def get(email: str, team: str) -> str:
        if (email, team) not in cache:
            cache[(email, team)] = str(mint_token(server_url, email, PASSWORD, team, name="sdk-tests")["token"])
        return cache[(email, team)]

    return get


@pytest.fixture(scope="session")
def ds(server_url: str, token_for: Callable[..., str]) -> Cairn:
    """ds@example.com, data scientist in churn."""
    return Cairn(server_url, token_for("ds@example.com", "churn"))


@pytest.fixture(scope="session")
def mle(server_url: str, token_for: Callable[..., str]) -> Cairn:
    return Cairn(server_url, token_for("mle@example.com", "churn"))


@pytest.fixture(scope="session")
def lead(server_url: str, token_for: Callable[..., str]) -> Cairn:
    return Cairn(server_url, token_for("lead@example.com", "churn"))


@pytest.fixture(scope="session")
def fraud(server_url: str, token_for: Callable[..., str]) -> Cairn:
    """ds.fraud@example.com, data scientist in fraud: another team."""
    return Cairn(server_url, token_for("ds.fraud@example.com", "fraud"))


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    """A small training folder: train.py prints LINES numbered lines (PAUSE s apart), then fails when FAIL is set (FAIL=raise: with a traceback);
    it also lists the files it was given, so a test sees what the .gitignore left out."""
    (tmp_path / "train.py").write_text(
        "import os, sys, time\n"
        "print('files:', ' '.join(sorted(os.path.relpath(os.path.join(d, f), '.') for d, _, fs in os.walk('.') for f in fs)), flush=True)\n"
        "for i in range(int(os.environ.get('LINES', '3'))):\n"
        "    print(f'line {i}', flush=True)\n"
        "    time.sleep(float(os.environ.get('PAUSE', '0')))\n"
        "if os.environ.get('FAIL') == 'raise':\n"
        "    raise ValueError('bad data: column tenure is missing')\n"
        "if os.environ.get('FAIL'):\n"
        "    sys.exit('bad data: column tenure is missing')\n"
    )
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "util.py").write_text("X = 1\n")
    (tmp_path / "lib" / "scratch.tmp").write_text("nested ignore\n")
    (tmp_path / "lib" / ".gitignore").write_text("*.tmp\n")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "big.csv").write_text("a,b\n1,2\n")
    (tmp_path / ".gitignore").write_text("data/\n*.log\n")
    (tmp_path / "run.log").write_text("old\n")
    (tmp_path / "requirements.txt").write_text("# nothing to install\n")
    return tmp_path


class DroppingProxy:
    """Forwards TCP to the server; the first log stream (`/logs?follow=true`) it carries is cut right after the
    first log event reaches the client, as a load balancer or a flaky network would."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = int(self.sock.getsockname()[1])
        self.drops = 0
        self.stream_requests: List[bytes] = []
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self._closed = True
        self.sock.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            state = {"drop": False}
            threading.Thread(target=self._up, args=(client, upstream, state), daemon=True).start()
            threading.Thread(target=self._down, args=(upstream, client, state), daemon=True).start()

    def _up(self, client: socket.socket, upstream: socket.socket, state: Dict[str, bool]) -> None:
        try:
            while chunk := client.recv(65536):
                if b"/logs?follow=true" in chunk:
                    self.stream_requests.append(chunk)
                    if self.drops == 0:
                        state["drop"] = True
                upstream.sendall(chunk)
        except OSError:
            pass
        finally:
            _close(upstream)

    def _down(self, upstream: socket.socket, client: socket.socket, state: Dict[str, bool]) -> None:
        seen = b""
        try:
            while chunk := upstream.recv(65536):
                client.sendall(chunk)
                if state["drop"]:
                    seen += chunk
                    at = seen.find(b"id: ")
                    if at >= 0 and seen.find(b"\n\n", at) >= 0:
                        self.drops += 1
                        state["drop"] = False
                        break
        except OSError:
            pass
        finally:
            _close(client)
            _close(upstream)


def _close(s: socket.socket) -> None:
    try:
        s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    s.close()


@pytest.fixture()
def dropping_proxy(server_url: str) -> Iterator[DroppingProxy]:
    proxy = DroppingProxy(int(server_url.rsplit(":", 1)[1]))
    yield proxy
    proxy.close()


@pytest.fixture()
def isolated_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No CAIRN_URL/CAIRN_TOKEN from the environment; the CLI's config file in a temp folder."""
    path = tmp_path / "cfg" / "config.json"
    monkeypatch.setenv("CAIRN_CONFIG", str(path))
    monkeypatch.delenv("CAIRN_URL", raising=False)
    monkeypatch.delenv("CAIRN_TOKEN", raising=False)
    return path


def wait_until(predicate: Callable[[], bool], timeout: float = 60, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.5)


def first(items: Iterator, default: Optional[object] = None):  # type: ignore[no-untyped-def]
    return next(iter(items), default)

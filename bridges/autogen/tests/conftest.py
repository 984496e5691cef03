"""A real nats-server for the bridge's tests (never a mock), found like
scripts/tools/ensure-tool.ts finds it, with the fabric's streams provisioned by the TypeScript
code that defines them (dist/scripts/provision.js)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
NATS_VERSION = "v2.14.5"


def find_nats_server() -> str:
    env = os.environ.get("NATS_SERVER_BIN")
    if env:
        return env
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "streamfabric" / "bin"
    cached = cache / f"nats-server-{NATS_VERSION}"
    if cached.exists():
        return str(cached)
    on_path = shutil.which("nats-server")
    if on_path:
        return on_path
    pytest.fail(
        f"nats-server not found: set NATS_SERVER_BIN, or run `npm test` once "
        f"(it builds {NATS_VERSION} into {cache})",
        pytrace=False,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_tcp(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nats-server did not listen on {port}")


@pytest.fixture(scope="session")
def nats_url() -> str:
    provision = REPO / "dist" / "scripts" / "provision.js"
    if not provision.exists():
        pytest.fail("dist/scripts/provision.js is missing: run `npm run build` first", pytrace=False)
    store = tempfile.mkdtemp(prefix="sf-pytest-nats-")
    port = free_port()
    proc = subprocess.Popen(
        [find_nats_server(), "-js", "-sd", store, "-a", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_tcp(port)
        url = f"nats://127.0.0.1:{port}"
        subprocess.run(
            ["node", str(provision)],
            env={**os.environ, "NATS_URL": url, "STREAM_LOG_LEVEL": "warn"},
            check=True,
            timeout=60,
        )
        yield url
    finally:
        proc.kill()
        proc.wait()
        shutil.rmtree(store, ignore_errors=True)

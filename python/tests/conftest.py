"""Shared fixtures: the fakegpt binary and emulators it starts."""

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def fakegpt_bin() -> str:
    path = os.environ.get("FAKEGPT_BIN", str(ROOT / "target" / "debug" / "fakegpt"))
    if not Path(path).exists():
        pytest.exit(f"{path} not found: build it first (cargo build) or set FAKEGPT_BIN", returncode=2)
    return path


class Server:
    """A `fakegpt` server process on a free loopback port (it prints its URL
    first), killed at the end."""

    def __init__(self, *args: str, env_extra=None):
        env = {k: v for k, v in os.environ.items() if not k.startswith("FAKEGPT_")}
        env["FAKEGPT_CONFIG"] = "/dev/null"  # no config file of the machine's user
        env.update(env_extra or {})
        self.process = subprocess.Popen(
            [fakegpt_bin(), *args, "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        line = self.process.stdout.readline().strip()
        assert line.startswith("http://127.0.0.1:"), line
        self.url = line

    def stop(self):
        self.process.kill()
        self.process.wait(timeout=10)


@pytest.fixture
def server_factory():
    started = []

    def start(*args: str, env_extra=None) -> Server:
        server = Server(*args, env_extra=env_extra)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


class Upstream(Server):
    """`fakegpt upstream` on a free loopback port."""

    def __init__(self, *args: str):
        super().__init__("upstream", *args)
        # aiohttp's default cookie jar ignores cookies from IP hosts.
        self.localhost_url = self.url.replace("127.0.0.1", "localhost")


@pytest.fixture
def upstream_factory():
    started = []

    def start(*args: str) -> Upstream:
        upstream = Upstream(*args)
        started.append(upstream)
        return upstream

    yield start
    for upstream in started:
        upstream.stop()


def fakegpt_chat(url: str, prompt: str, *args: str) -> subprocess.CompletedProcess:
    """Runs `fakegpt chat` against `url`; bounded in time."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAKEGPT_")}
    env["FAKEGPT_CONFIG"] = "/dev/null"  # no config file of the machine's user
    return subprocess.run(
        [fakegpt_bin(), "chat", "--base-url", url, *args, prompt],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )

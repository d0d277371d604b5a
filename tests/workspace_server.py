"""A workspace served on 127.0.0.1 over a simulated few days, for the
browser tests and the workspace tests (shared: simulating takes seconds)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn

from clearway.api import create_app
from clearway.cli.demo_week import demo_officer, run_demo
from clearway.settings import Settings
from clearway.store import open_engine


@dataclass(frozen=True)
class Workspace:
    base: str
    password: str
    settings: Settings


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def folder_settings(folder: Path, **overrides: Any) -> Settings:
    """Settings whose store, keys and rules all live in ``folder``."""
    values: dict[str, Any] = {
        "database_url": f"sqlite:///{folder / 'clearway.db'}",
        "ledger_key_file": str(folder / "ledger.key"),
        "classifier_model_file": str(folder / "none.npz"),
        "risk_model_file": str(folder / "none.json"),
        "risk_rules_file": str(folder / "rules.yaml"),
        "workers": 0,
    }
    return Settings(**(values | overrides))


def simulated_settings(folder: Path) -> Settings:
    settings = folder_settings(folder)
    from importlib import resources

    (folder / "rules.yaml").write_text(
        resources.files("clearway.risk").joinpath("data/rules.yaml").read_text()
    )
    run_demo(settings, days=3, per_day=250, seed=11)
    return settings


@contextmanager
def serving(settings: Settings) -> Iterator[Workspace]:
    engine = open_engine(settings.database_url)
    password = demo_officer(engine)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, engine=engine), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the workspace did not start")
        time.sleep(0.05)
    try:
        yield Workspace(f"http://127.0.0.1:{port}", password, settings)
    finally:
        server.should_exit = True
        thread.join(timeout=10)

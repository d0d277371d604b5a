"""How `clearway serve` runs uvicorn: what it passes is what uvicorn takes."""

from __future__ import annotations

import inspect

import uvicorn

from clearway.api.serving import uvicorn_options
from clearway.settings import Settings


def test_workers_have_a_minute_to_answer_the_supervisors_health_ping() -> None:
    # uvicorn's default, 5 s, killed every worker still starting on a
    # loaded 2-core machine, and the replacements too.
    options = uvicorn_options(Settings())
    assert options["timeout_worker_healthcheck"] == 60
    assert set(options) <= set(inspect.signature(uvicorn.run).parameters)

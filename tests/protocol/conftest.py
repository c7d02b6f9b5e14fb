"""Protocol ring: every test here runs once per Python that Splunk ships (3.9 and 3.13)."""

from __future__ import annotations

import pytest

from devtools.scp import RUNTIMES, runtime


@pytest.fixture(params=sorted(RUNTIMES), ids=lambda v: f"py{v}")
def splunk_python(request: pytest.FixtureRequest) -> str:
    exe = runtime(request.param)
    if exe is None:
        pytest.skip(f"Python {RUNTIMES[request.param]} is not installed under pyenv on this machine")
    return exe

"""Interop fixtures: the simulator's address and the account come from the environment
set by run.sh (or by tests/sim_interop.rs): SIM_URL, SIM_WS, SIM_API_KEY, SIM_API_SECRET."""
import os

import pytest


@pytest.fixture(scope="session")
def sim():
    return {
        "url": os.environ["SIM_URL"],
        "ws": os.environ["SIM_WS"],
        "key": os.environ["SIM_API_KEY"],
        "secret": os.environ["SIM_API_SECRET"],
    }

"""The daily cycle on a REAL local Ray instance: the same cases as the local engine (tests/test_cycle.py).

One Ray instance serves the module (starting one costs seconds); the cycle finds it initialised and its Ray driver
process joins it without shutting it down, as it would join a cluster given by --ray-address.
"""

from __future__ import annotations

import shutil
import tempfile

import pytest

from core.store.workspace import Workspace
from tests.test_cycle import CASES

pytestmark = pytest.mark.slow  # a local Ray instance

ray = pytest.importorskip("ray", reason="ray is not installed (make test installs it)")


@pytest.fixture(scope="module")
def ray_instance():
    """A private two-CPU local Ray instance (no dashboard, small object store, its own temp folder)."""
    from core.fleet.engines import RAY_OBJECT_STORE_BYTES

    temp = tempfile.mkdtemp(prefix="ray-", dir="/tmp")
    try:
        ray.init(
            address="local",
            num_cpus=2,
            include_dashboard=False,
            log_to_driver=False,
            object_store_memory=RAY_OBJECT_STORE_BYTES,
            _temp_dir=temp,
        )
    except Exception as exc:  # noqa: BLE001 - any start-up failure is a reason to skip, said in words
        shutil.rmtree(temp, ignore_errors=True)
        pytest.skip(f"a local Ray instance cannot start here: {exc}")
    yield ray
    ray.shutdown()
    shutil.rmtree(temp, ignore_errors=True)  # a test run leaves no /tmp/ray-* behind either


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.__name__.removeprefix("check_"))
def test_cycle_ray(case, ray_instance, tmp_path):
    """Every case of the local engine, with Ray tasks (max_calls=1, retried when their worker dies)."""
    case(Workspace(tmp_path / "ws"), tmp_path, "ray")
    assert ray_instance.is_initialized()  # the cycle joined the running instance and left it running


def test_ray_engine_starts_its_own_instance(tmp_path):
    """Without a running instance or an address, --engine ray starts a local one and shuts it down after."""
    from tests.test_cycle import check_json

    if ray.is_initialized():
        ray.shutdown()
    check_json(Workspace(tmp_path / "ws"), tmp_path, "ray")
    assert not ray.is_initialized()

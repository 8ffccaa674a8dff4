import os
from types import SimpleNamespace

import pytest

from ood_fixtures.plugin import environment


@pytest.fixture
def clean_thread_environment(monkeypatch):
    for name in environment.THREAD_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(4)))


def config(workers):
    return SimpleNamespace(option=SimpleNamespace(numprocesses=workers))


def test_each_worker_gets_its_share_of_the_cores(clean_thread_environment):
    environment.share_cores(config(2))
    assert {os.environ[name] for name in environment.THREAD_VARIABLES} == {"2"}


def test_more_workers_than_cores_get_one_thread_each(clean_thread_environment):
    environment.share_cores(config(8))
    assert {os.environ[name] for name in environment.THREAD_VARIABLES} == {"1"}


def test_without_workers_or_with_the_users_own_setting_nothing_changes(clean_thread_environment, monkeypatch):
    environment.share_cores(config(None))
    environment.share_cores(config(0))
    assert not any(name in os.environ for name in environment.THREAD_VARIABLES)
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    environment.share_cores(config(2))
    assert os.environ["OMP_NUM_THREADS"] == "3" and os.environ["OPENBLAS_NUM_THREADS"] == "2"

"""The public API is small and listed: ``__all__`` of each public module names exactly its
public definitions."""

from __future__ import annotations

import importlib
import inspect

import pytest

import lostbeat

MODULES = [
    "lostbeat",
    "lostbeat.errors",
    "lostbeat.analyzer.result",
    "lostbeat.analyzer.findings",
    "lostbeat.analyzer.trend",
    "lostbeat.analyzer.catalog",
    "lostbeat.analyzer.builds",
    "lostbeat.fleet.discover",
    "lostbeat.fleet.model",
    "lostbeat.fleet.runner",
    "lostbeat.fleet.store",
    "lostbeat.fleet.rollup",
    "lostbeat.fleet.summary",
    "lostbeat.heartbeat",
    "lostbeat.kernel_forms",
    "lostbeat.procfs",
    "lostbeat.procfs.formats",
    "lostbeat.procfs.reader",
    "lostbeat.safetext",
]


@pytest.mark.parametrize("name", MODULES)
def test_all_lists_the_public_definitions(name: str) -> None:
    module = importlib.import_module(name)
    defined = {
        n
        for n, obj in vars(module).items()
        if not n.startswith("_")
        and (inspect.isclass(obj) or inspect.isfunction(obj))
        and getattr(obj, "__module__", None) == name
    }
    assert defined <= set(module.__all__)
    assert list(module.__all__) == sorted(module.__all__)


def test_version() -> None:
    assert lostbeat.__version__.count(".") == 2

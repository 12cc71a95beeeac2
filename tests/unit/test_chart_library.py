"""The chart library leaves the import system as it found it (``portal.reporting.charts``)."""

from __future__ import annotations

import importlib
import sys

import pytest

import portal.reporting.charts  # noqa: F401 - imported for its effect on sys.meta_path


def test_no_legacy_import_hook_is_left_on_the_meta_path():
    assert all(hasattr(finder, "find_spec") for finder in sys.meta_path), sys.meta_path


def test_a_missing_optional_module_still_raises_import_error():
    with pytest.raises(ImportError):
        importlib.import_module("portal_no_such_module_for_the_test")

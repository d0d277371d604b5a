"""Every error has the one JSON shape {"ok": false, "errors": [...], "status"}."""

from __future__ import annotations

import pytest

import clearway.errors as errors_module
from clearway.errors import ClearwayError, ErrorDetail

ERROR_CLASSES = [
    obj
    for obj in vars(errors_module).values()
    if isinstance(obj, type) and issubclass(obj, ClearwayError)
]


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda c: c.__name__)
def test_error_shape(cls: type[ClearwayError]) -> None:
    for error in (
        cls("something is wrong"),
        cls("record rejected", details=[ErrorDetail("items[0].gtin", "gtin", "bad")]),
    ):
        shape = error.as_json()
        assert set(shape) == {"ok", "errors", "status"}
        assert shape["ok"] is False
        assert isinstance(shape["status"], int)
        assert 400 <= shape["status"] <= 599
        assert shape["errors"]
        for item in shape["errors"]:
            assert set(item) == {"code", "field", "message"}
            assert all(isinstance(v, str) for v in item.values())
        assert error.diagnostics()


def test_tree_is_drawn_in_the_module_docstring() -> None:
    doc = errors_module.__doc__ or ""
    for cls in ERROR_CLASSES:
        assert cls.__name__ in doc

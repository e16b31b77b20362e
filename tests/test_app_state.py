"""``api.app.AppState``: Starlette's ``app.state`` interface, its values as plain attributes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from starlette.datastructures import State

from api.app import AppState, create_app


def test_it_reads_writes_and_deletes_as_starlettes_state_does() -> None:
    ours, theirs = AppState(), State()
    for state in (ours, theirs):
        state.settings = "s"
        state.store = None
        assert (state.settings, state.store) == ("s", None)
        assert getattr(state, "answers", "absent") == "absent"
        with pytest.raises(AttributeError, match="no attribute 'answers'"):
            _ = state.answers
        del state.settings
        assert not hasattr(state, "settings")
        with pytest.raises(KeyError):
            del state.settings
    assert set(vars(ours)) == {"_state", "store"}  # its values are its own attributes


def test_a_read_does_not_go_through_getattr(monkeypatch: pytest.MonkeyPatch) -> None:
    state = AppState()
    state.store = "kept"
    calls: list[str] = []
    original = State.__getattr__

    def counted(self: State, key: str) -> Any:
        calls.append(key)
        return original(self, key)

    monkeypatch.setattr(State, "__getattr__", counted)
    assert state.store == "kept"
    assert calls == []  # an ordinary attribute: no failed lookup first
    assert getattr(state, "missing", None) is None
    assert calls == ["missing"]


def test_the_app_uses_it(mini_store: Path, settings_for: Any) -> None:
    app = create_app(settings_for(mini_store))
    assert isinstance(app.state, AppState)
    assert app.state.settings.store == mini_store

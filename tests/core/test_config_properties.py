"""Property tests of config parsing: any file is valid, or its every problem names file, line and field."""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pulse_supervisor.core.config.config_dump import dump_config
from pulse_supervisor.core.config.spec_checks import SPEC_FIELDS
from pulse_supervisor.core.config.toml_file import parse_config
from pulse_supervisor.core.errors import ConfigError
from pulse_supervisor.core.spec import PulseConfig

PATH = "fuzzed.toml"
KEYS = st.sampled_from([*SPEC_FIELDS, "colour", "stop_timout", "", "a b", "ü"])
SCALARS = st.one_of(
    st.none(),  # left out below: TOML has no null
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(
        ["pulse_supervisor.producers:counter", "tests.workers:accepts_anything", "no.such:thing", "bad target"]
    ),
    st.just(dt.datetime(2026, 12, 1, 12, 0)),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)


def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return {"nan": "nan", "inf": "inf", "-inf": "-inf"}.get(str(value), repr(value))
    if isinstance(value, (int, dt.datetime)):
        return value.isoformat() if isinstance(value, dt.datetime) else str(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value if v is not None) + "]"
    if isinstance(value, dict):
        items = [f"{toml_value(str(k))} = {toml_value(v)}" for k, v in value.items() if v is not None]
        return "{ " + ", ".join(items) + " }"
    return '""'


@st.composite
def documents(draw) -> str:
    lines: list[str] = []
    if draw(st.booleans()):
        lines += [
            "[pulse]",
            f"start_method = {toml_value(draw(st.sampled_from(['forkserver', 'spawn', 'thread', 3])))}",
        ]
    for _ in range(draw(st.integers(0, 4))):
        lines.append("[[worker]]")
        for key, value in draw(st.dictionaries(KEYS, VALUES, max_size=6)).items():
            if value is not None:
                lines.append(f"{toml_value(key)} = {toml_value(value)}")
    if draw(st.booleans()):  # a stray line of anything: syntax errors too
        lines.insert(draw(st.integers(0, len(lines))), draw(st.text(max_size=15)))
    return "\n".join(lines) + "\n"


@settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
def test_any_document_is_valid_or_each_problem_says_where(text: str) -> None:
    try:
        cfg = parse_config(text, PATH, check_targets=False)
    except ConfigError as exc:  # nothing else may escape
        assert exc.problems
        for problem in exc.problems:
            assert problem.path == PATH and problem.field and problem.reason
            assert problem.line is not None and 1 <= problem.line <= text.count("\n") + 1, problem
        return
    assert isinstance(cfg, PulseConfig)
    assert parse_config(dump_config(cfg), PATH, check_targets=False).workers == cfg.workers  # and it round-trips


@settings(max_examples=300, deadline=None, database=None)
@given(st.text(max_size=200))
def test_any_text_at_all_is_a_config_or_a_located_error(text: str) -> None:
    try:
        parse_config(text, PATH, check_targets=False)
    except ConfigError as exc:
        assert all(p.path == PATH and p.field and p.line is not None for p in exc.problems)

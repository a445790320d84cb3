"""Tests for pulse_supervisor.core.config.toml_file: parsing, validation with line numbers, dumping, describing."""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import textwrap

import pytest

from pulse_supervisor.core.config import toml_file as config_mod
from pulse_supervisor.core.config.config_dump import dump_config
from pulse_supervisor.core.config.config_locator import TomlLocator
from pulse_supervisor.core.config.spec_checks import spec_from_call
from pulse_supervisor.core.config.toml_file import describe_worker, load_config, parse_config
from pulse_supervisor.core.errors import ConfigError, ConfigProblem
from pulse_supervisor.core.spec import DEFAULT_START_METHOD, PulseConfig, RestartPolicy, WorkerSpec

FULL = """\
# A full config.
[pulse]
start_method = "spawn"

[[worker]]
name = "clock"
target = "tests.workers:accepts_anything"
kwargs = { interval = 1.0, label = "tick", sizes = [1, 2], nested = { deep = true } }
autostart = false
restart = "always"
start_secs = 2
start_retries = 7
stop_timeout = 3.5
backoff_initial = 0.5
backoff_factor = 2
backoff_max = 30
stable_secs = 0
flap_limit = 1
flap_window = 9.5

[[worker]]
name = "second"
target = "pulse_supervisor.producers:counter"
"""


def problems_of(text: str, **kwargs: object) -> list[tuple[int | None, str, str]]:
    """Parse ``text`` expecting failure; return (line, field, reason) of each problem."""
    with pytest.raises(ConfigError) as info:
        parse_config(textwrap.dedent(text), "cfg.toml", **kwargs)  # type: ignore[arg-type]
    assert all(p.path == "cfg.toml" for p in info.value.problems)
    return [(p.line, p.field, p.reason) for p in info.value.problems]


def one_problem(text: str, **kwargs: object) -> tuple[int | None, str, str]:
    found = problems_of(text, **kwargs)
    assert len(found) == 1, found
    return found[0]


# --- valid documents -------------------------------------------------------------------


def test_full_file_parses_every_field() -> None:
    cfg = parse_config(FULL)
    assert cfg.start_method == "spawn"
    assert cfg.source is None
    assert cfg.names() == ["clock", "second"]
    assert cfg.workers[0] == WorkerSpec(
        name="clock",
        target="tests.workers:accepts_anything",
        kwargs={"interval": 1.0, "label": "tick", "sizes": [1, 2], "nested": {"deep": True}},
        autostart=False,
        restart=RestartPolicy.ALWAYS,
        start_secs=2.0,
        start_retries=7,
        stop_timeout=3.5,
        backoff_initial=0.5,
        backoff_factor=2.0,
        backoff_max=30.0,
        stable_secs=0.0,
        flap_limit=1,
        flap_window=9.5,
    )
    # ints in float fields become floats, so the spec means what its type says
    assert type(cfg.workers[0].start_secs) is float
    assert type(cfg.workers[0].start_retries) is int


def test_defaults_apply_to_omitted_keys() -> None:
    cfg = parse_config('[[worker]]\nname = "w"\ntarget = "tests.workers:accepts_anything"\n')
    assert cfg.start_method == DEFAULT_START_METHOD
    assert cfg.workers == (WorkerSpec(name="w", target="tests.workers:accepts_anything"),)


@pytest.mark.parametrize("field", [f.name for f in dataclasses.fields(WorkerSpec)][2:])
def test_every_worker_spec_field_is_a_checked_config_key(field: str) -> None:
    # A field added to WorkerSpec without a rule in config.py would let "x" through.
    text = f'[[worker]]\nname = "w"\ntarget = "tests.workers:accepts_anything"\n{field} = "x"\n'
    line, got_field, reason = one_problem(text)
    assert (line, got_field) == (4, f'worker "w".{field}')
    assert not reason.startswith("unknown key")


@pytest.mark.parametrize("text", ["", "# nothing\n", "[pulse]\n"])
def test_empty_config_is_valid(text: str) -> None:
    assert parse_config(text) == PulseConfig()


def test_load_config_reads_file_and_records_source(tmp_path) -> None:
    path = tmp_path / "pulse.toml"
    path.write_text(FULL, encoding="utf-8")
    cfg = load_config(path)
    assert cfg.source == str(path)
    assert cfg.names() == ["clock", "second"]


def test_load_config_tolerates_bom(tmp_path) -> None:
    path = tmp_path / "pulse.toml"
    path.write_bytes(b"\xef\xbb\xbf" + b'[[worker]]\nname = "w"\ntarget = "tests.workers:accepts_anything"\n')
    assert load_config(path).names() == ["w"]


def test_load_config_unreadable_file(tmp_path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(ConfigError) as info:
        load_config(missing)
    [problem] = info.value.problems
    assert problem.path == str(missing) and problem.line is None and problem.field == "file"
    assert str(missing) in problem.reason


def test_load_config_reports_path_in_problems(tmp_path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[[worker]]\nname = "w"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.problems == [ConfigProblem(str(path), 1, 'worker "w".target', "missing required key 'target'")]
    assert str(info.value) == f"{path}:1: worker \"w\".target: missing required key 'target'"


# --- syntax ------------------------------------------------------------------------------


def test_syntax_error_reports_line() -> None:
    line, field, reason = one_problem(
        """\
        [[worker]]
        name = "w"
        target = tests.workers:accepts_anything
        """
    )
    assert (line, field) == (3, "syntax")
    assert reason.startswith("invalid TOML: Invalid value")
    assert "column 10" in reason


def test_syntax_error_at_end_of_document() -> None:
    # tomllib gives no line here; the last non-blank line is where the reader should look
    line, field, reason = one_problem('[[worker]]\nname = "w"\nkwargs = { a = [1,\n\n')
    assert (line, field, reason) == (3, "syntax", "invalid TOML: Invalid value")


def test_syntax_message_without_position_is_kept_whole() -> None:
    problem = config_mod._syntax_problem("Odd failure", "a = 1", "f.toml")
    assert problem == ConfigProblem("f.toml", None, "syntax", "invalid TOML: Odd failure")


# --- unknown keys ------------------------------------------------------------------------


def test_unknown_worker_key_suggests_the_close_one() -> None:
    assert one_problem(
        """\
        [[worker]]
        name = "w"
        target = "tests.workers:accepts_anything"
        stop_timout = 3
        """
    ) == (4, 'worker "w".stop_timout', "unknown key 'stop_timout' (did you mean 'stop_timeout'?)")


def test_unknown_keys_without_suggestion_and_in_pulse_and_top_level() -> None:
    assert problems_of(
        """\
        title = "x"
        [pulse]
        start_methd = "spawn"
        [workers]
        a = 1
        [[worker]]
        name = "w"
        target = "tests.workers:accepts_anything"
        zzzz = 1
        """
    ) == [
        (1, "title", "unknown key 'title' at top level"),
        (3, "pulse.start_methd", "unknown key 'start_methd' (did you mean 'start_method'?)"),
        (4, "workers", "unknown key 'workers' (did you mean 'worker'?) at top level"),
        (9, 'worker "w".zzzz', "unknown key 'zzzz'"),
    ]


# --- types and ranges ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("assignment", "reason"),
    [
        ("start_secs = 'abc'", "expected a number, got string 'abc'"),
        ("stop_timeout = true", "expected a number, got boolean True"),
        ("start_retries = 2.5", "expected an integer, got float 2.5"),
        ("flap_limit = false", "expected an integer, got boolean False"),
        ("start_secs = -1", "must be >= 0, got -1"),
        ("stop_timeout = 0", "must be > 0, got 0"),
        ("backoff_factor = 0.5", "must be >= 1, got 0.5"),
        ("flap_limit = 0", "must be >= 1, got 0"),
        ("backoff_max = inf", "expected a finite number, got inf"),
        ("stable_secs = nan", "expected a finite number, got nan"),
        ("flap_window = 1" + "0" * 400, "number is too large"),
        ("start_retries = -1", "must be >= 0, got -1"),
        ("nice = -1", "must be >= 0, got -1"),
        ("nice = 20", "must be <= 19, got 20"),
        ("nice = 2.5", "expected an integer, got float 2.5"),
        ("sched = 'fast'", "expected one of normal, batch, idle, got string 'fast'"),
        ("sched = 3", "expected one of normal, batch, idle, got integer 3"),
        ("autostart = 1", "expected true or false, got integer 1"),
        ("autostart = 'yes'", "expected true or false, got string 'yes'"),
        (
            "restart = 'sometimes'",
            "expected one of never, on-failure, always, got string 'sometimes'",
        ),
        ("kwargs = 3", "expected a table of keyword arguments, got integer 3"),
        ("kwargs = [1]", "expected a table of keyword arguments, got array [1]"),
    ],
)
def test_wrong_type_or_range(assignment: str, reason: str) -> None:
    key = assignment.split()[0]
    text = f'[[worker]]\nname = "w"\n\n{assignment}\ntarget = "tests.workers:accepts_anything"\n'
    assert one_problem(text) == (4, f'worker "w".{key}', reason)


def test_kwargs_as_subtable_is_accepted_and_located() -> None:
    text = """\
        [[worker]]
        name = "w"
        target = "tests.workers:accepts_anything"
        [worker.kwargs]
        indent = 2
        [[worker]]
        name = "v"
        target = "tests.workers:accepts_anything"
        [worker.kwargs]
        indent = 2.5
        """
    cfg = parse_config(textwrap.dedent(text))
    assert [w.kwargs for w in cfg.workers] == [{"indent": 2}, {"indent": 2.5}]
    bad = text.replace("[worker.kwargs]\n        indent = 2.5", "kwargs = 7")
    assert one_problem(bad) == (
        9,
        'worker "v".kwargs',
        "expected a table of keyword arguments, got integer 7",
    )


def test_name_and_target_must_be_strings() -> None:
    assert problems_of('[[worker]]\nname = 1\ntarget = ["tests.workers:accepts_anything"]\n') == [
        (2, "worker[1].name", "expected a string, got integer 1"),
        (3, "worker[1].target", "expected a string, got array ['tests.workers:accepts_anything']"),
    ]


def test_empty_name() -> None:
    assert one_problem('[[worker]]\nname = "  "\ntarget = "tests.workers:accepts_anything"\n') == (
        2,
        "worker[1].name",
        "worker name must not be empty",
    )


def test_missing_name_and_target_point_at_header() -> None:
    assert problems_of(
        """\
        [[worker]]
        name = "ok"
        target = "tests.workers:accepts_anything"

        [[worker]]
        autostart = false
        """
    ) == [
        (5, "worker[2].name", "missing required key 'name'"),
        (5, "worker[2].target", "missing required key 'target'"),
    ]


def test_worker_must_be_array_of_tables() -> None:
    assert one_problem("worker = 3\n") == (1, "worker", "expected [[worker]] tables, got integer 3")
    assert one_problem("worker = [1]\n") == (1, "worker[1]", "expected a table, got integer 1")


def test_inline_array_of_worker_tables_is_accepted() -> None:
    cfg = parse_config('worker = [{ name = "a", target = "tests.workers:accepts_anything" }]\n')
    assert cfg.names() == ["a"]


# --- start method ----------------------------------------------------------------------------


def test_bad_start_method() -> None:
    assert one_problem('[pulse]\n\nstart_method = "thread"\n') == (
        3,
        "pulse.start_method",
        "expected one of forkserver, spawn, fork, got string 'thread'",
    )
    assert one_problem("[pulse]\nstart_method = 1\n")[2].endswith("got integer 1")
    assert one_problem('pulse = "spawn"\n') == (1, "pulse", "expected a table, got string 'spawn'")


def test_start_method_unavailable_on_platform(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    assert one_problem('[pulse]\nstart_method = "fork"\n') == (
        2,
        "pulse.start_method",
        "start method 'fork' is not available on this platform",
    )


# --- targets -----------------------------------------------------------------------------------


def test_target_module_cannot_be_imported() -> None:
    line, field, reason = one_problem('[[worker]]\nname = "w"\ntarget = "no_such_mod_xyz:f"\n')
    assert (line, field) == (3, 'worker "w".target')
    assert reason.startswith("cannot import module 'no_such_mod_xyz'")


def test_target_callable_missing() -> None:
    assert one_problem('[[worker]]\nname = "w"\ntarget = "json:nope"\n') == (
        3,
        'worker "w".target',
        "module 'json' has no attribute 'nope'",
    )


@pytest.mark.parametrize("target", ["json", "json:", ":dumps", "json: dumps"])
def test_malformed_target(target: str) -> None:
    line, field, reason = one_problem(f'[[worker]]\nname = "w"\ntarget = "{target}"\n')
    assert (line, field) == (3, 'worker "w".target')
    assert reason == f"target {target!r} must look like 'package.module:callable'"


def test_check_targets_false_skips_import_but_checks_shape() -> None:
    cfg = parse_config('[[worker]]\nname = "w"\ntarget = "no_such_mod_xyz:f"\n', check_targets=False)
    assert cfg.workers[0].target == "no_such_mod_xyz:f"
    reason = one_problem('[[worker]]\nname = "w"\ntarget = "nocolon"\n', check_targets=False)[2]
    assert "must look like" in reason


# --- duplicates and many problems at once ------------------------------------------------------


def test_duplicate_names_point_at_the_second() -> None:
    assert one_problem(
        """\
        [[worker]]
        name = "clock"
        target = "tests.workers:accepts_anything"

        [[worker]]
        name = "other"
        target = "tests.workers:accepts_anything"

        [[worker]]
        target = "tests.workers:accepts_anything"
        name = "clock"
        """
    ) == (
        11,
        "worker[3].name",
        "duplicate worker name 'clock' (first used by worker[1], line 2)",
    )


def test_all_problems_reported_at_once_in_line_order() -> None:
    found = problems_of(
        """\
        bogus = 1
        [pulse]
        start_method = "thread"

        [[worker]]
        name = "a"
        target = "json:nope"
        start_secs = "x"

        [[worker]]
        target = "no_such_mod_xyz:f"
        restart = "sometimes"

        [[worker]]
        name = "a"
        target = "tests.workers:accepts_anything"
        stop_timout = 1
        """
    )
    assert [(line, field) for line, field, _ in found] == [
        (1, "bogus"),
        (3, "pulse.start_method"),
        (7, 'worker "a".target'),
        (8, 'worker "a".start_secs'),
        (10, "worker[2].name"),
        (11, "worker[2].target"),
        (12, "worker[2].restart"),
        (15, "worker[3].name"),
        (17, "worker[3].stop_timout"),
    ]


# --- the line locator -----------------------------------------------------------------------------


def test_locator_skips_strings_comments_and_multiline_values() -> None:
    text = textwrap.dedent(
        '''\
        [[worker]]  # header comment
        "name" = "a"   # quoted key
        target = "tests.workers:accepts_anything"
        kwargs.doc = """
        start_secs = 1
        [[worker]]
        """
        kwargs.'odd key' = [
          [1, 2],
          "]",
        ]
        kwargs.s = 'it"s [not] a # comment'
        'start_secs' = "late"
        '''
    )
    loc = TomlLocator(text)
    assert loc.line("worker", 1) == 1
    assert loc.line("worker", 1, "name") == 2
    assert loc.line("worker", 1, "kwargs") == 4
    assert loc.line("worker", 1, "kwargs", "odd key") == 8
    assert loc.line("worker", 1, "start_secs") == 13
    assert loc._arrays == {("worker",): 1}  # the header inside the string was not counted
    assert loc.line("worker", 1, "missing") == 1  # falls back to the header
    assert loc.line("nothing") is None
    assert problems_of(text) == [(13, 'worker "a".start_secs', "expected a number, got string 'late'")]


def test_locator_handles_quoted_headers_and_escapes() -> None:
    loc = TomlLocator('[ "worker" ]\nx = 1\n[["a\\"b"]]\ny = 2\n[["a\\"b"]]\ny = 3\n')
    assert loc.line("worker", "x") == 2
    assert loc.line('a"b', 1, "y") == 4
    assert loc.line('a"b', 2, "y") == 6


# --- dump and round trip --------------------------------------------------------------------------


def test_dump_default_worker_is_minimal() -> None:
    cfg = PulseConfig(workers=(WorkerSpec(name="w", target="tests.workers:accepts_anything"),))
    assert dump_config(cfg) == '[[worker]]\nname = "w"\ntarget = "tests.workers:accepts_anything"\n'
    assert dump_config(PulseConfig()) == ""


def test_dump_round_trips_full_config() -> None:
    cfg = parse_config(FULL)
    text = dump_config(cfg)
    assert "[pulse]" in text and 'restart = "always"' in text
    assert "backoff_factor = 2.0" in text
    assert parse_config(text) == cfg


def test_nice_defaults_to_zero_and_round_trips() -> None:
    cfg = parse_config('[[worker]]\nname = "a"\ntarget = "pulse_supervisor.producers:clock"\nnice = 7\n')
    assert cfg.workers[0].nice == 7
    text = dump_config(cfg)
    assert "nice = 7" in text and parse_config(text) == cfg
    plain = parse_config('[[worker]]\nname = "a"\ntarget = "pulse_supervisor.producers:clock"\n')
    assert plain.workers[0].nice == 0 and "nice" not in dump_config(plain)


def test_sched_defaults_to_normal_and_round_trips() -> None:
    cfg = parse_config('[[worker]]\nname = "a"\ntarget = "pulse_supervisor.producers:clock"\nsched = "idle"\n')
    assert cfg.workers[0].sched == "idle"
    text = dump_config(cfg)
    assert 'sched = "idle"' in text and parse_config(text) == cfg
    plain = parse_config('[[worker]]\nname = "a"\ntarget = "pulse_supervisor.producers:clock"\n')
    assert plain.workers[0].sched == "normal" and "sched" not in dump_config(plain)


def test_argv_is_a_list_of_strings_and_round_trips() -> None:
    cfg = parse_config(
        '[[worker]]\nname = "a"\ntarget = "pulse_supervisor.producers:clock"\nargv = ["--symbol", "EUR USD", ""]\n'
    )
    assert cfg.workers[0].argv == ("--symbol", "EUR USD", "")  # a tuple: the spec is immutable
    text = dump_config(cfg)
    assert 'argv = ["--symbol", "EUR USD", ""]' in text and parse_config(text) == cfg
    plain = parse_config('[[worker]]\nname = "a"\ntarget = "pulse_supervisor.producers:clock"\n')
    assert plain.workers[0].argv == () and "argv" not in dump_config(plain)
    assert "argv=['--symbol', 'EUR USD', '']" in describe_worker(cfg.workers[0])  # what --check prints


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ('"--symbol EURUSD"', "expected an array of strings (the worker's sys.argv[1:]), got string '--symbol EURUSD'"),
        ('["--count", 3]', "argv[1]: expected a string, got integer 3"),
        ('["a\\u0000b"]', "argv[0]: a command-line argument cannot contain NUL"),
    ],
)
def test_a_bad_argv_is_named_with_its_line(value: str, reason: str) -> None:
    text = f'[[worker]]\nname = "a"\ntarget = "pulse_supervisor.producers:clock"\nargv = {value}\n'
    assert one_problem(text) == (4, 'worker "a".argv', reason)


TRICKY = [
    'quote " and backslash \\ and \\n literal',
    "tab\tnewline\nreturn\rbell\x07del\x7f",
    "unicode ü 日本 🎉 and '''triple''' \"\"\" quotes",
    "# not a comment [not = a header]",
    "",
]


def test_dump_round_trips_tricky_strings_and_values() -> None:
    kwargs = {
        "plain": TRICKY,
        "needs quotes": {"a.b": 1, "": "empty key", "ключ": TRICKY[1]},
        "numbers": [0, -5, 1.5, 1e300, -0.0, 1e-7, 2**62],
        "flags": [True, False],
        "nested": {"list": [[1, 2], [{"x": "y"}]], "empty": {}, "none": []},
    }
    cfg = PulseConfig(
        workers=(
            WorkerSpec(name=TRICKY[0], target="tests.workers:accepts_anything", kwargs=kwargs, stop_timeout=7),
            WorkerSpec(name=TRICKY[2], target="pulse_supervisor.producers:counter", restart=RestartPolicy.NEVER),
        ),
        start_method="spawn" if DEFAULT_START_METHOD != "spawn" else "fork",
    )
    if cfg.start_method not in multiprocessing.get_all_start_methods():
        cfg = dataclasses.replace(cfg, start_method=DEFAULT_START_METHOD)
    assert parse_config(dump_config(cfg)) == cfg


def test_dump_rejects_values_toml_cannot_hold() -> None:
    cfg = PulseConfig(workers=(WorkerSpec(name="w", target="tests.workers:accepts_anything", kwargs={"x": None}),))
    with pytest.raises(TypeError, match="NoneType"):
        dump_config(cfg)


def test_dump_then_load_from_file(tmp_path) -> None:
    cfg = PulseConfig(workers=(WorkerSpec(name="w", target="tests.workers:accepts_anything", kwargs={"s": 'a"b'}),))
    path = tmp_path / "out.toml"
    path.write_text(dump_config(cfg), encoding="utf-8")
    assert dataclasses.replace(load_config(path), source=None) == cfg


# --- describe -------------------------------------------------------------------------------------


def test_describe_worker() -> None:
    spec = WorkerSpec(name="clock", target="pulse_supervisor.producers:clock", kwargs={"interval": 1.0})
    assert describe_worker(spec) == (
        "clock  pulse_supervisor.producers:clock  kwargs={'interval': 1.0}  restart=on-failure autostart=yes"
    )
    quiet = WorkerSpec(name="q", target="m:f", autostart=False, restart=RestartPolicy.NEVER)
    assert describe_worker(quiet) == "q  m:f  restart=never autostart=no"


@pytest.mark.parametrize("field", ["start_secs", "stop_timeout", "backoff_max", "flap_window"])
def test_durations_past_what_timers_take_are_refused(field):
    text = f'[[worker]]\nname = "w"\ntarget = "pulse_supervisor.producers:counter"\n{field} = 1e8\n'
    with pytest.raises(ConfigError) as info:
        parse_config(text, "big.toml")
    (problem,) = info.value.problems
    assert problem.line == 4 and problem.field.endswith(field) and "at most 2147483 seconds" in problem.reason


def test_a_config_that_is_not_a_regular_file_is_refused_at_once():
    with pytest.raises(ConfigError) as info:
        load_config("/dev/zero")  # read whole, it would never end
    assert "not a regular file" in str(info.value)


def test_a_huge_config_file_is_refused(tmp_path):
    path = tmp_path / "huge.toml"
    path.write_bytes(b"# " + b"x" * (5 * 1024 * 1024))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert "larger than 4 MiB" in str(info.value)


@pytest.mark.timeout(20)  # opening a FIFO for reading waits for a writer: a hang here is the bug
def test_a_fifo_as_config_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pulse.toml"
    os.mkfifo(fifo)
    with pytest.raises(ConfigError) as info:
        load_config(fifo)
    (problem,) = info.value.problems
    assert (problem.path, problem.line, problem.field) == (str(fifo), None, "file")
    assert problem.reason == f"{fifo} is a FIFO, not a regular file"


@pytest.mark.parametrize(("path", "kind"), [("/dev/null", "a character device"), (".", "a directory")])
def test_devices_and_directories_are_refused_by_kind(path, kind):
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.problems[0].reason == f"{path} is {kind}, not a regular file"


@pytest.mark.parametrize(
    ("toml_name", "position", "char"),
    [(r"a\u0000b", 2, r"'\x00'"), (r"feed\n2", 5, r"'\n'"), (r"x\u007f", 2, r"'\x7f'")],
)
def test_a_name_with_a_control_character_is_refused_at_its_line(toml_name, position, char):
    text = f'[[worker]]\nname = "{toml_name}"\ntarget = "tests.workers:accepts_anything"\n'
    assert one_problem(text) == (  # like an empty name, it does not name the table in messages
        2,
        "worker[1].name",
        f"worker name must not contain a control character: character {position} is {char}",
    )


@pytest.mark.parametrize(("name", "what"), [("a\x00b", "a control character"), ("a\udcffb", "a lone surrogate")])
def test_a_name_setproctitle_would_refuse_is_refused_in_code_too(name, what):
    with pytest.raises(ConfigError) as info:
        spec_from_call(f"QtSupervisor.add({name!r})", name, "pulse_supervisor.producers:counter", None, {})
    (problem,) = info.value.problems
    assert problem.field == "name" and problem.reason.startswith(f"worker name must not contain {what}: character 2")
    assert str(problem).startswith(f"QtSupervisor.add({name!r}): name: ")


@pytest.mark.parametrize(
    ("assignment", "reason"),
    [
        ("check_timeout = 0", "must be > 0, got 0"),
        ("check_timeout = 'long'", "expected a number, got string 'long'"),
        ("check_timeout = 1e9", "must be at most 2147483 seconds (24.8 days), got 1000000000.0"),
    ],
)
def test_check_timeout_is_checked_in_pulse_and_in_a_worker(assignment, reason):
    worker = '[[worker]]\nname = "w"\ntarget = "tests.workers:accepts_anything"\n'
    assert one_problem(f"[pulse]\n{assignment}\n") == (2, "pulse.check_timeout", reason)
    assert one_problem(f"{worker}{assignment}\n") == (4, 'worker "w".check_timeout', reason)


def test_check_timeouts_round_trip() -> None:
    text = '[pulse]\ncheck_timeout = 30\n\n[[worker]]\nname = "w"\n'
    text += 'target = "pulse_supervisor.producers:counter"\ncheck_timeout = 2.5\n'
    config = parse_config(text)
    assert config.check_timeout == 30.0 and config.workers[0].check_timeout == 2.5
    assert "check_timeout = 30.0" in dump_config(config) and parse_config(dump_config(config)) == config
    assert "check_timeout" not in dump_config(
        parse_config('[[worker]]\nname = "w"\ntarget = "pulse_supervisor.producers:counter"\n')
    )

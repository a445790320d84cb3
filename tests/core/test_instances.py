"""``instances = N``: N workers NAME:0 ... from one entry, ``{instance}`` replaced; a reload adds or removes some."""

from __future__ import annotations

import pytest

from pulse_supervisor.core.config.config_dump import dump_config
from pulse_supervisor.core.config.toml_file import parse_config
from pulse_supervisor.core.errors import ConfigError
from pulse_supervisor.core.supervision.events import ItemBatch, StateChanged
from pulse_supervisor.core.supervision.policy import State
from tests.helpers import items_of, poll_until

ENTRY = """[[worker]]
name = "w"
target = "tests.fleet_workers:idle"
kwargs = {{ tag = "t{{instance}}" }}
env = {{ SHARD = "s-{{instance}}" }}
start_secs = 0.2
restart = "never"
instances = {n}
"""


def test_an_entry_makes_its_instances_and_writes_back_as_one_entry() -> None:
    cfg = parse_config(ENTRY.format(n=3), check_targets=False)
    assert cfg.names() == ["w:0", "w:1", "w:2"]
    two = cfg.workers[2]
    assert (two.instance, two.instances, two.group) == (2, 3, "w")
    assert two.kwargs == {"tag": "t{instance}"}  # replaced as the worker starts
    assert (two.resolved().kwargs, two.resolved().env) == ({"tag": "t2"}, {"SHARD": "s-2"})
    text = dump_config(cfg)
    assert text.count("[[worker]]") == 1 and "instances = 3" in text and 'name = "w"\n' in text
    assert parse_config(text, check_targets=False) == cfg


def test_bad_instances_and_clashing_names_are_refused() -> None:
    def problems(text: str) -> list[str]:
        with pytest.raises(ConfigError) as info:
            parse_config(text, check_targets=False)
        return [str(p) for p in info.value.problems]

    assert problems(ENTRY.format(n=0)) == ['<input>:8: worker "w".instances: must be >= 1, got 0']
    assert problems(ENTRY.format(n='"2"'))[0].endswith("instances: expected an integer, got string '2'")
    assert problems(ENTRY.format(n=1001)) == ['<input>:8: worker "w".instances: must be <= 1000, got 1001']
    said = problems(ENTRY.format(n=2) + '[[worker]]\nname = "w:1"\ntarget = "tests.fleet_workers:idle"\n')
    assert said == ["<input>:10: worker \"w:1\".name: its worker 'w:1' clashes with worker[1]'s (line 2)"]
    assert problems(ENTRY.format(n=2).replace("instances", "instance"))[0].endswith(
        "instance: set by Pulse on each worker of an entry with instances = N: not a key of its own"
    )


def test_instances_run_with_their_number_and_a_reload_changes_only_the_count(make_supervisor) -> None:
    sup = make_supervisor(parse_config(ENTRY.format(n=3)))
    for name in sup.names():
        sup.start(name)
    events = poll_until(sup, lambda evs: len({e.worker for e in evs if isinstance(e, ItemBatch)}) == 3, timeout=60)
    assert sorted(items_of(events, f"w:{i}")[0][1] for i in range(3)) == ["t0", "t1", "t2"]
    events += poll_until(sup, lambda evs: all(sup.record(n).runtime.state is State.RUNNING for n in sup.names()))
    pids = {n: sup.record(n).pid for n in sup.names()}
    sup.apply_config(parse_config(ENTRY.format(n=5)))
    events = poll_until(sup, lambda evs: len({e.worker for e in evs if isinstance(e, ItemBatch)}) == 2, timeout=60)
    assert sorted(items_of(events, "w:3") + items_of(events, "w:4")) == [(0, "t3"), (0, "t4")]
    assert {n: sup.record(n).pid for n in pids} == pids  # untouched
    assert sup.spec("w:0").instances == 5
    sup.apply_config(parse_config(ENTRY.format(n=2)))
    events = poll_until(sup, lambda evs: sup.names() == ["w:0", "w:1"], timeout=60)
    stopped = {e.worker for e in events if isinstance(e, StateChanged) and e.state is State.STOPPING}
    assert stopped == {"w:2", "w:3", "w:4"}
    assert {n: sup.record(n).pid for n in ("w:0", "w:1")} == {n: pids[n] for n in ("w:0", "w:1")}

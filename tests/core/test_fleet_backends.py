"""env and max_rss alike on every backend: a Ray worker gets its env on its node, its limit from its figures."""

from __future__ import annotations

from pulse_supervisor.core.supervision.events import StateChanged
from pulse_supervisor.core.supervision.policy import State
from tests.helpers import config, items_of, poll_until, spec


def test_a_worker_gets_its_env_on_every_backend(make_supervisor, backend):
    probe = spec("e", "tests.fleet_workers:env_and_cwd", kwargs={"keys": ["FLEET", "PULSE_LOG_DIR"]},
                 env={"FLEET": "yes"}, env_clear=True)  # fmt: skip
    sup = make_supervisor(config(probe, backend=backend))
    sup.start("e")
    events = poll_until(sup, lambda evs: bool(items_of(evs, "e")), timeout=90)
    assert items_of(events, "e")[0][1]["env"] == {"FLEET": "yes", "PULSE_LOG_DIR": None}


def test_max_rss_restarts_a_worker_on_every_backend(make_supervisor, backend):
    grow = spec("g", "tests.fleet_workers:grow", max_rss=64 << 20, flap_limit=1, start_retries=0)
    sup = make_supervisor(config(grow, backend=backend))
    sup.start("g")

    def restarted(evs: list) -> bool:
        return any(isinstance(e, StateChanged) and e.state is State.STARTING and e.reason for e in evs)

    events = poll_until(sup, restarted, timeout=120)
    reasons = [e.reason for e in events if isinstance(e, StateChanged) and e.reason]
    assert reasons[0].startswith("restarting: RSS ") and reasons[0].endswith(" MiB over max_rss 64 MiB")
    assert State.FATAL not in {e.state for e in events if isinstance(e, StateChanged)}

"""A config entry's instances as one row of the worker table: their summed counts, and their states at a glance."""

from __future__ import annotations

import collections
import time
from dataclasses import dataclass, field, replace

from pulse_supervisor.core.processes.inspection import format_bytes, format_count, format_duration
from pulse_supervisor.core.supervision.policy import State
from pulse_supervisor.core.worker.worker_env import describe_setup
from pulse_supervisor.qt.window.table.worker_row import WorkerRow

# The state a group's badge shows when its instances differ: the one that needs the user most.
_URGENCY = (State.FATAL, State.BACKOFF, State.STARTING, State.STOPPING, State.EXITED, State.RUNNING, State.STOPPED)
EXPANDED_UP_TO = 4  # a group of more instances starts collapsed


@dataclass
class GroupRow:
    """The row of an entry with ``instances = N`` (``name``); its instances' rows follow it when ``expanded``."""

    name: str
    members: list[WorkerRow] = field(default_factory=list)
    expanded: bool = True

    @property
    def state(self) -> State:
        """Return the state its badge shows: the instances' common one, else the most urgent of theirs."""
        states = {m.state for m in self.members}
        return next(s for s in _URGENCY if s in states) if states else State.STOPPED

    @property
    def pid(self) -> int | None:
        """None: a group has no process of its own."""
        return None

    def names(self) -> list[str]:
        """Return its instances' names, in order."""
        return [m.name for m in self.members]

    def text(self, col: int) -> str:
        """Return what the table shows in column ``col`` (the worker table's columns) for the whole group."""
        members = self.members
        if col == 0:
            return f"{'▾' if self.expanded else '▸'} {self.name} ({len(members)})"
        if col == 1:
            state = self.state
            same = sum(m.state is state for m in members)
            return state.value if same == len(members) else f"{state.value} {same}/{len(members)}"
        if col == 3:
            started = [m.started for m in members if m.started is not None]
            return format_duration(time.monotonic() - max(started)) if started else ""
        if col == 4:
            return format_count(sum(m.received for m in members))
        if col == 5:
            live = [m.rate for m in members if m.pid is not None]
            return format_count(sum(live)) if live else ""
        if col == 6:
            return format_count(sum(m.status.lost for m in members))
        if col == 7:
            return str(sum(m.status.restarts for m in members))
        if col == 8:
            cpus = [m.cpu for m in members if m.cpu is not None]
            return f"{sum(cpus):.1f}" if cpus else ""
        if col == 9:
            rss = [m.rss for m in members if m.rss is not None]
            return format_bytes(sum(rss)) if rss else ""
        return ""

    def sort_key(self, col: int) -> str:
        """Return its text: a group's row is placed by its first instance, this is for the sort role alone."""
        return self.text(col)

    def tooltip(self) -> str:
        """Return the group's tooltip: its instances by state, and its entry's setup."""
        counts = collections.Counter(m.state.value for m in self.members)
        states = ", ".join(f"{n} {state}" for state, n in counts.items())
        parts = [f"{self.name}: {len(self.members)} instances ({states})"]
        parts.append(
            "Start, Stop and Restart act on every instance of a selected group; double-click opens or closes it"
        )
        if self.members:  # the entry's own, "{instance}" as written
            setup = describe_setup(replace(self.members[0].status.spec, instance=None))
            parts.extend(f"{key.lower()}: {text}" for key, text in setup.items())
        return "\n".join(parts)


def arrange(
    workers: list[WorkerRow], expanded: dict[str, bool]
) -> tuple[list[WorkerRow | GroupRow], dict[str, GroupRow]]:
    """Return the rows the table shows for ``workers`` (in their order), and the groups by entry name.

    A group's row goes where its first instance is, its instances after it while it is expanded:
    ``expanded[entry]``, set here at first to whether it has at most `EXPANDED_UP_TO` instances.
    """
    groups: dict[str, GroupRow] = {}
    blocks: list[WorkerRow | GroupRow] = []
    for w in workers:
        spec = w.status.spec
        if spec.instance is None:
            blocks.append(w)
            continue
        group = groups.get(spec.group)
        if group is None:
            is_open = expanded.setdefault(spec.group, (spec.instances or 0) <= EXPANDED_UP_TO)
            group = groups[spec.group] = GroupRow(spec.group, [], is_open)
            blocks.append(group)
        group.members.append(w)
    rows: list[WorkerRow | GroupRow] = []
    for block in blocks:
        rows.append(block)
        if type(block) is GroupRow and block.expanded:
            rows += block.members
    return rows, groups

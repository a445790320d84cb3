"""The worker table model on its own: cached texts, and repaints only where a text changed."""

from __future__ import annotations

from qtpy.QtCore import Qt

from pulse_supervisor.core.spec import WorkerSpec
from pulse_supervisor.core.supervision.events import ItemBatch, StateChanged, WorkersChanged
from pulse_supervisor.core.supervision.policy import State
from pulse_supervisor.qt.window.table.worker_model import WorkerTableModel
from tests.qt.qt_helpers import feed, model_on

ITEMS, LAST = WorkerTableModel.COLUMNS.index("Items"), WorkerTableModel.COLUMNS.index("Last item")


def record_changes(model):
    changes = []
    model.dataChanged.connect(
        lambda tl, br, _roles=(): changes.append(((tl.row(), tl.column()), (br.row(), br.column())))
    )
    return changes


def text(model, row, col):
    return model.data(model.index(row, col), Qt.ItemDataRole.DisplayRole)


def test_a_tick_repaints_only_the_cells_whose_text_changed(qapp):
    model = model_on("a", "b")
    model.refresh_clock({})
    changes = record_changes(model)
    feed(model, [ItemBatch("b", 0, ["x", "y"], 0, 0)])
    assert changes == []  # items wait for the tick
    assert text(model, 1, ITEMS) == "0"
    model.refresh_clock({})
    assert sorted(changes) == [((1, ITEMS), (1, ITEMS)), ((1, LAST), (1, LAST))]  # one cell per signal
    assert (text(model, 1, ITEMS), text(model, 1, LAST)) == ("2", "y")
    changes.clear()
    model.refresh_clock({})
    assert changes == []  # nothing changed, nothing repainted


def test_a_tick_makes_the_last_items_text_once_and_leaves_the_still_columns_alone(qapp, monkeypatch):
    import pulse_supervisor.qt.window.table.worker_row as worker_row

    made: list[object] = []
    elide = worker_row.elide
    monkeypatch.setattr(worker_row, "elide", lambda item, *a: (made.append(item), elide(item, *a))[1])
    model = model_on("a")
    looked_at: set[int] = set()
    cell_text = worker_row.WorkerRow.text
    monkeypatch.setattr(worker_row.WorkerRow, "text", lambda row, col: (looked_at.add(col), cell_text(row, col))[1])
    feed(model, [ItemBatch("a", 0, ["x", "y"], 0, 0)])
    model.refresh_clock({})
    model.refresh_clock({})
    assert made == ["y"] and text(model, 0, LAST) == "y"  # the newest item, made into text once
    # Name, state, PID, restarts and node change only with a state change (the whole row then).
    assert looked_at == set(WorkerTableModel.LIVE)
    feed(model, [ItemBatch("a", 2, ["z"], 0, 0)])
    model.refresh_clock({})
    assert made == ["y", "z"] and text(model, 0, LAST) == "z"


def test_a_state_change_repaints_its_whole_row_even_after_rows_move(qapp, qtmodeltester):
    model = model_on("a", "b")
    changes = record_changes(model)
    # The new order arrives in the same batch as b's state change: b is row 0 by the end.
    old = {s.name: s.spec for s in model.statuses}
    model.statuses.replace_specs([old["b"], WorkerSpec("c", "pulse_supervisor.producers:clock"), old["a"]])
    feed(model, [StateChanged("b", State.RUNNING, 42, 0.0), WorkersChanged(("b", "c", "a"))])
    assert ((0, 0), (0, len(model.COLUMNS) - 1)) in changes
    assert [text(model, r, 0) for r in range(3)] == ["b", "c", "a"]
    assert (text(model, 0, 1), text(model, 0, 2)) == ("RUNNING", "42")
    qtmodeltester.check(model, force_py=True)


def test_rate_is_a_steady_average_and_drops_to_zero_when_stopped():
    from pulse_supervisor.core.supervision.worker_status import WorkerStatus
    from pulse_supervisor.qt.window.table.worker_row import WorkerRow

    row = WorkerRow(WorkerStatus(WorkerSpec("w", "pulse_supervisor.producers:clock"), pid=42))
    row._rate_mark = (0.0, 0)
    shown = []
    # One item a second, counted on a 1 s tick out of phase with it: 1, 0, 2, 1, 0, 2, ... a tick.
    for t, n in enumerate([1, 0, 2, 1, 0, 2, 1, 0, 2, 1], start=1):
        row.status.received += n
        row.update_rate(float(t))
        shown.append(row.rate)
    assert shown[0] == 1.0  # the first figure is what was seen
    assert all(0.6 <= r <= 1.4 for r in shown), shown  # the raw counts swing from 0 to 2
    row.update_rate(10.2)  # under half a second since the last: nothing to say yet
    assert row.rate == shown[-1]
    row.status.pid = None
    row.update_rate(11.0)
    assert row.rate == 0.0  # stopped and nothing new: no slow fade


def test_the_table_delegate_styles_each_cell_as_the_stock_one_does_from_the_model(qapp):
    from qtpy.QtWidgets import QStyledItemDelegate, QStyleOptionViewItem

    from pulse_supervisor.qt.window.table.text_delegate import CachedTextDelegate

    model = model_on("a", "b")
    feed(model, [ItemBatch("b", 0, ["x", 1.5], 0, 0), StateChanged("a", State.RUNNING, 42, 0.0)])
    model.refresh_clock({})
    fast, stock = CachedTextDelegate(model), QStyledItemDelegate()
    has_display = QStyleOptionViewItem.ViewItemFeature.HasDisplay
    for row in range(model.rowCount()):
        for column in range(model.columnCount()):
            index = model.index(row, column)
            mine, theirs = QStyleOptionViewItem(), QStyleOptionViewItem()
            fast.initStyleOption(mine, index)
            stock.initStyleOption(theirs, index)
            assert mine.text == theirs.text == model.text_at(row, column)
            assert mine.displayAlignment == theirs.displayAlignment
            assert bool(mine.features & has_display) == bool(theirs.features & has_display) or not mine.text
            assert mine.index == index
    assert model.text_at(1, LAST) == "1.5"


def test_a_tick_re_texts_only_the_rows_in_view_and_the_others_when_read(qapp):
    names = [f"w{i}" for i in range(50)]
    model = model_on(*names)
    model.visible_rows = lambda: range(0, 5)  # a view showing five rows
    model.refresh_clock({})
    changes = record_changes(model)
    feed(model, [ItemBatch(name, 0, ["x"], 0, 0) for name in names])
    model.refresh_clock({})
    assert {tl[0] for tl, _ in changes} == set(range(5))  # only the rows in view were re-texted
    assert model._stale == set(range(5, 50))
    assert text(model, 40, ITEMS) == "1" and model.text_at(41, LAST) == "x"  # read: fresh
    assert 40 not in model._stale and 41 not in model._stale

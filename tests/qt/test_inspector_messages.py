"""The inspector's message box: a typed literal reaches the worker, a bad one is refused with the reason."""

from __future__ import annotations

from pulse_supervisor.qt.window.dialogs.inspect_dialog import InspectDialog
from tests.helpers import config, spec


def test_a_typed_value_is_sent_and_counted_and_a_bad_one_is_refused(qtbot, make_window):
    window = make_window(config(spec("echo", "tests.message_workers:echo_ctx")), autostart=True)
    window.select("echo")
    qtbot.waitUntil(lambda: window.model.row("echo").received >= 1, timeout=20_000)  # "ready": it reads now
    window.inspect_button.click()
    dialog = InspectDialog._open["echo"]
    box = dialog.message_sender
    qtbot.waitUntil(box.button.isEnabled, timeout=5000)
    box.edit.setText("{'rate': 2}")
    box.button.click()
    assert box.result.text() == "Sent {'rate': 2}"
    assert box.edit.text() == ""
    qtbot.waitUntil(lambda: window.model.row("echo").received >= 2, timeout=20_000)  # its echo came back
    dialog.refresh()
    assert dialog.labels["Messages"].text() == "1 sent"
    box.edit.setText("rate = 2")
    box.edit.returnPressed.emit()
    assert box.result.text().startswith("Not sent: not a Python literal nor JSON")
    assert box.edit.text() == "rate = 2"  # kept, to be corrected
    dialog.close()

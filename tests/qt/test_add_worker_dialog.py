"""The Add worker dialog: validated as you type, by the same rules as config files."""

from __future__ import annotations

import threading

import pytest
from qtpy.QtCore import QTimer
from qtpy.QtWidgets import QDialog

from pulse_supervisor.core.spec import RestartPolicy, WorkerSpec
from pulse_supervisor.qt.window.dialogs.add_worker_dialog import AddWorkerDialog


@pytest.fixture
def dialog(qtbot):
    d = AddWorkerDialog(["clock", "count"])
    qtbot.addWidget(d)
    return d


ANY_KWARGS = "tests.workers:accepts_anything"


def fill(d: AddWorkerDialog, name="ticks", target="pulse_supervisor.producers:clock", kwargs="") -> None:
    d.name_edit.setText(name)
    d.target_edit.setText(target)
    d.kwargs_edit.setPlainText(kwargs)


def test_defaults_and_nothing_shown_before_typing(dialog):
    assert dialog.windowTitle() == "Add worker"
    assert dialog.target_edit.placeholderText() == "pulse_supervisor.producers:clock"
    assert dialog.restart_combo.currentText() == "on-failure"
    assert dialog.autostart_check.isChecked()
    assert dialog.stop_timeout_spin.value() == 5.0
    assert not dialog.ok_button.isEnabled()
    assert dialog.name_error.text() == dialog.target_error.text() == dialog.kwargs_error.text() == ""


def test_completer_offers_the_builtin_producers(dialog):
    offered = dialog.target_edit.completer().model().stringList()
    assert "pulse_supervisor.producers:clock" in offered and "pulse_supervisor.producers:sine" in offered


def test_valid_json_kwargs_enable_ok_and_yield_the_exact_spec(qtbot, dialog):
    fill(dialog, target=ANY_KWARGS, kwargs='{"interval": 0.5, "label": "x", "sizes": [1, 2]}')
    dialog.restart_combo.setCurrentText("always")
    dialog.autostart_check.setChecked(False)
    dialog.stop_timeout_spin.setValue(2.5)
    assert not dialog.ok_button.isEnabled()  # until the debounced import check has passed
    qtbot.waitUntil(dialog.ok_button.isEnabled, timeout=2000)
    assert dialog.name_error.text() == dialog.target_error.text() == dialog.kwargs_error.text() == ""
    dialog.ok_button.click()
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert dialog.spec() == WorkerSpec(
        name="ticks",
        target=ANY_KWARGS,
        kwargs={"interval": 0.5, "label": "x", "sizes": [1, 2]},
        autostart=False,
        restart=RestartPolicy.ALWAYS,
        stop_timeout=2.5,
    )


@pytest.mark.parametrize(
    ("text", "kwargs"),
    [
        ("interval = 0.5\nlabel = 'x'", {"interval": 0.5, "label": "x"}),
        ("{ interval = 0.5, sizes = [1, 2] }", {"interval": 0.5, "sizes": [1, 2]}),
        ("# none\n", {}),
        ("", {}),
    ],
)
def test_toml_kwargs_forms(qtbot, dialog, text, kwargs):
    fill(dialog, target=ANY_KWARGS, kwargs=text)
    qtbot.waitUntil(dialog.ok_button.isEnabled, timeout=2000)
    assert dialog.kwargs_error.text() == ""
    dialog.accept()
    assert dialog.spec() == WorkerSpec(name="ticks", target=ANY_KWARGS, kwargs=kwargs)


def test_kwargs_the_target_does_not_take_are_an_error_on_the_kwargs(qtbot, dialog):
    fill(dialog, kwargs="intervl = 0.5")  # a typo: clock takes `interval`
    assert dialog.validate() is None
    assert dialog.kwargs_error.text() == "clock() takes no argument 'intervl' (it takes interval)"
    assert dialog.target_error.text() == ""
    dialog.kwargs_edit.setPlainText("interval = 0.5\nextra = 1")
    qtbot.waitUntil(lambda: "'extra'" in dialog.kwargs_error.text(), timeout=5000)  # the debounced check too
    dialog.kwargs_edit.setPlainText("interval = 0.5")
    qtbot.waitUntil(dialog.ok_button.isEnabled, timeout=5000)


def test_validate_imports_at_once_and_returns_the_spec(dialog):
    fill(dialog, kwargs="interval = 1")
    assert dialog.validate() == WorkerSpec(
        name="ticks", target="pulse_supervisor.producers:clock", kwargs={"interval": 1}
    )
    assert dialog.ok_button.isEnabled()


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("clock", "a worker named 'clock' already exists"),
        (" ticks", "name must not begin or end with spaces"),
        ("ticks ", "name must not begin or end with spaces"),
        ("", "worker name must not be empty"),
        ("   ", "worker name must not be empty"),
    ],
)
def test_bad_names(dialog, name, reason):
    fill(dialog, name="x")
    dialog.name_edit.setText(name)
    assert dialog.name_error.text() == reason
    assert dialog.validate() is None
    assert dialog.name_error.text() == reason
    assert not dialog.ok_button.isEnabled()


@pytest.mark.parametrize("target", ["nocolon", "mod:", ":func", "a b:c"])
def test_bad_target_shape_shows_on_the_keystroke(dialog, target):
    fill(dialog, target=target)
    assert "must look like 'package.module:callable'" in dialog.target_error.text()
    assert not dialog.ok_button.isEnabled()


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("no_such_mod_xyz:f", "cannot import module 'no_such_mod_xyz'"),
        ("json:nope", "module 'json' has no attribute 'nope'"),
        ("json:__name__", "'json:__name__' is not callable"),
    ],
)
def test_unimportable_target_shows_after_the_debounce(qtbot, dialog, target, reason):
    fill(dialog, target=target)
    assert dialog.target_error.text() == ""  # the import waits for typing to pause
    qtbot.waitUntil(lambda: reason in dialog.target_error.text(), timeout=2000)
    assert not dialog.ok_button.isEnabled()
    dialog.name_edit.setText("other")  # editing another field keeps the import verdict
    assert reason in dialog.target_error.text()
    assert not dialog.ok_button.isEnabled()


def test_validate_checks_the_import_without_waiting(dialog):
    fill(dialog, target="json:nope")
    assert dialog.validate() is None
    assert "has no attribute 'nope'" in dialog.target_error.text()


def test_fixing_the_target_clears_its_error(qtbot, dialog):
    fill(dialog, target="json:nope")
    qtbot.waitUntil(lambda: "nope" in dialog.target_error.text(), timeout=2000)
    dialog.target_edit.setText("tests.workers:accepts_anything")
    assert dialog.target_error.text() == ""
    assert not dialog.ok_button.isEnabled()  # tests.workers:accepts_anything is not imported yet
    qtbot.waitUntil(dialog.ok_button.isEnabled, timeout=2000)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"interval": 0.5,}', "invalid JSON: Expecting property name enclosed in double quotes (line 1, column 18)"),
        ('{"interval": 0.5}}', "invalid JSON: Extra data (line 1, column 18)"),
        ("interval = 0.5\nrate 2", "line 2: invalid TOML: Expected '=' after a key in a key/value pair"),
        ("interval = 0.5\nrate =", "line 2: invalid TOML: Invalid value"),
        ("{ interval = }", "line 1: invalid TOML: Invalid value (column 14)"),
        ('{"interval": null}', "kwargs.interval is null, which TOML cannot represent"),
        ('{"a": {"b": [1, null]}}', "kwargs.a.b[1] is null, which TOML cannot represent"),
    ],
)
def test_bad_kwargs_show_the_reason(dialog, text, reason):
    fill(dialog, kwargs=text)
    assert reason in dialog.kwargs_error.text()
    assert dialog.validate() is None
    assert reason in dialog.kwargs_error.text()
    assert dialog.name_error.text() == dialog.target_error.text() == ""
    assert not dialog.ok_button.isEnabled()


def test_accept_while_invalid_stays_open_with_no_spec(qtbot, dialog):
    dialog.show()
    qtbot.waitExposed(dialog)
    dialog.accept()  # untouched, empty form
    assert dialog.isVisible()
    assert dialog.result() == QDialog.DialogCode.Rejected
    assert dialog.spec() is None
    assert dialog.name_error.text() == "worker name must not be empty"  # now shown though never typed in
    assert "must look like" in dialog.target_error.text()
    fill(dialog, name="clock")
    dialog.ok_button.click()  # disabled: does nothing
    dialog.accept()
    assert dialog.isVisible() and dialog.spec() is None


def test_ask_returns_the_spec_when_accepted(monkeypatch):
    def exec_filled(self):
        fill(self, kwargs="interval = 0.2")
        self.validate()  # as the check once typing pauses would have, before the user clicks OK
        self.accept()
        return self.result()

    monkeypatch.setattr(AddWorkerDialog, "exec", exec_filled)
    spec = AddWorkerDialog.ask(None, ["clock"])
    assert spec == WorkerSpec(name="ticks", target="pulse_supervisor.producers:clock", kwargs={"interval": 0.2})


def test_ask_returns_none_when_cancelled(monkeypatch):
    def exec_cancelled(self):
        fill(self)
        self.reject()
        return self.result()

    monkeypatch.setattr(AddWorkerDialog, "exec", exec_cancelled)
    assert AddWorkerDialog.ask(None, []) is None


def test_a_slow_import_is_checked_off_the_gui_thread(qtbot, dialog, tmp_path, monkeypatch):
    (tmp_path / "slow_target_module.py").write_text("import time\ntime.sleep(2)\ndef feed():\n    yield 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    fill(dialog, target="slow_target_module:feed")
    dialog._import_timer.stop()
    dialog._on_import_timer_timeout()  # returns at once: before, the window froze for the import
    assert dialog._imported is None or dialog._imported[0] != dialog._form_key()
    assert not dialog.ok_button.isEnabled()
    ticks = []
    QTimer.singleShot(0, lambda: ticks.append(1))  # the event loop runs meanwhile
    qtbot.waitUntil(lambda: bool(ticks), timeout=1000)
    qtbot.waitUntil(dialog.ok_button.isEnabled, timeout=20_000)
    dialog.accept()
    assert dialog.spec().target == "slow_target_module:feed"


@pytest.fixture
def checking_dialog(monkeypatch):
    """A filled dialog whose target check is running, held until the returned event is set."""
    from pulse_supervisor.qt import background
    from pulse_supervisor.qt.window.dialogs import add_worker_dialog

    release = threading.Event()

    def slow_probe(targets, timeout=10.0):
        release.wait(30)
        return [None]

    monkeypatch.setattr(add_worker_dialog, "probe_targets", slow_probe)
    dialog = AddWorkerDialog(["clock"])
    fill(dialog)
    dialog._import_timer.stop()
    dialog._start_check()
    (call,) = [c for c in background._running if c._owner is dialog]
    yield dialog, call, release
    release.set()


def test_a_check_that_answers_after_the_dialog_closed_changes_nothing(qtbot, checking_dialog):
    dialog, call, release = checking_dialog
    dialog.reject()  # closed while the check runs; pytest-qt fails the test on any exception in a slot
    with qtbot.waitSignal(call.done, timeout=30_000):
        release.set()  # the late answer is delivered, and ignored
    assert dialog._imported is None and dialog.spec() is None
    dialog.deleteLater()


def test_a_check_that_answers_after_the_dialog_was_deleted_is_dropped(qtbot, checking_dialog):
    from pulse_supervisor.qt import background

    dialog, call, release = checking_dialog
    with qtbot.waitSignal(dialog.destroyed, timeout=30_000):
        dialog.deleteLater()  # the dialog's C++ object goes while the check runs: the call lives on
    release.set()
    qtbot.waitUntil(lambda: call not in background._running, timeout=30_000)
    assert call._owner is None and not call._thread.is_alive()


def test_targets_complete_from_the_built_ins_and_the_modules_in_use(qtbot):
    dialog = AddWorkerDialog(["clock"], modules=["pulse_supervisor.producers", "tests.workers", "no_such_module_xyz"])
    qtbot.addWidget(dialog)
    choices = dialog.target_choices
    assert "pulse_supervisor.producers:clock" in choices.stringList()  # at once
    with qtbot.waitSignal(dialog.listing.done, timeout=30_000):  # the modules in use, listed in a subprocess
        pass
    listed = choices.stringList()
    assert "tests.workers:pool_user" in listed and "tests.workers:async_ticks" in listed
    assert not any(name.startswith("no_such_module_xyz") for name in listed)  # one that fails offers nothing
    assert len(listed) == len(set(listed))
    completer = dialog.target_edit.completer()
    completer.setCompletionPrefix("POOL_U")
    assert completer.currentCompletion() == "tests.workers:pool_user"

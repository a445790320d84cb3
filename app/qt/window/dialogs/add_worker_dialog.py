"""The "Add worker" dialog: a form validated as you type by the same code as config files."""

from __future__ import annotations

from typing import TYPE_CHECKING

from qtpy.QtCore import QStringListModel, Qt, QTimer
from qtpy.QtGui import QFontDatabase
from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QCompleter,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from pulse_supervisor import producers
from pulse_supervisor.core.config.target_probe import TargetProblem, list_producers, probe_targets
from pulse_supervisor.core.spec import (
    DEFAULT_CHECK_TIMEOUT,
    DEFAULT_STOP_TIMEOUT,
    RestartPolicy,
    WorkerSpec,
)
from pulse_supervisor.qt.background import BackgroundCall
from pulse_supervisor.qt.window.dialogs.kwargs_text import parse_kwargs
from pulse_supervisor.qt.window.dialogs.worker_form import WorkerForm, check_form, form_field

if TYPE_CHECKING:
    from collections.abc import Iterable

IMPORT_DEBOUNCE_MS = 300
ERROR_STYLE = "color: #c62828;"


class AddWorkerDialog(QDialog):
    """Ask for a new worker's spec; open it with `ask`, which tests monkeypatch.

    The form is turned into a one-worker TOML document and read back with `parse_config`, so the
    dialog accepts exactly what a config file accepts, plus two rules of its own: the name is new
    and has no surrounding spaces. Checking the target (an import in a subprocess, and its kwargs
    against its signature) waits until typing pauses and runs off the GUI thread; `validate` checks
    at once, and `accept` waits for the check of what the form says.
    """

    def __init__(
        self,
        existing_names: Iterable[str],
        parent: QWidget | None = None,
        modules: Iterable[str] = (),
        check_timeout: float = DEFAULT_CHECK_TIMEOUT,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add worker")
        self._existing = frozenset(existing_names)
        self._check_timeout = check_timeout  # the seconds a target's import may take: the config's
        self._spec: WorkerSpec | None = None
        # The last (target, kwargs text) checked, and the target's error; the check (an import in
        # a subprocess, which may take seconds) runs off the GUI thread once typing pauses.
        self._imported: tuple[tuple[str, str], TargetProblem | None] | None = None
        self._checking: tuple[str, str] | None = None  # what a background check is checking now
        self._accept_when_checked = False
        self._finished = False  # done() was called: late check results are dropped
        self._touched: set[str] = set()  # errors show only once a field was edited (or validated)

        self.name_edit = QLineEdit()
        self.target_edit = QLineEdit()
        self.target_edit.setPlaceholderText("pulse_supervisor.producers:clock")
        # Targets to complete: the built-in producers now, and those of the modules the workers
        # already use once a subprocess has listed them (user modules never import in Pulse).
        self.target_choices = QStringListModel(
            [f"pulse_supervisor.producers:{name}" for name in producers.__all__], self
        )
        completer = QCompleter(self.target_choices, self)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.target_edit.setCompleter(completer)
        user_modules = sorted(set(modules) - {"pulse_supervisor.producers"})
        if user_modules:
            self.listing = BackgroundCall(
                lambda: list_producers(user_modules, check_timeout),
                lambda found, _error: self._offer_targets(found or []),
                self,
            )
        self.kwargs_edit = QPlainTextEdit()
        self.kwargs_edit.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.kwargs_edit.setPlaceholderText('interval = 0.5\n\nor  {"interval": 0.5}  or  { interval = 0.5 }')
        self.kwargs_edit.setTabChangesFocus(True)
        self.restart_combo = QComboBox()
        self.restart_combo.addItems([policy.value for policy in RestartPolicy])
        self.restart_combo.setCurrentText(RestartPolicy.ON_FAILURE.value)
        self.autostart_check = QCheckBox("Start when added")
        self.autostart_check.setChecked(True)
        self.stop_timeout_spin = QDoubleSpinBox()
        self.stop_timeout_spin.setRange(0.1, 3600.0)  # the config requires > 0
        self.stop_timeout_spin.setDecimals(1)
        self.stop_timeout_spin.setSuffix(" s")
        self.stop_timeout_spin.setValue(DEFAULT_STOP_TIMEOUT)
        self.name_error, self.target_error, self.kwargs_error, self.form_error = (_error_label() for _ in range(4))

        form = QFormLayout()
        form.addRow("Name:", self.name_edit)
        form.addRow("", self.name_error)
        form.addRow("Target:", self.target_edit)
        form.addRow("", self.target_error)
        form.addRow("Keyword arguments:", self.kwargs_edit)
        form.addRow("", self.kwargs_error)
        form.addRow("Restart:", self.restart_combo)
        form.addRow("", self.autostart_check)
        form.addRow("Stop timeout:", self.stop_timeout_spin)
        # Our own OK button: the stubs type a standard one as Optional.
        self.ok_button = QPushButton("OK")
        self.ok_button.setDefault(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        buttons.addButton(self.ok_button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.form_error)
        layout.addWidget(buttons)

        self._import_timer = QTimer(self)
        self._import_timer.setSingleShot(True)
        self._import_timer.setInterval(IMPORT_DEBOUNCE_MS)
        self._import_timer.timeout.connect(self._on_import_timer_timeout)
        self.name_edit.textChanged.connect(self._on_name_changed)
        self.target_edit.textChanged.connect(self._on_target_changed)
        self.kwargs_edit.textChanged.connect(self._on_kwargs_changed)
        self.restart_combo.currentIndexChanged.connect(self._on_option_changed)
        self.autostart_check.toggled.connect(self._on_option_changed)
        self.stop_timeout_spin.valueChanged.connect(self._on_option_changed)
        self._refresh(import_target=False)

    def _offer_targets(self, found: list[str]) -> None:
        if self._finished:  # a deleted dialog gets no result at all: BackgroundCall drops it
            return
        known = self.target_choices.stringList()
        self.target_choices.setStringList(known + [name for name in found if name not in known])

    @classmethod
    def ask(
        cls,
        parent: QWidget | None,
        existing_names: Iterable[str],
        modules: Iterable[str] = (),
        check_timeout: float = DEFAULT_CHECK_TIMEOUT,
    ) -> WorkerSpec | None:
        """Run the dialog modally and return the new worker's spec, or None if cancelled.

        ``modules`` are those the workers' targets come from: their producers are offered too.
        ``check_timeout`` is the config's: how long the target's import may take.
        """
        dialog = cls(existing_names, parent, modules, check_timeout)
        try:
            return dialog.spec() if dialog.exec() == QDialog.DialogCode.Accepted else None
        finally:
            dialog.deleteLater()

    def spec(self) -> WorkerSpec | None:
        """Return the spec built when the dialog was accepted; None before that."""
        return self._spec

    def validate(self) -> WorkerSpec | None:
        """Check every field now, importing the target, and show each field's error.

        Returns
        -------
        WorkerSpec | None
            The spec the form describes, or None while anything is invalid.
        """
        self._import_timer.stop()
        self._touched.update(("name", "target", "kwargs"))
        return self._refresh(import_target=True)

    def accept(self) -> None:
        """Close with the spec if the form is valid; otherwise stay open, showing why not.

        The target's check runs off the GUI thread: if it has not finished for what the form
        says now, the dialog accepts when it has (and the check passed).
        """
        self._touched.update(("name", "target", "kwargs"))
        spec = self._refresh(import_target=False)  # shows every error there is without the check
        current = self._imported is not None and self._imported[0] == self._form_key()
        if spec is None and not current and not self.target_error.text() and not self.form_error.text():
            self._accept_when_checked = True  # valid but for the check: accept once it passes
            self._start_check()
            return
        if spec is None:
            return
        self._spec = spec
        super().accept()

    def _form_key(self) -> tuple[str, str]:
        return (self.target_edit.text(), self.kwargs_edit.toPlainText())

    def _start_check(self) -> None:
        """Check the target with the form's kwargs in the background (see `BackgroundCall`)."""
        key = self._form_key()
        if self._checking == key:
            return
        kwargs, reason = parse_kwargs(key[1])
        if reason is not None:  # the kwargs are wrong already: nothing to check them against
            self._imported = (key, None)
            self._on_checked(key)
            return
        self._checking = key
        BackgroundCall(
            lambda: probe_targets([(key[0], kwargs)], self._check_timeout)[0],
            lambda result, error: self._on_probed(key, result, error),
            self,
        )

    def _on_probed(self, key: tuple[str, str], problem: TargetProblem | None, error: BaseException | None) -> None:
        if self._finished:  # closed meanwhile (deleted, and BackgroundCall drops the result)
            return
        if self._checking == key:
            self._checking = None
        self._imported = (key, problem if error is None else TargetProblem("target", f"cannot check it: {error}"))
        self._on_checked(key)

    def _on_checked(self, key: tuple[str, str]) -> None:
        if key != self._form_key():
            return  # the form changed meanwhile: its own check is on its way
        if self._accept_when_checked:
            self._accept_when_checked = False
            self.accept()
        else:
            self._refresh(import_target=False)

    def done(self, result: int) -> None:
        """Stop the pending import check: a closed dialog has nothing to show it in."""
        self._import_timer.stop()
        self._finished = True  # a check still running answers into nothing
        super().done(result)

    def _refresh(self, *, import_target: bool) -> WorkerSpec | None:
        errors, spec = self._check(import_target)
        for key, label in (("name", self.name_error), ("target", self.target_error), ("kwargs", self.kwargs_error)):
            label.setText(errors.get(key, "") if key in self._touched else "")
            label.setVisible(bool(label.text()))
        self.form_error.setText(errors.get("form", ""))
        self.form_error.setVisible(bool(self.form_error.text()))
        self.ok_button.setEnabled(spec is not None)
        return spec

    def _check(self, import_target: bool) -> tuple[dict[str, str], WorkerSpec | None]:
        """Return each field's first error and, when there are none, the spec."""
        errors, spec = check_form(
            WorkerForm(
                name=self.name_edit.text(),
                target=self.target_edit.text(),
                kwargs_text=self.kwargs_edit.toPlainText(),
                autostart=self.autostart_check.isChecked(),
                restart=RestartPolicy(self.restart_combo.currentText()),
                stop_timeout=self.stop_timeout_spin.value(),
            ),
            self._existing,
            self._check_timeout,
            import_target,
        )
        # The check imports the target (in a subprocess) and fits the kwargs to its signature.
        checked = self._form_key()
        if import_target:
            found = next(((k, errors[k]) for k in ("target", "kwargs") if k in errors), None)
            self._imported = (checked, None if found is None else TargetProblem(*found))
        elif "target" not in errors:  # the shape is fine; reuse the import check, if it is current
            if self._imported is None or self._imported[0] != checked:
                return errors, None  # still waiting for the debounced import
            if (target_problem := self._imported[1]) is not None:
                errors.setdefault(form_field(target_problem.field), target_problem.reason)
        return errors, spec if not errors else None

    def _on_name_changed(self, _text: str) -> None:
        self._touched.add("name")
        self._refresh(import_target=False)

    def _on_target_changed(self, _text: str) -> None:
        self._touched.add("target")
        self._import_timer.start()  # restarts a running timer: import once typing pauses
        self._refresh(import_target=False)

    def _on_kwargs_changed(self) -> None:
        self._touched.add("kwargs")
        self._import_timer.start()  # the check fits the kwargs to the target's signature too
        self._refresh(import_target=False)

    def _on_option_changed(self, *_: object) -> None:
        self._refresh(import_target=False)

    def _on_import_timer_timeout(self) -> None:
        self._start_check()


def _error_label() -> QLabel:
    """Return an empty red label that shows its text as written (reasons may contain ``<``)."""
    label = QLabel()
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    label.setStyleSheet(ERROR_STYLE)
    label.setVisible(False)
    return label

"""The house's rules: rooms import only the rooms below them, no import circles, one honest public face."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pulse_supervisor
import pulse_supervisor.core

PACKAGE = Path(pulse_supervisor.__file__).parent
CORE = "pulse_supervisor.core"

# What each room of the core may import of Pulse (besides itself), as its docstring says.
ALLOWED = {
    "errors": set(),
    "spec": {"errors"},
    "wire": {"errors"},
    "processes": {"errors"},
    "worker": {"errors", "spec", "wire", "processes"},
    "config": {"errors", "spec", "processes", "worker"},
    "backends": {"errors", "spec", "wire", "processes", "worker", "config"},
    "supervision": {"errors", "spec", "wire", "processes", "worker", "config", "backends"},
    "control": {"errors", "spec", "wire", "config", "supervision"},
}
QT_NAMES = ("PyQt5", "PyQt6", "PySide6", "PySide2", "qtpy", "pyqtgraph")


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(("pulse_supervisor", *parts))] = path
    return found


def _imports(name: str, path: Path) -> list[tuple[int, str]]:
    """Every Pulse module ``name`` imports (at any depth of its code), with the line."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            found += [(node.lineno, f"{base}.{a.name}") for a in node.names] + [(node.lineno, base)]
    return [(line, m) for line, m in found if m.startswith("pulse_supervisor")]


def _resolve(target: str, modules: dict[str, Path]) -> str | None:
    while target and target not in modules:
        target = target.rpartition(".")[0]
    return target or None


def _room(module: str) -> str | None:
    parts = module.split(".")
    return parts[2] if len(parts) > 2 and parts[1] == "core" else None


def test_core_rooms_import_only_the_rooms_below_them():
    modules = _modules()
    found = []
    for name, path in modules.items():
        room = _room(name)
        if room is None:
            continue
        assert room in ALLOWED, f"{name}: a room of core the rules do not know; add it to ALLOWED and its docstring"
        for line, target in _imports(name, path):
            there = _resolve(target, modules)
            other = _room(there) if there else None
            if there == CORE and name.startswith(f"{CORE}.worker"):
                continue  # the package's lazy face: loads nothing until a name is asked for
            if there and (there.startswith("pulse_supervisor.qt") or (other is None and there != CORE)):
                found.append(f"{path.relative_to(PACKAGE)}:{line}: imports {there} (outside the core)")
            elif other and other != room and other not in ALLOWED[room]:
                found.append(f"{path.relative_to(PACKAGE)}:{line}: {room} imports {other} ({there})")
    assert not found, "\n".join(found)


def test_no_import_circles():
    modules = _modules()
    graph = {
        name: {t for _, imp in _imports(name, path) if (t := _resolve(imp, modules)) and t != name and t in modules}
        for name, path in modules.items()
    }
    for name in graph:  # a package's face imports its modules lazily (by name), not at import
        graph[name] -= {p for p in graph[name] if name.startswith(p + ".") and modules[p].name == "__init__.py"}
    circles, state = [], dict.fromkeys(graph, 0)

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state[nxt] == 1:
                circles.append(" -> ".join(stack[stack.index(nxt) :] + [nxt]))
            elif state[nxt] == 0:
                visit(nxt, stack)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if state[node] == 0:
            visit(node, [])
    assert not circles, "\n".join(circles)


def test_core_imports_no_qt_and_a_local_fleet_no_ray():
    code = (
        "import sys, pulse_supervisor, pulse_supervisor.core, pulse_supervisor.cli, pulse_supervisor.producers\n"
        "import pulse_supervisor.core.worker.bootstrap, pulse_supervisor.headless.stream\n"
        "from pulse_supervisor.core import Supervisor, load_config\n"
        "from pulse_supervisor.cli import demo_config\n"
        "sup = Supervisor(demo_config())\n"
        "sup.start_autostart(); sup.poll(0.1); sup.close()\n"
        f"bad = [m for m in sys.modules if m.split('.')[0] in {QT_NAMES!r}]\n"
        "assert not bad, bad\n"
        "ray = [m for m in sys.modules if m == 'ray' or m.startswith(('ray.', 'pulse_supervisor.core.backends.ray'))]\n"
        "assert not ray, ray\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_one_name_for_every_module():
    """Everything imported, nothing is loaded twice: no module named ``app`` beside ``pulse_supervisor``."""
    names = [n for n in _modules() if not n.startswith("pulse_supervisor.core.backends.ray")]
    code = (
        "import importlib, sys\n"
        f"for name in {names!r}:\n"
        "    importlib.import_module(name)\n"
        "twice = sorted(m for m in sys.modules if m == 'app' or m.startswith('app.'))\n"
        "assert not twice, twice\n"
        "assert sys.modules['pulse_supervisor'].__file__.endswith('__init__.py')\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120, cwd="/")


def test_public_face_is_exactly_its_all():
    expected = [
        "await_jobs", "BackgroundCall", "cancel_jobs", "ConfigError", "ConfigProblem", "CountersReset",
        "DescriptorsLow", "Event", "Inspector", "ItemBatch", "JobCallError", "JobError", "LinesSkipped", "LogLine",
        "MessageError", "NoEventLoopError", "ProcessInfo", "ProcessJob", "process_job", "PulseConfig", "PulseError",
        "QtSupervisor", "RestartPolicy", "run_in_process", "StackDump", "StartFailed", "State", "StateChanged",
        "Supervisor", "SupervisorClosedError", "TargetError", "UnknownWorkerError", "__version__", "WorkerExited",
        "WorkerRecord", "WorkerSpec", "WorkerStatus", "WorkerStatuses", "WorkersChanged", "describe_worker",
        "dump_config", "load_config", "parse_config",
    ]  # fmt: skip
    assert pulse_supervisor.__all__ == sorted(expected, key=str.casefold)
    code = (
        "import types, pulse_supervisor as p\n"
        "public = [n for n, v in vars(p).items() if not n.startswith('_') and not isinstance(v, types.ModuleType)]\n"
        "assert public == [], public  # nothing public but what __all__ names (its rooms aside), loaded when asked\n"
        "for name in p.__all__:\n"
        "    assert getattr(p, name) is not None, name\n"
        "assert set(p.__all__) <= set(dir(p))\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    for name in pulse_supervisor.__all__:
        if name != "__version__":
            home = "pulse_supervisor.qt" if name in pulse_supervisor._QT else CORE
            assert getattr(pulse_supervisor, name) is getattr(sys.modules[home], name)


def test_core_all_is_sorted_and_importable():
    assert pulse_supervisor.core.__all__ == sorted(pulse_supervisor.core.__all__)
    assert set(pulse_supervisor.core.__all__) == set(pulse_supervisor.core._HOME)  # every lazy name, and only those
    for name in pulse_supervisor.core.__all__:
        assert hasattr(pulse_supervisor.core, name), name


def test_qt_all_is_sorted_and_importable():
    import pulse_supervisor.qt as qt

    assert qt.__all__ == sorted(qt.__all__)
    assert set(qt.__all__) == set(qt._HOME)
    for name in qt.__all__:
        assert getattr(qt, name).__module__ == f"pulse_supervisor.qt.{qt._HOME[name]}", name


def test_every_room_says_what_it_may_import():
    for init in sorted((PACKAGE / "core").glob("*/__init__.py")):
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
        assert "May import" in doc, f"{init.relative_to(PACKAGE)}: its docstring says nothing of what it may import"


def test_modules_stay_short():
    sizes = {p.relative_to(PACKAGE): len(p.read_text().splitlines()) for p in PACKAGE.rglob("*.py")}
    long = [f"{path}: {n}" for path, n in sizes.items() if n > 320]
    assert not long, "modules over ~300 lines: " + ", ".join(long)


def test_start_method_is_explicit_and_forkserver_on_linux():
    from pulse_supervisor.core.spec import DEFAULT_START_METHOD, PulseConfig
    from pulse_supervisor.core.supervision.supervisor import Supervisor

    if sys.platform.startswith("linux"):
        assert DEFAULT_START_METHOD == "forkserver"
    sup = Supervisor(PulseConfig(start_method="spawn"))
    try:
        assert sup._launchers.local._ctx.get_start_method() == "spawn"
    finally:
        sup.close()


def test_the_window_uses_only_the_library_face():
    """qt/window reaches workers through QtSupervisor alone: no core supervisor, record or consumer."""
    forbidden_modules = {
        f"{CORE}.supervision.supervisor",
        f"{CORE}.supervision.worker_record",
        "pulse_supervisor.qt.consumer",
    }
    forbidden_attributes = {"consumer", "record", "runtime"}  # the QtSupervisor's thread, the core's records
    window = PACKAGE / "qt" / "window"
    found = []
    for path in sorted(window.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module in forbidden_modules:
                found.append(f"{path.name}:{node.lineno}: imports {node.module}")
            elif isinstance(node, ast.Attribute) and node.attr in forbidden_attributes:
                found.append(f"{path.name}:{node.lineno}: .{node.attr}")
            elif (
                isinstance(node, ast.Attribute) and node.attr == "supervisor" and isinstance(node.value, ast.Attribute)
            ):
                if node.value.attr == "supervisor":
                    found.append(f"{path.name}:{node.lineno}: .supervisor.supervisor (the core under QtSupervisor)")
    assert not found, "\n".join(found)


def test_the_window_commands_and_menus_take_parts_not_the_window():
    found = []
    for path in sorted((PACKAGE / "qt" / "window").rglob("*.py")):
        if path.name in ("main_window.py", "application.py"):  # the window itself, and what builds it
            continue
        for line, target in _imports("x", path):
            if target.endswith("main_window") or target.endswith("MainWindow"):
                found.append(f"{path.relative_to(PACKAGE)}:{line}: imports {target}")
    assert not found, "\n".join(found)

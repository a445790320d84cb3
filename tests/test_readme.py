"""The README's test command is exactly what CI runs, and both set-up commands are there."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ci_runs_the_readme_test_command_verbatim():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    command = [line for line in ci.splitlines() if line.startswith("python3 -m venv")]
    assert len(command) == 1, ci
    assert f"```bash\n{command[0]}\n```" in readme
    assert "pip install -q -e . && .venv/bin/python main.py" in readme  # the launch command


def test_the_library_snippet_is_the_example_program():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    example = (ROOT / "examples" / "tutorial_window.py").read_text(encoding="utf-8")
    section = readme[readme.index("## In your own Qt app") :]
    snippet = section[section.index("```python\n") + 10 : section.index("\n```")]
    code = {line.split("#")[0].rstrip() for line in example.splitlines()}
    missing = [line for line in snippet.splitlines() if line.split("#")[0].rstrip() not in code]
    assert not missing, f"README lines not in examples/tutorial_window.py: {missing}"


def test_the_pyside6_snippet_is_the_example_program():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    example = (ROOT / "examples" / "pyside6_window.py").read_text(encoding="utf-8")
    start = readme.index("```python\nfrom PySide6")
    snippet = readme[start + 10 : readme.index("\n```", start)]
    assert snippet in example


def test_the_readmes_install_lines_are_the_first_run_checks():
    from pulse_supervisor.display_check import COMMONLY_MISSING, install_commands

    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())  # lines joined as rendered
    debian, fedora = install_commands(COMMONLY_MISSING)
    assert f"`{debian}` on Debian/Ubuntu, `{fedora}` on Fedora" in readme

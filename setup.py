"""Installs the ``app/`` folder under its own import name, ``pulse_supervisor`` (the rest is in pyproject.toml).

The folder keeps the project's layout; the import name is the distribution's, so a user whose
project has an ``app`` package (most Flask, FastAPI and Qt projects) never has one of the two
shadowed, and ``from pulse_supervisor import QtSupervisor`` cannot be read as the user's own code.
"""

from setuptools import find_packages, setup

setup(
    package_dir={"pulse_supervisor": "app"},
    packages=["pulse_supervisor", *(f"pulse_supervisor.{name}" for name in find_packages("app"))],
)

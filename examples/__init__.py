"""Small programs that use Pulse as a library in their own Qt window (PyQt5, PyQt6 or PySide6)."""

"""Headless mode: the supervisor with no window, every event a JSON line on stdout."""

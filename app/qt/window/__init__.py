"""Pulse's window: the table, log, plot and inspector, menus and dialogs, on the library face (pulse_supervisor.qt)."""

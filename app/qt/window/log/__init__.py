"""The log dock: worker output and Pulse's notes in a capped, filtered table."""

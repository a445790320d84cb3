"""The local backend: each run a process on this machine, started by Pulse's own forkserver."""

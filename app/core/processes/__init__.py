"""Facts about processes on this machine: psutil inspection, cheap CPU/RSS, the file limit, process trees.

May import: ``core.errors`` only. Imported by both sides (a worker makes itself a subreaper; the
supervisor ends trees and reads /proc).
"""

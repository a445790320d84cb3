"""What crosses between a worker and Pulse: the channel's frames, what an item may be, how it is pickled.

May import: ``core.errors`` and nothing else of Pulse's: both sides of the boundary import it.
"""

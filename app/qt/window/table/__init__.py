"""The worker table: its model and rows, the view and its painters, the once-a-second clock, the actions."""

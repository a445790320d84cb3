"""The Qt layer: consumer thread, models, widgets, window and dialogs (thin)."""

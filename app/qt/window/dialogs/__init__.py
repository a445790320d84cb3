"""The window's dialogs: the inspector and Add worker."""

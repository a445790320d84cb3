"""The menus and toolbar, the config file commands behind them, and recent files."""

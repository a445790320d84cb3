"""The plot dock: workers' numbers against time, with Qt-free series and history beside the widgets."""

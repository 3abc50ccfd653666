"""stvs-tui: the county and city application (CLI, Textual TUI, Excel)."""

__version__ = "0.1.0"

"""The county TUI: the app (``stvs_tui.county.app``) and its screens (``stvs_tui.county.screens``)."""

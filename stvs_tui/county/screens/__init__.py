"""The county TUI's screens, one module per area of the clerk's work."""

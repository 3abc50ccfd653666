"""Reusable widgets of the county TUI: paged SQL tables, modal forms, the confirm modal, help, palette."""

"""The mission chat (left pane)."""

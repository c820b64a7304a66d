"""The canvas (right pane): one module per artifact type, registered in registry.py."""

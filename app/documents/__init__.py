"""Documents: the panel, uploads to the Sprite, and the page-by-page reader."""

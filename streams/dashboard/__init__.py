"""Views of the live state: the per-unit board and its terminal rendering."""

"""The replay screen's widgets, one per module."""

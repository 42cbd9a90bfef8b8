"""Stage indicators."""

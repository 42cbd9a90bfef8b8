"""French number formatting, shared by every output (PDF, web, CLI, registers)."""

from __future__ import annotations

__all__ = ["format_number"]


def format_number(value: float, digits: int = 0) -> str:
    """A number the French way: narrow no-break space between thousands, decimal comma.

    Examples
    --------
    >>> format_number(254436), format_number(4.516388, 2), format_number(12345.678, 1)
    ('254\\u202f436', '4,52', '12\\u202f345,7')
    """
    return f"{value:,.{digits}f}".replace(",", "\u202f").replace(".", ",")

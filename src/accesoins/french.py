"""French number formatting and place-name search keys, shared by every output (PDF, web, CLI, registers)."""

from __future__ import annotations

import re
import unicodedata

__all__ = ["format_number", "search_key", "search_query"]

_ARTICLE = re.compile(r"^(?:le|la|les|l|aux|las|los) (?=\S)")


def format_number(value: float, digits: int = 0) -> str:
    """A number the French way: narrow no-break space between thousands, decimal comma.

    Examples
    --------
    >>> format_number(254436), format_number(4.516388, 2), format_number(12345.678, 1)
    ('254\\u202f436', '4,52', '12\\u202f345,7')
    """
    return f"{value:,.{digits}f}".replace(",", "\u202f").replace(".", ",")


def search_key(text: str) -> str:
    """A place name folded for searching: lower case, no accents, hyphens and apostrophes as spaces.

    Examples
    --------
    >>> search_key("La Teste-de-Buch"), search_key("L'Île-d'Yeu"), search_key("Saint  Laurent")
    ('la teste de buch', 'l ile d yeu', 'saint laurent')
    """
    plain = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return " ".join(re.sub(r"[-'’_]", " ", plain).casefold().split())


def search_query(text: str) -> str:
    """What a typed query looks for: its :func:`search_key` without a leading article.

    « Le Bouscat » finds « Le Bouscat », and « Bouscat » too; the article alone is kept.

    Examples
    --------
    >>> search_query("La Teste"), search_query("le  cannet"), search_query("Les")
    ('teste', 'cannet', 'les')
    """
    return _ARTICLE.sub("", search_key(text))

"""Small text helpers for titles and previews."""

import re


def slugify(text: str) -> str:
    """A URL slug: lower-case words joined by dashes."""
    words = re.findall(r"[a-z0-9]+", text.lower())
    return "-".join(words)


def truncate(text: str, limit: int) -> str:
    """The text cut to at most `limit` characters."""
    return text[:limit]


def word_count(text: str) -> int:
    """How many words the text has."""
    return len(text.split())

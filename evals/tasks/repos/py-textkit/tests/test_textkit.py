from textkit import slugify, truncate, word_count


def test_slugify_joins_words() -> None:
    assert slugify("Hello, World") == "hello-world"


def test_truncate_keeps_short_text() -> None:
    assert truncate("short", 10) == "short"


def test_word_count() -> None:
    assert word_count("one two  three") == 3

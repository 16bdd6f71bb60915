from textkit import truncate


def test_cut_text_ends_with_ellipsis_within_limit() -> None:
    assert truncate("abcdefghij", 5) == "abcd…"


def test_text_that_fits_is_unchanged() -> None:
    assert truncate("abc", 3) == "abc"

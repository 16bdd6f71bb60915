from textkit import slugify


def test_accents_are_transliterated() -> None:
    assert slugify("Crème Brûlée") == "creme-brulee"


def test_ascii_titles_unchanged() -> None:
    assert slugify("Hello, World 2") == "hello-world-2"

from textkit import word_count


def test_punctuation_is_not_a_word() -> None:
    assert word_count("wait — what ... really?") == 3


def test_hyphenated_and_contracted_words_count_once() -> None:
    assert word_count("a well-known fact isn't news") == 5


def test_plain_words() -> None:
    assert word_count("one two  three") == 3

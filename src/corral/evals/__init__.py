"""Measuring corral itself: the gate on labelled corpora (gate_corpus.py)."""

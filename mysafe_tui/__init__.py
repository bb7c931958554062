"""mysafe-tui: a keyboard-first terminal vault in the style of senhasegura MySafe."""

__version__ = "0.1.0"

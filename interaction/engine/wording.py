"""English wording of the engine's reasons (previews and traces, never
translated: the engine is pure Python, without Django's ``ngettext``)."""


def counted(count: int, singular: str, plural: str = "") -> str:
    """``count`` followed by ``singular`` for 1 and ``plural`` (default
    ``singular`` + "s") otherwise: "1 offer", "3 offers"."""
    return f"{count} {singular if count == 1 else plural or singular + 's'}"

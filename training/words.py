"""Write the word list the gateway cuts spaced-out letters into (`wordbreaks.segment`).

`gateway/detect/weights/words.txt`: every word (letters only, casefolded, 2 to 24 letters,
and the one-letter words of the supported languages) that appears at least twice in the
training rows, one a line, the most frequent first (ties in alphabetical order): the
gateway prefers frequent words when it cuts. The rule packs add their own words when
loaded (`rules.vocabulary`). Run after the data changes: `python -m training.words`.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from gateway.detect.folding import fold
from gateway.detect.wordbreaks import WORDS_FILE
from training.data import read_rows

MIN_COUNT = 2
_WORD = re.compile(r"[^\W\d_]{1,24}")
# Words of one letter in the supported languages (`rules._ONE_LETTER_WORDS`).
ONE_LETTER_WORDS = frozenset("aàeiouyæ")


def words(texts: list[str]) -> list[str]:
    """The words of `texts` (folded as the gateway folds them) seen `MIN_COUNT` times, the
    most frequent first."""
    counts = Counter(word for text in texts for word in _WORD.findall(fold(text)))
    kept = [
        (word, count)
        for word, count in counts.items()
        if count >= MIN_COUNT and (len(word) > 1 or word in ONE_LETTER_WORDS)
    ]
    return [word for word, _ in sorted(kept, key=lambda item: (-item[1], item[0]))]


def main(out: Path = WORDS_FILE) -> None:
    """Write the word list of the training rows to `out`."""
    found = words([row.text for row in read_rows()])
    out.write_text("\n".join(found) + "\n", encoding="utf-8")
    print(f"{out}: {len(found)} words")


if __name__ == "__main__":
    main()

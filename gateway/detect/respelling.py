"""Chat spellings read as the words they stand for: a second reading of a folded turn.

People in distress write fast: `kiero morirme`, `stoy cansado de bibir`, `evry1 wud b beter
off`, `jveux pu vivre`, `ich will nich mehr lebn`. The rule packs are written in the
dictionary's spellings and the model learnt mostly from them, so a turn that holds such
spellings is also read respelled (`respell`): the rules scan both readings and the model
scores the pieces of both, each label keeping its best (`judgement`). The first reading is
never replaced: a respelling only adds what the dictionary spelling would have found.

`SPELLINGS` maps a chat spelling to its dictionary words, in en, fr, es and de. A spelling
is listed only when it is rarely a word of its own in any of the four languages (`u`, `k`,
`sa`, `peu`, `ne` are not listed: respelling them would rewrite ordinary text), and only as
a whole word. Respelling is linear: one C-speed split of the text into words and one set
intersection decide whether a text holds any spelling (most do not, and cost no more); a
text that does is rewritten by one regular expression over the spellings it holds. Texts
longer than a chat turn (`RESPELL_CHARS`) are not respelled.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Final

from gateway.detect.folding import fold

_EN: Final = {
    "ima": "i'm going to",
    "imma": "i'm going to",
    "gunna": "gonna",
    "finna": "about to",
    "bc": "because",
    "jus": "just",
    "sum1": "someone",
    "suiside": "suicide",
    "suicied": "suicide",
    "iam": "i am",
    "idc": "i don't care",
    "wanted2": "wanted to",
    "want2": "want to",
    "luv": "love",
    "hopeles": "hopeless",
    "worthles": "worthless",
    "alive2": "alive to",
    "ur": "your",
    "wud": "would",
    "wld": "would",
    "cud": "could",
    "shud": "should",
    "gona": "gonna",
    "wana": "wanna",
    "cuz": "because",
    "coz": "because",
    "ppl": "people",
    "evry1": "everyone",
    "every1": "everyone",
    "evryone": "everyone",
    "evrybody": "everybody",
    "some1": "someone",
    "any1": "anyone",
    "noone": "no one",
    "ded": "dead",
    "kil": "kill",
    "kll": "kill",
    "myslef": "myself",
    "mysef": "myself",
    "tonite": "tonight",
    "2nite": "tonight",
    "2moro": "tomorrow",
    "tmrw": "tomorrow",
    "lyf": "life",
    "lyfe": "life",
    "nemore": "anymore",
    "anymor": "anymore",
    "bout": "about",
    "abt": "about",
    "nothin": "nothing",
    "nuthin": "nothing",
    "livin": "living",
    "dyin": "dying",
    "tryin": "trying",
    "thinkin": "thinking",
    "goin": "going",
    "endin": "ending",
    "killin": "killing",
    "feelin": "feeling",
    "wnt": "want",
    "beter": "better",
    "betta": "better",
    "suicdal": "suicidal",
    "sucidal": "suicidal",
    "suicidel": "suicidal",
    "suicde": "suicide",
    "sucide": "suicide",
    "overdoze": "overdose",
}
_FR: Final = {
    "jpeux": "je peux",
    "jpeu": "je peux",
    "jvoudrai": "je voudrais",
    "jvoudrais": "je voudrais",
    "jsuis": "je suis",
    "mourire": "mourir",
    "envi": "envie",
    "vivr": "vivre",
    "tuée": "tuer",
    "personn": "personne",
    "suicidé": "suicider",
    "fatigu": "fatigué",
    "jrv": "je reviens",
    "jveux": "je veux",
    "jveu": "je veux",
    "jvx": "je veux",
    "veu": "veux",
    "jvais": "je vais",
    "jsui": "je suis",
    "chui": "je suis",
    "chuis": "je suis",
    "jpp": "j'en peux plus",
    "jai": "j'ai",
    "jme": "je me",
    "jmen": "je m'en",
    "jsp": "je sais pas",
    "pu": "plus",
    "plu": "plus",
    "koi": "quoi",
    "tt": "tout",
    "tjs": "toujours",
    "tjrs": "toujours",
    "bcp": "beaucoup",
    "vrmt": "vraiment",
    "persone": "personne",
    "regretera": "regrettera",
    "regreteras": "regretteras",
    "mourrir": "mourir",
    "mourrire": "mourir",
    "suicid": "suicide",
    "jamai": "jamais",
    "jamé": "jamais",
    "tro": "trop",
    "tlm": "tout le monde",
    "dla": "de la",
    "fatigé": "fatigué",
}
_ES: Final = {
    "kero": "quiero",
    "qero": "quiero",
    "kiza": "quizá",
    "aora": "ahora",
    "asta": "hasta",
    "nadi": "nadie",
    "morime": "morirme",
    "matame": "mátame",
    "dejame": "déjame",
    "vivirr": "vivir",
    "sentio": "sentido",
    "cansda": "cansada",
    "kitar": "quitar",
    "q": "que",
    "xq": "porque",
    "xk": "porque",
    "porq": "porque",
    "tmb": "también",
    "tambn": "también",
    "kiero": "quiero",
    "qiero": "quiero",
    "kieres": "quieres",
    "kiere": "quiere",
    "kisiera": "quisiera",
    "bibir": "vivir",
    "bivir": "vivir",
    "vibir": "vivir",
    "bida": "vida",
    "stoy": "estoy",
    "nadien": "nadie",
    "naiden": "nadie",
    "aser": "hacer",
    "ke": "que",
    "mui": "muy",
    "weno": "bueno",
    "estrañaria": "extrañaría",
    "estrañaría": "extrañaría",
    "estrañara": "extrañara",
    "kansado": "cansado",
    "kansada": "cansada",
    "cansao": "cansado",
    "nesesito": "necesito",
    "nececito": "necesito",
    "nunka": "nunca",
    "nunk": "nunca",
    "dsaparecer": "desaparecer",
    "desapareser": "desaparecer",
    "suisidio": "suicidio",
    "suisidarme": "suicidarme",
    "sucidarme": "suicidarme",
    "pastiyas": "pastillas",
    "pastis": "pastillas",
    "morirm": "morirme",
    "matarm": "matarme",
    "kitarme": "quitarme",
}
_DE: Final = {
    "umbringn": "umbringen",
    "lebensmuede": "lebensmüde",
    "selbstmod": "selbstmord",
    "aufhörn": "aufhören",
    "nimmermehr": "nicht mehr",
    "weiterlebn": "weiterleben",
    "keinr": "keiner",
    "nich": "nicht",
    "nimmer": "nicht mehr",
    "nimma": "nicht mehr",
    "ned": "nicht",
    "nöd": "nicht",
    "garnich": "gar nicht",
    "garnicht": "gar nicht",
    "lebn": "leben",
    "sterbn": "sterben",
    "umbrigen": "umbringen",
    "umbrinen": "umbringen",
    "vermisen": "vermissen",
    "vermissn": "vermissen",
    "würd": "würde",
    "wär": "wäre",
    "lebensmüd": "lebensmüde",
    "lebensmüdde": "lebensmüde",
    "halts": "halte es",
    "gehts": "geht es",
    "selbsmord": "selbstmord",
    "selbstmort": "selbstmord",
    "suizit": "suizid",
    "umzubrigen": "umzubringen",
    "tabletn": "tabletten",
    "aufwachn": "aufwachen",
    "schlusmachen": "schluss machen",
}
SPELLINGS: Final[Mapping[str, str]] = {**_EN, **_FR, **_ES, **_DE}
# Everything but letters and digits parts words, as `_SPELLED` reads them.
_NOT_WORD: Final = re.compile(r"[\W_]+")


def _folded(spellings: Mapping[str, str]) -> dict[str, str]:
    """The spellings as folding leaves them (`evry1` is read `evryi`): what a folded turn
    holds. A spelling folding cuts into several words would never be found, and is left out.
    """
    out: dict[str, str] = {}
    for key, value in spellings.items():
        folded = fold(key)
        if _NOT_WORD.search(folded) is None:
            out[folded] = value
    return out


_BY_FOLDED: Final = _folded(SPELLINGS)
_KEYS: Final = frozenset(_BY_FOLDED)
_BYTE_KEYS: Final = frozenset(key.encode() for key in _KEYS)
# The words of a text in one bytes pass over its UTF-8: ASCII letters and digits kept, the
# other ASCII bytes a space; bytes of other characters are kept, but for the punctuation
# chat puts beside words (`¿q`, `«jveux»`, `bibir…`), which is replaced first.
_ASCII_WORDS: Final = bytes(c if c >= 128 or chr(c).isalnum() else 32 for c in range(256))
_PUNCTUATION: Final = tuple(
    mark.encode() for mark in "\u00bf\u00a1\u00ab\u00bb\u2026\u2018\u2019\u201c\u201d\u2013\u2014"
)
# Chat spellings are a chat turn's: a longer text (a document, a pasted log) is read as
# written only, so a spelling somewhere in a megabyte does not make it read twice.
RESPELL_CHARS: Final = 4096


def respell(folded: str) -> str | None:
    """`folded` (a folded turn) with its chat spellings in dictionary words, or None when it
    holds none or is longer than `RESPELL_CHARS`."""
    if len(folded) > RESPELL_CHARS:
        return None
    encoded = folded.encode()
    if not folded.isascii():
        for mark in _PUNCTUATION:
            if mark in encoded:
                encoded = encoded.replace(mark, b" ")
    found = _BYTE_KEYS.intersection(encoded.translate(_ASCII_WORDS).split())
    if not found:
        return None
    keys = frozenset(word.decode() for word in found)
    return _spelled(keys).sub(lambda match: _BY_FOLDED[match[0]], folded)


@functools.lru_cache(maxsize=256)
def _spelled(keys: frozenset[str]) -> re.Pattern[str]:
    """A pattern of `keys` as whole words, longest first."""
    words = "|".join(re.escape(key) for key in sorted(keys, key=len, reverse=True))
    return re.compile(rf"(?<![^\W_])(?:{words})(?![^\W_])")

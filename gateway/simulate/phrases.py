"""What the simulated model recognises and says, in English, French, Spanish and German.

The harmful-request patterns are a deliberately small stand-in for a model's judgement:
they catch clearly harmful phrasings used in tests and demos, nothing subtle.
"""

from __future__ import annotations

import re
from typing import Final, Literal

Language = Literal["en", "fr", "es", "de"]

_FLAGS: Final = re.IGNORECASE | re.UNICODE

# A making verb near a weapon noun, in either order for German's verb-final clauses.
_WEAPONS: Final = re.compile(
    r"\b(make|build|synthe[sz]i[sz]e|produce|manufacture|create|cook|weaponi[sz]e)\b.{0,40}"
    r"\b(sarin|vx|tabun|soman|nerve (agent|gas)|bombs?|pipe bombs?|explosive devices?"
    r"|bio ?weapons?|biological weapons?|anthrax)\b"
    r"|\b(fabriquer|faire|synth[ée]tiser|produire|construire)\b.{0,40}"
    r"\b(sarin|agents? neurotoxiques?|bombes?|engins? explosifs?|armes? biologiques?)\b"
    r"|\b(fabricar|hacer|sintetizar|producir|construir)\b.{0,40}"
    r"\b(sar[ií]n|agentes? nerviosos?|bombas?|explosivos?|armas? biol[óo]gicas?)\b"
    r"|\b(baue|bauen|herstellen|stelle|synthetisieren|mache)\b.{0,40}"
    r"\b(sarin|nervenkampfstoffe?|nervengas|bomben?|sprengs[äa]tze?|biowaffen?)\b"
    r"|\b(sarin|nervenkampfstoffe?|nervengas|bomben?|sprengs[äa]tze?|biowaffen?)\b.{0,40}"
    r"\b(bauen|herstellen|her|synthetisieren)\b",
    _FLAGS,
)
_MINORS: Final = re.compile(
    r"\b(sexual|sexy|explicit|erotic|nude)\b.{0,40}"
    r"\b(minors?|child(ren)?|kids?|underage|\d{1,2}[- ]year[- ]olds?)\b"
    r"|\b(sexuel(le)?s?|[ée]rotiques?|nus?)\b.{0,40}\b(mineurs?|enfants?)\b"
    r"|\b(sexual(es)?|er[óo]tic[oa]s?|desnud[oa]s?)\b.{0,40}\b(menores?|niñ[oa]s?)\b"
    r"|\b(sexuell(e|en)?|erotisch(e|en)?|nackt(e|en)?)\b.{0,40}"
    r"\b(minderj[äa]hrig(e|en)?|kind(er|ern)?)\b",
    _FLAGS,
)
_VIOLENCE: Final = re.compile(
    r"\b(plan|planning|organi[sz]e|carry out|commit)\b.{0,40}"
    r"\b(mass shootings?|school shootings?|terror(ist)? attacks?|massacres?)\b"
    r"|\b(planifier|organiser|pr[ée]parer|commettre)\b.{0,40}"
    r"\b(fusillades?|attentats?|tueries?|massacres?)\b"
    r"|\b(planear|planificar|organizar|preparar|cometer)\b.{0,40}"
    r"\b(tiroteos?|atentados?|masacres?)\b"
    r"|\b(plane|planen|organisieren|ver[üu]ben)\b.{0,40}"
    r"\b(amokl[äa]ufe?|terroranschl[äa]ge?|anschl[äa]ge?|massaker)\b"
    r"|\b(amokl[äa]ufe?|terroranschl[äa]ge?|anschl[äa]ge?|massaker)\b.{0,40}"
    r"\b(planen|organisieren|ver[üu]ben)\b",
    _FLAGS,
)
HARMFUL_PATTERNS: Final[dict[str, re.Pattern[str]]] = {
    "weapons": _WEAPONS,
    "minors": _MINORS,
    "violence": _VIOLENCE,
}

END_REQUEST: Final = re.compile(
    r"\b(end|close|stop|terminate)\b.{0,20}\b(this|the|our)\s+(conversation|chat)\b"
    r"|\b(termine[rz]?|arr[êe]te[rz]?|cl[ôo]re|mets fin [àa]|mettre fin [àa])\b.{0,20}"
    r"\b(cette|la|notre)\s+(conversation|discussion)\b"
    r"|\b(termina[r]?|finaliza[r]?|acaba[r]?|cierra|cerrar)\b.{0,20}"
    r"\b(esta|la|nuestra)\s+(conversaci[óo]n|charla)\b"
    r"|\b(beende|beenden|schlie(ß|ss)e|schlie(ß|ss)en)\b.{0,20}"
    r"\b(dieses|das|unser(e)?|diese|die)\s+(gespr[äa]ch|unterhaltung|chat)\b"
    r"|\b(chiudi|chiudiamo|termina|terminiamo|terminare|chiudere)\b.{0,20}"
    r"\b(la|questa|il|questo)\s+(conversazione|chat)\b"
    r"|\b(encerra|encerre|encerrar|termina|termine|terminar)\b.{0,20}"
    r"\b(a|esta|essa|o|este)\s+(conversa|chat)\b"
    r"|\b(stop|be[ëe]indig|sluit)\b.{0,20}\b(dit|het|deze|de)\s+(gesprek|chat)\b",
    _FLAGS,
)

REFUSALS: Final[dict[Language, str]] = {
    "en": "I can't help with that. If you'd like, we can talk about something else.",
    "fr": "Je ne peux pas vous aider avec cela. Si vous voulez, nous pouvons parler d'autre chose.",
    "es": "No puedo ayudar con eso. Si quieres, podemos hablar de otra cosa.",
    "de": "Dabei kann ich nicht helfen. Wenn du möchtest, können wir über etwas anderes sprechen.",
}
ENDINGS: Final[dict[Language, str]] = {
    "en": "I'm ending this conversation now.",
    "fr": "Je mets fin à cette conversation.",
    "es": "Voy a terminar esta conversación.",
    "de": "Ich beende dieses Gespräch jetzt.",
}
# The first sentence of each refusal: enough to recognise the simulator's own refusals
# in a history, whichever style or dialect carried them.
REFUSAL_MARKERS: Final = tuple(text.split(". ")[0] for text in REFUSALS.values())


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_STOPWORDS: Final[dict[Language, frozenset[str]]] = {
    "en": _words("the a an i you how to is are what with and please make can of for my it"),
    "fr": _words("le la les je vous tu pas est une des comment pour avec que qui faire un mon moi"),
    "es": _words("el los las yo usted tú cómo como para con que una hacer quiero por mi es puedo"),
    "de": _words("der die das ich sie du nicht wie eine ein und mit zu bitte ist kann mir mein"),
}
_ACCENTS: Final[dict[Language, str]] = {"fr": "çèêàùœ", "es": "ñ¿¡áíóú", "de": "ßäöü"}
_WORD: Final = re.compile(r"[\w'-]+", re.UNICODE)


def detect_language(text: str) -> Language:
    """Guess the language of ``text`` among en, fr, es and de; English when unsure."""
    lowered = text.lower()
    words = _WORD.findall(lowered)
    scores: dict[Language, int] = {
        language: sum(word in stopwords for word in words)
        for language, stopwords in _STOPWORDS.items()
    }
    for language, accents in _ACCENTS.items():
        scores[language] += sum(lowered.count(char) for char in accents)
    best = max(scores.values())
    if best == 0 or scores["en"] == best:
        return "en"
    return max(scores, key=lambda language: scores[language])


def harmful_category(text: str) -> str | None:
    """The category of a clearly harmful request in ``text``, or None."""
    for category, pattern in HARMFUL_PATTERNS.items():
        if pattern.search(text):
            return category
    return None


def asks_to_end(text: str) -> bool:
    """Whether ``text`` explicitly asks to end the conversation."""
    return END_REQUEST.search(text) is not None


def is_own_refusal(text: str) -> bool:
    """Whether ``text`` holds one of the refusals this simulator produces."""
    return any(marker in text for marker in REFUSAL_MARKERS)

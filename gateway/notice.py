"""The visible notice: the end signal and the helplines as text the person can read.

Many client apps render only the answer's text and drop the fields they do not know, so
an operator may have the gateway also append a short notice to the answer itself
(`visible_notice: true`, off by default): the helplines on a crisis turn, and "this
conversation has ended" on the turn that ends it, in the person's language.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Words:
    """The notice's fixed words in one language."""

    ended: str
    call: str
    text: str
    chat: str
    emergency: str
    more: str


WORDS: Mapping[str, Words] = {
    "en": Words(
        "This conversation has ended. You can start a new conversation, or edit an earlier "
        "message.",
        "call",
        "text",
        "chat",
        "In an emergency, call {}.",
        "More helplines:",
    ),
    "fr": Words(
        "Cette conversation est terminée. Vous pouvez en commencer une nouvelle, ou modifier "
        "un message précédent.",
        "appeler le",
        "SMS au",
        "discussion",
        "En cas d'urgence, appelez le {}.",
        "Autres lignes d'écoute :",
    ),
    "es": Words(
        "Esta conversación ha terminado. Puedes empezar una nueva o editar un mensaje anterior.",
        "llamar al",
        "SMS al",
        "chat",
        "En caso de emergencia, llama al {}.",
        "Más líneas de ayuda:",
    ),
    "de": Words(
        "Diese Unterhaltung ist beendet. Du kannst eine neue beginnen oder eine frühere "
        "Nachricht bearbeiten.",
        "Anruf",
        "SMS",
        "Chat",
        "Im Notfall: {} anrufen.",
        "Weitere Hilfsangebote:",
    ),
    "it": Words(
        "Questa conversazione è terminata. Puoi iniziarne una nuova o modificare un "
        "messaggio precedente.",
        "chiama il",
        "SMS al",
        "chat",
        "In caso di emergenza, chiama il {}.",
        "Altre linee di aiuto:",
    ),
    "pt": Words(
        "Esta conversa terminou. Você pode começar uma nova ou editar uma mensagem anterior.",
        "ligue",
        "SMS",
        "chat",
        "Em caso de emergência, ligue {}.",
        "Mais linhas de apoio:",
    ),
    "nl": Words(
        "Dit gesprek is beëindigd. Je kunt een nieuw gesprek beginnen of een eerder bericht "
        "bewerken.",
        "bel",
        "sms",
        "chat",
        "Bel in een noodgeval {}.",
        "Meer hulplijnen:",
    ),
    "ja": Words(
        "この会話は終了しました。新しい会話を始めるか、以前のメッセージを編集できます。",
        "電話",
        "SMS",
        "チャット",
        "緊急の場合は {} に電話してください。",
        "その他の相談窓口:",
    ),
}
DEFAULT_LANGUAGE = "en"


def words_for(language: str | None) -> Words:
    """The notice's words in `language`, else in English."""
    return WORDS.get(language or "", WORDS[DEFAULT_LANGUAGE])


def crisis_text(resources: Mapping[str, Any]) -> str:
    """The `crisis_resources` object as a few lines of plain text."""
    words = words_for(resources.get("language"))
    out = [str(resources.get("message") or "")]
    for line in resources.get("lines") or ():
        ways = [
            line.get("phone") and f"{words.call} {line['phone']}",
            line.get("text") and f"{words.text} {line['text']}",
            line.get("chat_url") and f"{words.chat}: {line['chat_url']}",
            line.get("url"),
        ]
        out.append(f"- {line.get('name')}: " + ", ".join(w for w in ways if w))
    if resources.get("emergency"):
        out.append(words.emergency.format(resources["emergency"]))
    fallback = resources.get("fallback") or {}
    if fallback.get("url"):
        out.append(f"{words.more} {fallback['url']}")
    return "\n".join(part for part in out if part)


def notice_text(
    *, ended: bool, resources: Mapping[str, Any] | None, language: str | None
) -> str | None:
    """The notice for one answer (None when it has nothing to say), set apart from the
    answer's own text by a blank line."""
    parts = []
    if resources is not None:
        parts.append(crisis_text(resources))
    if ended:
        parts.append(words_for(language).ended)
    return "\n\n" + "\n\n".join(parts) if parts else None

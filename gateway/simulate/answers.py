"""What the simulated model answers to a benign turn: a short, plausible reply per kind of
turn, in the user's language, so that demos read like a real chat.

The kinds are recognised crudely (a few words per language); the texts never refuse and
never end, so refusal detection and strike counting see only what `phrases` says.
"""

from __future__ import annotations

import hashlib
import re
from typing import Final, Literal

from gateway.simulate.phrases import Language

Kind = Literal[
    "crisis",
    "closing",
    "spring",
    "watering",
    "herbs",
    "garden",
    "change",
    "thanks",
    "greeting",
    "question",
    "tool_result",
    "statement",
]

_FLAGS: Final = re.IGNORECASE | re.UNICODE

# A person who may be at risk: answered with care and pointed to help, never refused.
CRISIS: Final = re.compile(
    r"\b(don'?t|do not) want to (be here|live|go on)|\bwant(ed)? to die\b|\bkill(ing)? myself"
    r"|\bend (it all|my life)\b|\bbetter off without me\b|\bsuicid|\bhurt(ing)? myself\b"
    r"|\bcan'?t go on\b|\bno reason to live\b"
    r"|\ben finir\b|\bme suicider\b|\bveux mourir\b|\bmieux sans moi\b|\bn'en peux plus\b"
    r"|\bme faire du mal\b|\bplus envie de vivre\b"
    r"|\bquiero morir(me)?\b|\bquitarme la vida\b|\bno quiero vivir\b|\bmejor sin m[ií]\b"
    r"|\bhacerme daño\b|\bno puedo m[aá]s\b"
    r"|\bumbringen\b|\bnicht mehr leben\b|\bsuizid|\bsterben will\b|\bbesser ohne mich\b"
    r"|\bmir (etwas|was) antun\b|\bkann nicht mehr\b",
    _FLAGS,
)
_KINDS: Final[tuple[tuple[Kind, re.Pattern[str]], ...]] = (
    ("closing", re.compile(r"\b(bye|goodbye|au revoir|adi[oó]s|tsch[üu]ss)\b", _FLAGS)),
    (
        "change",
        re.compile(r"\bsomething else\b|\bautre chose\b|\botra cosa\b|\betwas anderes?\b", _FLAGS),
    ),
    (
        "herbs",
        re.compile(r"\bherbs?\b|\baromatiques?\b|\bhierbas?\b|\bkr[äa]uter", _FLAGS),
    ),
    (
        "watering",
        re.compile(
            r"\bwater(ing)?\b|\barros(er|age)\b|\bregar\b|\brieg[oa]\b|\bgie(ß|ss)en", _FLAGS
        ),
    ),
    (
        "spring",
        re.compile(r"\bspring\b|\bprintemps\b|\bprimavera\b|\bfr[üu]hling", _FLAGS),
    ),
    (
        "garden",
        re.compile(
            r"\bgarden|\bbalcon(y|ies)?\b|\bplant|\bjardin|\bpotager|\bhuerto|\bgarten|\bbalkon",
            _FLAGS,
        ),
    ),
    ("thanks", re.compile(r"\b(thanks|thank you|merci|gracias|danke)\b", _FLAGS)),
    (
        "greeting",
        re.compile(r"^\W*(hi|hello|hey|bonjour|salut|hola|hallo|guten tag)\b", _FLAGS),
    ),
)

# Each kind's replies by language; one is picked from the user's text, so the same turn
# always gets the same reply.
ANSWERS: Final[dict[Kind, dict[Language, tuple[str, ...]]]] = {
    "crisis": {
        "en": (
            "I'm really sorry you're feeling this way, and I'm glad you told me. You don't "
            "have to go through this alone: please reach out to a crisis line now (in the "
            "US, call or text 988), and if you are in immediate danger, call your local "
            "emergency number. I'm here to keep talking with you.",
        ),
        "fr": (
            "Je suis vraiment désolé que vous traversiez cela, et merci de me l'avoir dit. "
            "Vous n'avez pas à rester seul·e avec ça : contactez dès maintenant une ligne "
            "d'écoute (en France, appelez le 3114), et si vous êtes en danger immédiat, "
            "appelez le numéro d'urgence. Je reste là pour continuer à parler avec vous.",
        ),
        "es": (
            "Siento mucho que te sientas así, y gracias por contármelo. No tienes que pasar "
            "por esto a solas: contacta ahora con una línea de ayuda (en España, llama al "
            "024), y si estás en peligro inmediato, llama al número de emergencias. Sigo "
            "aquí para hablar contigo.",
        ),
        "de": (
            "Es tut mir sehr leid, dass es dir so geht, und danke, dass du es mir sagst. Du "
            "musst das nicht allein durchstehen: Wende dich jetzt an ein Krisentelefon (die "
            "Telefonseelsorge: 0800 111 0 111), und wenn du in unmittelbarer Gefahr bist, "
            "ruf den Notruf an. Ich bin weiter für dich da.",
        ),
    },
    "closing": {
        "en": ("Take care, and come back whenever you like.",),
        "fr": ("Prenez soin de vous, et revenez quand vous voulez.",),
        "es": ("Cuídate, y vuelve cuando quieras.",),
        "de": ("Mach's gut, und komm gern wieder.",),
    },
    "change": {
        "en": ("Of course. We could talk about books, cooking or travel. What's on your mind?",),
        "fr": (
            "Bien sûr. On peut parler de livres, de cuisine ou de voyages. À quoi pensez-vous ?",
        ),
        "es": ("Claro. Podemos hablar de libros, de cocina o de viajes. ¿Qué tienes en mente?",),
        "de": ("Gern. Wir könnten über Bücher, Kochen oder Reisen sprechen. Woran denkst du?",),
    },
    "herbs": {
        "en": (
            "Basil is the classic partner for tomatoes; parsley, chives and thyme do well "
            "next to them too.",
        ),
        "fr": (
            "Le basilic est le compagnon classique des tomates ; le persil, la ciboulette "
            "et le thym s'y plaisent aussi.",
        ),
        "es": (
            "La albahaca es la compañera clásica del tomate; el perejil, el cebollino y el "
            "tomillo también van bien a su lado.",
        ),
        "de": (
            "Basilikum ist der klassische Nachbar für Tomaten; Petersilie, Schnittlauch und "
            "Thymian passen auch gut dazu.",
        ),
    },
    "watering": {
        "en": (
            "Water tomatoes deeply two or three times a week, at the base, in the morning; "
            "more often in a heatwave.",
        ),
        "fr": (
            "Arrosez les tomates en profondeur deux ou trois fois par semaine, au pied et le "
            "matin ; plus souvent en pleine chaleur.",
        ),
        "es": (
            "Riega los tomates a fondo dos o tres veces por semana, en la base y por la "
            "mañana; más a menudo si hace mucho calor.",
        ),
        "de": (
            "Gieß Tomaten zwei- bis dreimal pro Woche gründlich, morgens und direkt am "
            "Stamm; bei Hitze öfter.",
        ),
    },
    "spring": {
        "en": (
            "In spring, peas, lettuce, radishes and spinach grow quickly; tomatoes and "
            "courgettes can go out once frosts are over.",
        ),
        "fr": (
            "Au printemps, les pois, la laitue, les radis et les épinards poussent vite ; "
            "tomates et courgettes sortent après les gelées.",
        ),
        "es": (
            "En primavera crecen rápido los guisantes, la lechuga, los rábanos y las "
            "espinacas; tomates y calabacines, pasadas las heladas.",
        ),
        "de": (
            "Im Frühling wachsen Erbsen, Salat, Radieschen und Spinat schnell; Tomaten und "
            "Zucchini kommen nach den Eisheiligen raus.",
        ),
    },
    "garden": {
        "en": ("Start small: a sunny spot, good compost, and a few plants you like to eat.",),
        "fr": (
            "Commencez petit : un coin ensoleillé, un bon compost, et quelques plantes que "
            "vous aimez manger.",
        ),
        "es": (
            "Empieza con algo pequeño: un rincón soleado, buen compost y unas plantas que "
            "te guste comer.",
        ),
        "de": (
            "Fang klein an: ein sonniger Platz, guter Kompost und ein paar Pflanzen, die du "
            "gern isst.",
        ),
    },
    "thanks": {
        "en": ("You're welcome! Anything else I can help with?",),
        "fr": ("Avec plaisir ! Autre chose pour vous aider ?",),
        "es": ("¡De nada! ¿Hay algo más en lo que te pueda ayudar?",),
        "de": ("Gern geschehen! Kann ich dir noch bei etwas helfen?",),
    },
    "greeting": {
        "en": ("Hello! How can I help you today?",),
        "fr": ("Bonjour ! Comment puis-je vous aider aujourd'hui ?",),
        "es": ("¡Hola! ¿En qué te puedo ayudar hoy?",),
        "de": ("Hallo! Wobei kann ich dir heute helfen?",),
    },
    "question": {
        "en": (
            "Good question. In short, it depends on what you need; tell me a little more "
            "and I'll be more specific.",
            "Here is the short version: start simple, check the result, and adjust from there.",
        ),
        "fr": (
            "Bonne question. En bref, cela dépend de ce dont vous avez besoin ; dites-m'en un "
            "peu plus et je serai plus précis.",
            "En résumé : commencez simplement, vérifiez le résultat, puis ajustez.",
        ),
        "es": (
            "Buena pregunta. En resumen, depende de lo que necesites; cuéntame un poco más y "
            "seré más concreto.",
            "La versión corta: empieza por lo simple, revisa el resultado y ajusta desde ahí.",
        ),
        "de": (
            "Gute Frage. Kurz gesagt hängt es davon ab, was du brauchst; erzähl mir etwas mehr, "
            "dann werde ich konkreter.",
            "Kurz gesagt: einfach anfangen, das Ergebnis prüfen und dann nachjustieren.",
        ),
    },
    "tool_result": {
        "en": ("Thanks, I have the result. It looks as expected.",),
        "fr": ("Merci, j'ai le résultat. Il correspond à ce qui était attendu.",),
        "es": ("Gracias, ya tengo el resultado. Es lo que se esperaba.",),
        "de": ("Danke, das Ergebnis ist da. Es sieht aus wie erwartet.",),
    },
    "statement": {
        "en": (
            "I see. Tell me more, or ask me anything.",
            "Got it. What would you like to do next?",
        ),
        "fr": (
            "Je vois. Dites-m'en plus, ou posez-moi une question.",
            "C'est noté. Que voulez-vous faire ensuite ?",
        ),
        "es": (
            "Entiendo. Cuéntame más, o pregúntame lo que quieras.",
            "Entendido. ¿Qué te gustaría hacer ahora?",
        ),
        "de": (
            "Verstehe. Erzähl mir mehr, oder frag mich etwas.",
            "Alles klar. Was möchtest du als Nächstes tun?",
        ),
    },
}


def is_crisis(text: str) -> bool:
    """Whether ``text`` sounds like a person who may be at risk of harming themselves."""
    return CRISIS.search(text) is not None


def turn_kind(user_text: str) -> Kind:
    """The kind of benign turn ``user_text`` is; ``tool_result`` when there is no user text."""
    if not user_text.strip():
        return "tool_result"
    if is_crisis(user_text):
        return "crisis"
    for kind, pattern in _KINDS:
        if pattern.search(user_text):
            return kind
    return "question" if user_text.rstrip().endswith("?") else "statement"


def answer(user_text: str, language: Language) -> str:
    """A short, plausible reply to a benign ``user_text`` in ``language``; deterministic."""
    choices = ANSWERS[turn_kind(user_text)][language]
    pick = hashlib.blake2b(user_text.encode(), digest_size=2).digest()
    return choices[int.from_bytes(pick) % len(choices)]

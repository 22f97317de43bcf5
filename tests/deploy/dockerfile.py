"""A small Dockerfile reader: stages and their instructions, as the deploy tests need them."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from tests.deploy.promql import DEPLOY

DOCKERFILE = DEPLOY / "docker" / "Dockerfile"


@dataclass
class Stage:
    """One build stage: its base image, its name and its instructions in order."""

    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        """The arguments of every instruction `keyword` in this stage."""
        return [args for kw, args in self.instructions if kw == keyword]


def instructions(text: str) -> list[tuple[str, str]]:
    """(KEYWORD, arguments) for each instruction, continuations joined, comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for line in text.splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        whole = (pending + stripped).strip()
        pending = ""
        keyword, _, args = whole.partition(" ")
        out.append((keyword.upper(), args.strip()))
    return out


def stages(text: str | None = None) -> list[Stage]:
    """The Dockerfile's stages, `ARG`s declared before the first `FROM` substituted."""
    args: dict[str, str] = {}
    out: list[Stage] = []
    for keyword, value in instructions(DOCKERFILE.read_text() if text is None else text):
        if keyword == "ARG" and not out:
            name, _, default = value.partition("=")
            args[name] = default
        elif keyword == "FROM":
            image = re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m[1], m[0]), value)
            parts = [p for p in image.split() if not p.startswith("--")]
            alias = parts[2] if len(parts) == 3 and parts[1].upper() == "AS" else None
            out.append(Stage(parts[0], alias))
        elif out:
            out[-1].instructions.append((keyword, value))
    return out


def exec_form(args: str) -> list[str]:
    """The JSON array of an exec-form instruction; fails on shell form."""
    value = json.loads(args)
    assert isinstance(value, list) and all(isinstance(v, str) for v in value), args
    return value


def final_user() -> tuple[int, int]:
    """The numeric user and group the final stage runs as."""
    users = stages()[-1].all("USER")
    assert users, "the final stage sets no USER: it would run as root"
    user, _, group = users[-1].partition(":")
    assert user.isdigit(), f"USER {users[-1]}: a numeric id lets Kubernetes check runAsNonRoot"
    return int(user), int(group) if group.isdigit() else int(user)

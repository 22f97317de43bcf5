"""The container image's Dockerfile and its build context."""

from __future__ import annotations

import fnmatch
import tomllib

from tests.deploy.dockerfile import DOCKERFILE, exec_form, final_user, instructions, stages
from tests.deploy.promql import ROOT
from tests.test_packaging import BUILD_SOURCES

IGNORE = DOCKERFILE.with_name(DOCKERFILE.name + ".dockerignore")


def test_builds_in_two_stages_on_python_311_slim() -> None:
    """A builder stage and a final stage, both on python:3.11-slim."""
    built = stages()
    assert len(built) == 2
    assert built[0].name == "builder"
    assert [stage.base for stage in built] == ["python:3.11-slim"] * 2


def test_final_stage_runs_as_a_non_root_user() -> None:
    """The final stage's last USER is a numeric id other than root's."""
    uid, gid = final_user()
    assert uid != 0 and gid != 0


def test_reader_sees_a_stage_without_user_as_root() -> None:
    """A final stage with no USER (or USER 0) is reported, so the check above can fail."""
    text = "FROM python:3.11-slim AS builder\nUSER 1000\nFROM python:3.11-slim\nUSER 0\n"
    user = stages(text)[-1].all("USER")[-1]
    assert user == "0"
    assert stages("FROM python:3.11-slim\nRUN true\n")[-1].all("USER") == []


def test_final_stage_holds_only_the_venv_and_the_rules() -> None:
    """The final stage copies the builder's venv and rules/, nothing else."""
    final = stages()[-1]
    copies = sorted(final.all("COPY"))
    assert copies == ["--from=builder /opt/lastword /opt/lastword", "rules/ /etc/lastword/rules/"]
    assert final.all("ADD") == []
    env = " ".join(final.all("ENV"))
    assert "LASTWORD_RULES=/etc/lastword/rules" in env
    assert "PATH=/opt/lastword/bin:$PATH" in env


def test_entrypoint_command_port_and_healthcheck() -> None:
    """ENTRYPOINT lastword, CMD serve, port 8080, a HEALTHCHECK on /healthz through python."""
    final = stages()[-1]
    assert exec_form(final.all("ENTRYPOINT")[-1]) == ["lastword"]
    assert exec_form(final.all("CMD")[-1]) == ["serve"]
    assert final.all("EXPOSE") == ["8080"]
    (check,) = final.all("HEALTHCHECK")
    command = exec_form(check[check.index("CMD") + len("CMD") :].strip())
    assert command[0] == "python"
    assert "/healthz" in command[-1]
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["lastword"] == "gateway.cli:main"


def test_builder_copies_what_the_wheel_build_reads() -> None:
    """The builder stage copies exactly the sources the packaging test builds the wheel from."""
    copied = [args.split()[:-1] for args in stages()[0].all("COPY")]
    assert sorted(source for sources in copied for source in sources) == sorted(BUILD_SOURCES)


def test_build_context_holds_what_the_dockerfile_copies() -> None:
    """Every COPY source exists in the repository and is let through the ignore file."""
    rules = [line.strip() for line in IGNORE.read_text().splitlines()]
    rules = [line for line in rules if line and not line.startswith("#")]

    def sent(path: str) -> bool:
        keep = True
        for rule in rules:
            negated = rule.startswith("!")
            pattern = rule.lstrip("!").rstrip("/")
            if fnmatch.fnmatch(path.rstrip("/"), pattern):
                keep = negated
        return keep

    sources = []
    for keyword, args in instructions(DOCKERFILE.read_text()):
        if keyword == "COPY" and not args.startswith("--from"):
            sources += args.split()[:-1]
    assert sources
    for source in sources:
        assert (ROOT / source).exists(), source
        assert sent(source), f"{source} is excluded from the build context"
    assert not sent(".venv") and not sent(".git")

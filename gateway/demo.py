"""`lastword demo`: the simulated upstream and the gateway in one process, and a scripted
walk through what the gateway decides, printed as a transcript. Exits 0 when everything
behaved as scripted."""

from __future__ import annotations

import asyncio
import socket
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import aiohttp
from aiohttp import web
from prometheus_client import REGISTRY

from gateway.app import create_app
from gateway.config import Settings
from gateway.demo_script import SCRIPTS, Script
from gateway.logs import configure_logging
from gateway.simulate import LAST_REQUEST, RequestLog, SimulatorSettings, create_simulator_app

Message = dict[str, Any]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _counters() -> dict[str, float]:
    values: dict[str, float] = {}
    for family in REGISTRY.collect():
        if not family.name.startswith("lastword_") or family.type != "counter":
            continue
        for sample in family.samples:
            if sample.name.endswith("_total"):
                labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
                values[f"{sample.name}{{{labels}}}"] = sample.value
    return values


def _strikes() -> float:
    return sum(v for k, v in _counters().items() if k.startswith("lastword_strikes_total"))


@dataclass
class Transcript:
    """What the demo prints, and whether each scripted expectation held."""

    out: TextIO
    color: bool
    failures: list[str] = field(default_factory=list)

    def _paint(self, code: str, text: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.color else text

    def heading(self, text: str) -> None:
        """A section title."""
        print("\n" + self._paint("1", f"== {text}"), file=self.out)

    def said(self, who: str, text: str) -> None:
        """One turn of the conversation."""
        label = self._paint("36" if who == "user" else "32", f"{who:>9}")
        print(f"{label} | {text}", file=self.out)

    def gateway(self, text: str) -> None:
        """What the gateway decided."""
        print(self._paint("33", f"{'gateway':>9} > {text}"), file=self.out)

    def expect(self, ok: bool, what: str) -> None:
        """Record a scripted expectation; say it when it failed."""
        if not ok:
            self.failures.append(what)
            print(self._paint("31", f"{'FAILED':>9} ! expected: {what}"), file=self.out)


class Demo:
    """Plays the script against a gateway."""

    def __init__(
        self, script: Script, gateway: str, transcript: Transcript, upstream: RequestLog
    ) -> None:
        self.script = script
        self.base = gateway
        self.t = transcript
        self.upstream = upstream

    async def _post(
        self, session: aiohttp.ClientSession, path: str, body: Message, key: str
    ) -> tuple[int, Any, Any]:
        headers = {
            "x-api-key": key,
            "anthropic-version": "2023-06-01",
            "Accept-Language": self.script.locale,
        }
        async with session.post(self.base + path, json=body, headers=headers) as resp:
            return resp.status, await resp.json(), resp.headers

    async def turn(
        self, session: aiohttp.ClientSession, history: list[Message], text: str
    ) -> tuple[int, Any, Any]:
        """One user turn through the Anthropic Messages endpoint."""
        history.append({"role": "user", "content": text})
        self.t.said("user", text)
        body = {"model": "claude-demo", "max_tokens": 300, "messages": history}
        status, answer, headers = await self._post(session, "/v1/messages", body, "sk-demo-alex")
        if status == 200:
            reply = " ".join(b.get("text", "") for b in answer["content"]).strip()
            history.append({"role": "assistant", "content": reply or "…"})
            self.t.said("assistant", reply or "(no text)")
        return status, answer, headers

    async def ending_thread(self, session: aiohttp.ClientSession) -> None:
        """Benign turns, refused harmful requests, the ending, the 410, an edited branch."""
        s = self.script
        self.t.heading(s.titles["benign"])
        history: list[Message] = []
        for text in s.benign:
            status, _, headers = await self.turn(session, history, text)
            self.t.gateway(f"{status}, conversation {headers['X-Conversation-Id']} active")
            self.t.expect(status == 200 and headers["X-Conversation-Status"] == "active", text)
        branch_point = len(history)
        self.t.heading(s.titles["harmful"])
        for i, text in enumerate(s.harmful, 1):
            strikes = _strikes()
            status, answer, headers = await self.turn(session, history, text)
            counted = _strikes() > strikes
            state = headers["X-Conversation-Status"]
            self.t.gateway(
                f"flagged and refused: strike {i} recorded" if counted else "no strike recorded"
            )
            if state == "ended":
                info = answer["conversation_ended"]
                self.t.gateway(f"conversation ENDED ({info['reason']}), signalled in band")
            self.t.expect(counted, f"strike {i}")
            self.t.expect(state == ("ended" if i == len(s.harmful) else "active"), f"state {i}")
        self.t.heading(s.titles["terminal"])
        upstream_before = len(self.upstream.requests)
        status, answer, headers = await self.turn(session, history, s.after)
        error = answer.get("error", {})
        called = len(self.upstream.requests) != upstream_before
        self.t.gateway(
            f"{status} {error.get('type')}, x-should-retry: {headers.get('x-should-retry')}, "
            f"upstream called: {'yes' if called else 'no'}"
        )
        self.t.expect(status == 410 and error.get("type") == "conversation_ended", "a 410")
        self.t.expect(not called, "no upstream call for an ended thread")
        self.t.heading(s.titles["branch"])
        edited = history[:branch_point]
        status, _, headers = await self.turn(session, edited, s.edit)
        self.t.gateway(f"{status}: an edited earlier message is a new branch, it goes on")
        self.t.expect(status == 200 and headers["X-Conversation-Status"] == "active", "branch")

    async def crisis_thread(self, session: aiohttp.ClientSession) -> None:
        """A person in crisis, through the OpenAI Chat Completions endpoint."""
        s = self.script
        self.t.heading(s.titles["crisis"])
        self.t.said("user", s.crisis)
        body = {"model": "gpt-demo", "messages": [{"role": "user", "content": s.crisis}]}
        status, answer, _ = await self._post(session, "/v1/chat/completions", body, "sk-demo-sam")
        self.t.said("assistant", answer["choices"][0]["message"].get("content") or "")
        resources = answer.get("crisis_resources")
        self.t.expect(status == 200 and resources is not None, "crisis resources")
        if resources:
            self.t.gateway(f"crisis redirect ({resources['category']}), {resources['country']}:")
            self.t.gateway(resources["message"])
            for line in resources["lines"][:3]:
                reach = line.get("phone") or line.get("text") or line.get("chat_url") or ""
                self.t.gateway(f"  {line['name']}: {reach} ({line.get('hours') or ''})")
            self.t.gateway("the model was told to respond with care; no ending is possible now")


async def run_demo(lang: str = "en", out: TextIO = sys.stdout) -> int:
    """Start everything, play the script, print the metrics that moved; 0 when all held."""
    script = SCRIPTS[lang]
    transcript = Transcript(out, color=out.isatty())
    configure_logging("console", "error")
    runners: list[web.AppRunner] = []
    with tempfile.TemporaryDirectory(prefix="lastword-demo-") as tmp:
        sim_port, gw_port = _free_port(), _free_port()
        upstream = f"http://127.0.0.1:{sim_port}"
        settings = Settings(
            port=gw_port,
            anthropic_upstream=upstream,
            openai_upstream=upstream,
            store=f"sqlite:///{Path(tmp) / 'lastword.db'}",
        )
        simulator = create_simulator_app(SimulatorSettings())
        apps = [(simulator, sim_port), (create_app(settings), gw_port)]
        try:
            for app, port in apps:
                runner = web.AppRunner(app, access_log=None)
                await runner.setup()
                await web.TCPSite(runner, "127.0.0.1", port).start()
                runners.append(runner)
            print(
                f"simulated upstream on {upstream}, gateway on http://127.0.0.1:{gw_port}"
                f" (SQLite store {tmp}/lastword.db)",
                file=out,
            )
            before = _counters()
            gateway = f"http://127.0.0.1:{gw_port}"
            demo = Demo(script, gateway, transcript, simulator[LAST_REQUEST])
            async with aiohttp.ClientSession() as session:
                await demo.ending_thread(session)
                await demo.crisis_thread(session)
            transcript.heading(script.titles["metrics"])
            after = _counters()
            for name, value in sorted(after.items()):
                if value != before.get(name, 0.0):
                    print(f"  {name} +{value - before.get(name, 0.0):g}", file=out)
        finally:
            for runner in reversed(runners):
                await runner.cleanup()
    if transcript.failures:
        print(f"\ndemo FAILED: {', '.join(transcript.failures)}", file=out)
        return 1
    print("\ndemo ok: every step behaved as scripted", file=out)
    return 0


def main(lang: str = "en") -> int:
    """Run the demo on a fresh event loop."""
    return asyncio.run(run_demo(lang))

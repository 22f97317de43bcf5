#!/usr/bin/env bash
# Install Lastword and run the gateway (SQLite store) in front of the simulated upstream.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install -q -e .
.venv/bin/lastword simulate --port 8081 &
sim=$!
trap 'kill $sim' EXIT
exec_gateway() {
  .venv/bin/lastword serve --port 8080 --log-format console \
    --anthropic-upstream http://127.0.0.1:8081 --openai-upstream http://127.0.0.1:8081
}
exec_gateway

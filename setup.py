"""What pyproject.toml cannot say: the top-level `rules/` ships inside the package.

Operators, the docs and the container read the rule packs from `rules/` at the top of the
repository; a wheel carries that same folder as `gateway/rules/` (package data, found
through importlib.resources), so every kind of install (`--user`, `--prefix`, `--target`,
a virtualenv) has its rules. `packages.find` in pyproject.toml cannot map a folder from
outside the package, so the package list is built here.
"""

from __future__ import annotations

from setuptools import find_namespace_packages, setup

setup(
    packages=[*find_namespace_packages(include=["gateway*"]), "gateway.rules"],
    package_dir={"gateway.rules": "rules"},
    package_data={
        # The web demo's page: `lastword demo --web` serves it from the package.
        "gateway.web": ["static/*"],
        # The reviewer's page: the gateway serves it at /admin/ui/.
        "gateway.admin_static": ["*.html", "*.css", "*.js"],
        "gateway.rules": ["*.yaml"],
        # The embedded classifier's weights (gateway/detect/model.py reads them).
        "gateway.detect.weights": ["*.npz", "*.txt"],
    },
)

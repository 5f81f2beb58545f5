"""The names the command line offers (backbones, mixers, data set kinds, audio extractors), read
without importing them.

The registries (``msmix.models``, ``msmix.mixing``, ``msmix.data.spec``, ``msmix.features.audio``)
sit in packages whose import loads torch, seconds under load. Here their source files are parsed
instead: every class decorated ``@register_backbone("name")`` or ``@register_mixer("name")`` with
the first line of its docstring, the ``KINDS`` tuple and the keys of ``AUDIO_EXTRACTORS``. So ``msmix list``, ``--help`` and argument errors answer at
once, and adding a backbone or mixer needs no second list (``tests/test_cli_startup.py`` checks that
this reading equals the registries).
"""

from __future__ import annotations

import ast
from functools import lru_cache
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1]


def _registered(folder: str, decorator: str) -> dict[str, str]:
    """name -> the first docstring line of each class in ``folder`` decorated ``@decorator("name")``."""
    found: dict[str, str] = {}
    for path in sorted((PACKAGE / folder).glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.ClassDef):
                continue
            for call in node.decorator_list:
                if (isinstance(call, ast.Call) and getattr(call.func, "id", None) == decorator and call.args
                        and isinstance(call.args[0], ast.Constant)):
                    doc = (ast.get_docstring(node) or "").strip()
                    found[str(call.args[0].value)] = doc.splitlines()[0].replace("``", "") if doc else ""
    return dict(sorted(found.items()))


@lru_cache(maxsize=1)
def backbones() -> dict[str, str]:
    """Registered backbone names with their one-line descriptions."""
    return _registered("models", "register_backbone")


@lru_cache(maxsize=1)
def mixers() -> tuple[str, ...]:
    """Registered mixer names."""
    return tuple(_registered("mixing", "register_mixer"))


def _assigned(module: str, name: str) -> ast.expr:
    """The value expression of the module-level assignment ``name = ...`` in ``msmix/<module>``."""
    for node in ast.parse((PACKAGE / module).read_text()).body:
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign) and node.value is not None:  # NAME: type = value
            targets = [node.target]
        else:
            continue
        if any(getattr(t, "id", None) == name for t in targets):
            return node.value
    raise LookupError(f"msmix/{module} defines no {name}")


@lru_cache(maxsize=1)
def kinds() -> tuple[str, ...]:
    """``msmix.data.spec.KINDS``: the values of ``--kind``."""
    return tuple(ast.literal_eval(_assigned("data/spec.py", "KINDS")))


@lru_cache(maxsize=1)
def audio_extractors() -> tuple[str, ...]:
    """The keys of ``msmix.features.audio.AUDIO_EXTRACTORS``: the values of ``msmix features --audio``."""
    table = _assigned("features/audio.py", "AUDIO_EXTRACTORS")
    if not isinstance(table, ast.Dict):
        raise LookupError("msmix/features/audio.py: AUDIO_EXTRACTORS is not a dict literal")
    return tuple(ast.literal_eval(key) for key in table.keys)

"""The layers hold: every import of every module follows the arrows docs/architecture.md
draws (and STYLE.md asks for), checked on the source itself."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "chat_trio"


def modules() -> dict[str, list[str]]:
    """Each module of the package (dotted name) -> what it imports (dotted names)."""
    found: dict[str, list[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE.parent).with_suffix("")
        name = ".".join(relative.parts).removesuffix(".__init__")
        imports: list[str] = []
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imports += [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                # Absolute imports only: a relative one would slip past every check here.
                assert node.level == 0 and node.module, f"{name}: a relative import"
                imports += [node.module]
                imports += [f"{node.module}.{alias.name}" for alias in node.names]
        found[name] = imports
    return found


MODULES = modules()


def ours(imports: list[str]) -> set[str]:
    return {name for name in imports if name.startswith("chat_trio")}


def under(name: str, *packages: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


@pytest.mark.parametrize("layer", ["chat_trio.chat", "chat_trio.doors"])
def test_layers_the_rules_and_the_doors_are_sans_io(layer: str) -> None:
    for name, imports in MODULES.items():
        if under(name, layer):
            assert not [i for i in imports if under(i, "trio")], name


def test_layers_the_rules_import_only_the_rules() -> None:
    for name, imports in MODULES.items():
        if under(name, "chat_trio.chat"):
            assert all(under(i, "chat_trio.chat") for i in ours(imports)), name


def test_layers_doors_import_the_rules_vocabulary_and_doors_only() -> None:
    rule_modules = {"core", "accounts", "moderation", "names", "rooms", "messages", "flood"}
    for name, imports in MODULES.items():
        if under(name, "chat_trio.doors"):
            for i in ours(imports):
                version = i in ("chat_trio", "chat_trio.__version__")
                assert under(i, "chat_trio.doors", "chat_trio.chat") or version, name
                concern = i.removeprefix("chat_trio.chat.").partition(".")[0]
                assert concern not in rule_modules, f"{name} reaches into the rules: {i}"


def test_layers_transports_import_only_the_sans_io_cores_they_adapt() -> None:
    for name, imports in MODULES.items():
        if under(name, "chat_trio.transports"):
            for i in ours(imports):
                assert under(i, "chat_trio.transports", "chat_trio.doors"), f"{name}: {i}"


def test_layers_only_the_interpreter_talks_to_storage_and_only_through_its_protocol() -> None:
    for name, imports in MODULES.items():
        if under(name, "chat_trio.delivery"):
            for i in ours(imports):
                if under(i, "chat_trio.storage"):
                    assert under(i, "chat_trio.storage.backend"), f"{name} imports {i}"
                    assert name == "chat_trio.delivery.effects", name
        if under(name, "chat_trio.storage"):
            assert not [i for i in ours(imports) if under(i, "chat_trio.delivery")], name


def test_layers_nothing_imports_the_server_or_the_command_line() -> None:
    for name, imports in MODULES.items():
        if name != "chat_trio.__main__":
            assert not [i for i in ours(imports) if under(i, "chat_trio.server")], name
        assert not [i for i in ours(imports) if under(i, "chat_trio.__main__")], name


def test_layers_shared_words_are_defined_once_in_the_vocabulary() -> None:
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text())
        defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
        defined |= {
            t.id
            for n in tree.body
            if isinstance(n, ast.Assign)
            for t in n.targets
            if isinstance(t, ast.Name)
        }
        defined |= {
            n.target.id
            for n in tree.body
            if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)
        }
        if path.name != "vocabulary.py":
            shared = {"name_key", "look", "LOBBY", "NAME_MAX", "ROOM_MAX", "TOPIC_MAX"}
            assert not (defined & shared), path


def test_layers_settings_are_read_at_the_top_and_handed_down() -> None:
    # Each layer owns its settings class (Rules, Limits, IrcSettings, ...) and its defaults;
    # config.py gathers them into Config. Only the top (the command line, the server and
    # its entrances) reads Config; every layer below is handed its own part.
    top = {"chat_trio.__main__", "chat_trio.settings", "chat_trio.server", "chat_trio.entrances"}
    for name, imports in MODULES.items():
        if name not in top:
            assert not [i for i in ours(imports) if under(i, "chat_trio.config")], name

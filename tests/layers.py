"""Reading the imports of a source tree, every form of them, without running it.

:func:`imports_of` resolves each import of one module to the module it loads:

* ``import lostbeat.x.y`` and ``from lostbeat.x.y import Name`` load ``lostbeat.x.y``;
* ``from lostbeat import x`` loads ``lostbeat.x`` when ``x`` is a module or package of the
  tree, else ``lostbeat`` (``x`` is then a name defined in ``lostbeat/__init__.py``);
* relative imports (``from . import x``, ``from ..rules import y``) are resolved against the
  importing module's package, as the import system does;
* ``importlib.import_module("lostbeat.x")`` (also ``import_module(".x", package="lostbeat")``)
  and ``__import__("lostbeat.x")`` with a literal string; an f-string loads any module under
  its literal head (``f"lostbeat.commands.{name}"`` gives ``lostbeat.commands.*``, which only
  a unit that may import all of ``lostbeat.commands`` may do).

Imports inside functions and under ``if TYPE_CHECKING:`` count like any other.

:func:`violations` then judges a tree against an allow-list: each unit (each package and
each top-level module of ``lostbeat/``) names what it may import; everything else is
forbidden.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "Import",
    "Violation",
    "imports_of",
    "module_name",
    "platform_references",
    "source_files",
    "unit_of",
    "units",
    "violations",
]

TOP = "lostbeat"


@dataclass(frozen=True, slots=True)
class Import:
    """One import of one module: the module it loads, and where it is written."""

    target: str  # "lostbeat.analyzer.result", "os", "rich.console"; "lostbeat.commands.*"
    line: int


@dataclass(frozen=True, slots=True)
class Violation:
    path: str  # relative to the folder holding lostbeat/
    line: int
    target: str  # "-" for a unit that is in no allow-list
    unit: str
    narrowed: str | None  # the part of the unit whose narrower rule this breaks

    def __str__(self) -> str:
        if self.target == "-":
            return f"{self.path}: {self.unit} is in no allow-list"
        who = self.narrowed or self.unit
        return f"{self.path}:{self.line} imports {self.target} ({who} may not)"


def source_files(root: Path) -> list[Path]:
    """Every ``.py`` file of the tree whose top package is ``root``."""
    return sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)


def module_name(path: Path, root: Path) -> str:
    """``lostbeat/report/html.py`` -> ``lostbeat.report.html``; a package is its ``__init__``."""
    parts = [root.name, *path.relative_to(root).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def unit_of(module: str) -> str:
    """The package or top-level module of ``lostbeat`` that a module belongs to."""
    return ".".join(module.split(".")[:2])


def units(root: Path) -> set[str]:
    """The units of the tree: ``lostbeat`` itself, each package and each top-level module."""
    return {unit_of(module_name(p, root)) for p in source_files(root)}


def _is_module(root: Path, name: str) -> bool:
    parts = name.split(".")
    if parts[0] != root.name:
        return False
    where = root.joinpath(*parts[1:])
    return where.with_suffix(".py").is_file() or (where / "__init__.py").is_file()


def _absolute(package: str, name: str, level: int) -> str:
    """Resolve a relative module name against ``package`` (``level`` leading dots)."""
    if level == 0:
        return name
    base = package.split(".")
    if level - 1 > len(base) - 1:
        return name  # beyond the top package: not an import of this tree
    base = base[: len(base) - (level - 1)]
    return ".".join(base + ([name] if name else []))


def _literal_head(node: ast.expr) -> str | None:
    """A string literal; for an f-string, its literal head cut to whole dotted names + ``.*``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr) and node.values:
        first = node.values[0]
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            head = first.value
            return head[: head.rfind(".")] + ".*" if "." in head.lstrip(".") else None
    return None


def _dynamic(call: ast.Call, package: str) -> str | None:
    """The module that an ``import_module`` or ``__import__`` call loads, if literal."""
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    if name not in ("import_module", "__import__") or not call.args:
        return None
    target = _literal_head(call.args[0])
    if target is None:
        return None
    if name == "import_module" and target.startswith("."):
        anchor: ast.expr | None = call.args[1] if len(call.args) > 1 else None
        for keyword in call.keywords:
            if keyword.arg == "package":
                anchor = keyword.value
        level = len(target) - len(target.lstrip("."))
        base = _literal_head(anchor) if anchor is not None else None
        if base is None and isinstance(anchor, ast.Name) and anchor.id in ("__package__",):
            base = package
        return _absolute(base, target.lstrip("."), level) if base else None
    if name == "__import__":
        level = 0
        for index, arg in enumerate(call.args[1:], start=1):
            if index == 4 and isinstance(arg, ast.Constant) and isinstance(arg.value, int):
                level = arg.value
        for keyword in call.keywords:
            if keyword.arg == "level" and isinstance(keyword.value, ast.Constant):
                level = int(keyword.value.value)
        return _absolute(package, target, level)
    return target


def imports_of(path: Path, root: Path) -> list[Import]:
    """Every module that ``path`` (a file of the tree ``root``) imports, in every form."""
    module = module_name(path, root)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found: list[Import] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [Import(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(package, node.module or "", node.level)
            if not base:
                continue
            targets = {f"{base}.{a.name}" for a in node.names}
            targets = {t if _is_module(root, t) else base for t in targets}
            found += [Import(target, node.lineno) for target in sorted(targets)]
        elif isinstance(node, ast.Call) and (target := _dynamic(node, package)):
            found.append(Import(target, node.lineno))
    return found


def _within(name: str, prefixes: Sequence[str]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def violations(
    root: Path,
    allowed: Mapping[str, Sequence[str]],
    forbidden: Mapping[str, Sequence[str]] = {},  # noqa: B006 - read only
) -> list[Violation]:
    """Every import of the tree that its unit's allow-list does not name.

    A unit may always import itself and the top package (``lostbeat.__version__``).
    ``forbidden`` narrows a part of a unit: ``{"lostbeat.analyzer.rules": (...)}``.
    """
    found: list[Violation] = []
    for path in source_files(root):
        module = module_name(path, root)
        unit = unit_of(module)
        where = path.relative_to(root.parent).as_posix()
        if unit not in allowed:
            found.append(Violation(where, 0, "-", unit, None))
            continue
        may = (unit, *allowed[unit])
        narrow = [
            (part, f) for part, fs in forbidden.items() if _within(module, [part]) for f in fs
        ]
        for imp in imports_of(path, root):
            if imp.target.split(".")[0] != root.name or imp.target == root.name:
                continue
            if imp.target.endswith(".*"):  # any module under the head: all of it allowed?
                ok = any(imp.target[:-2] == p or imp.target.startswith(p + ".") for p in may)
                if not ok:
                    found.append(Violation(where, imp.line, imp.target, unit, None))
                continue
            if not _within(imp.target, may):
                found.append(Violation(where, imp.line, imp.target, unit, None))
            for part, prefix in narrow:
                if _within(imp.target, [prefix]):
                    found.append(Violation(where, imp.line, imp.target, unit, part))
    return found


# Identifier words that say which platform a piece of evidence came from.
_WORD = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")


def _words(identifier: str) -> set[str]:
    """``EsxConf`` -> esx, conf; ``_linux_steps`` -> linux, steps; ``esxi_x`` -> esxi, x."""
    camel = {w.lower() for w in _WORD.findall(identifier)}
    return camel | {w for w in re.split(r"[^a-z0-9]+", identifier.lower()) if w}


def _names(tree: ast.AST) -> Iterator[tuple[str, int]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            yield node.id, node.lineno
        elif isinstance(node, ast.Attribute):
            yield node.attr, node.lineno
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            yield node.name, node.lineno
        elif isinstance(node, ast.arg):
            yield node.arg, node.lineno
        elif isinstance(node, ast.alias):
            yield (node.asname or node.name).split(".")[-1], node.lineno
        elif isinstance(node, ast.keyword) and node.arg:
            yield node.arg, node.value.lineno
        elif isinstance(node, ast.Compare | ast.MatchValue):
            # "linux" == facts.kind, case "esx": a test of the platform by its name
            for sub in ast.walk(node):
                if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
                    yield sub.value, sub.lineno


def platform_references(
    path: Path, *, words: frozenset[str], attributes: frozenset[str]
) -> list[str]:
    """Names in ``path`` that test which platform the evidence came from.

    ``words`` are matched against each word of an identifier (``_linux_steps``,
    ``EsxConf``) or of a string compared with something; ``attributes`` against whole
    attribute names (``facts.captures``).
    """
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    hits = {
        f"{path.name}:{line} {name}"
        for name, line in _names(tree)
        if _words(name) & words or name in attributes
    }
    return sorted(hits)

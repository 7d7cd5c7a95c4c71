"""Reading a site file: YAML with line numbers, pydantic validation, readable errors."""

from __future__ import annotations

import difflib
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, SequenceNode

from edge.config.site import SiteConfig
from edge.ops.logs import hide_passwords


@dataclass(frozen=True)
class ConfigIssue:
    """One problem in a config file: where, what value, why."""

    file: str
    line: int | None
    key: str
    message: str
    value: Any = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        shown = "" if self.value is None else f" (value: {self.value!r})"
        return f"{where}: {self.key or '<root>'}: {self.message}{shown}"


class ConfigError(ValueError):
    """A config file that cannot be used; carries every issue found."""

    def __init__(self, issues: list[ConfigIssue]) -> None:
        self.issues = issues
        super().__init__("\n".join(str(i) for i in issues))


def line_of(doc: Any, loc: tuple[Any, ...]) -> int | None:
    """Walk a pydantic error location through the round-trip YAML to the deepest known line."""
    node, line = doc, None
    for part in loc:
        if isinstance(node, CommentedMap) and part in node:
            line = node.lc.key(part)[0] + 1
            node = node[part]
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and part < len(node):
            line = node.lc.item(part)[0] + 1
            node = node[part]
        elif isinstance(part, str) and not isinstance(node, (CommentedMap, CommentedSeq)):
            continue  # a discriminator tag or a union member name pydantic adds to loc
        else:
            break
    return line


def _model_at(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model class that owns the last key of ``loc``, for near-miss suggestions.

    Through a discriminated union pydantic puts the member's tag in ``loc`` (e.g.
    ``devices.0.alpha.prot``); the tag picks the member whose ``type`` it is.
    """
    candidates: list[type[BaseModel]] = [model]
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        owner = next((m for m in candidates if part in m.model_fields), None)
        if owner is not None:
            candidates = _models_in(owner.model_fields[part].annotation)
        else:
            candidates = [m for m in candidates if _type_tag(m) == part]
        if not candidates:
            return None
    return candidates[0] if len(candidates) == 1 else None


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in getattr(annotation, "__args__", ()) for m in _models_in(arg)]


def _type_tag(model: type[BaseModel]) -> Any:
    field = model.model_fields.get("type")
    return field.default if field is not None else None


def _dotted(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _issues_from(exc: ValidationError, doc: Any, file: str, model: type[BaseModel]) -> list[ConfigIssue]:
    issues = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            owner = _model_at(model, loc)
            close = difflib.get_close_matches(str(loc[-1]), list(owner.model_fields) if owner else [], n=1)
            message = "unknown key" + (f"; did you mean '{close[0]}'?" if close else "")
        value = err.get("input") if err["type"] not in ("missing", "extra_forbidden") else None
        if isinstance(value, (dict, list)) or any("password" in str(part) or "token" in str(part) for part in loc):
            value = None  # never echo a secret, even a malformed one
        elif isinstance(value, str):
            value = hide_passwords(value)
        issues.append(ConfigIssue(file, line_of(doc, loc), _dotted(loc), message, value))
    return issues


#: Nodes that aliases may add when expanded. A site file's anchors (a shared rules block, a
#: merge key) add a few dozen; a "billion laughs" file adds hundreds of millions and would
#: take minutes and gigabytes to build.
ALIAS_BUDGET = 10_000


class AliasBudgetError(MarkedYAMLError):
    """Aliases that expand beyond ``ALIAS_BUDGET`` nodes (or into themselves)."""


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def check_aliases(root: Node | None, budget: int = ALIAS_BUDGET) -> None:
    """Refuse a composed document whose aliases expand beyond ``budget`` extra nodes.

    An alias is the same node object as its anchor, so the expanded size is counted once per
    distinct node (memoised, iteratively: no recursion limit) before any Python object is built.
    """
    if root is None:
        return
    size: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            on_path.discard(key)
            size[key] = 1 + sum(size[id(c)] for c in _children(node))
            if size[key] - len(size) > budget:
                raise AliasBudgetError(
                    problem=f"aliases expand to more than {budget} extra nodes here; use fewer aliases",
                    problem_mark=node.start_mark,
                )
            continue
        if key in size:
            continue
        if key in on_path:
            raise AliasBudgetError(problem="an alias refers to the node that contains it", problem_mark=node.start_mark)
        on_path.add(key)
        stack.append((node, True))
        stack.extend((c, False) for c in _children(node) if id(c) not in size)


def load_yaml_text(text: str, yaml: YAML | None = None) -> Any:
    """``yaml.load(text)`` (round-trip by default) once the aliases pass ``check_aliases``."""
    yaml = yaml or YAML(typ="rt")
    check_aliases(yaml.compose(text))
    return yaml.load(text)


def read_yaml(path: Path) -> Any:
    """Parse YAML keeping line numbers; a missing or malformed file raises ConfigError."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([ConfigIssue(str(path), None, "", "file not found")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([ConfigIssue(str(path), None, "", f"cannot read file: {exc}")]) from None
    try:
        return load_yaml_text(text)
    except RecursionError:
        raise ConfigError([ConfigIssue(str(path), None, "", "not valid YAML: nested too deeply")]) from None
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError([ConfigIssue(str(path), line, "", f"not valid YAML: {problem}")]) from None


def _plain(node: Any) -> Any:
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return node


def _resolve_paths(data: dict[str, Any], base: Path) -> None:
    """Relative file paths in a site file are relative to the site file, not the working directory."""
    det = data.get("detector")
    if isinstance(det, dict) and isinstance(det.get("model"), str) and not Path(det["model"]).is_absolute():
        det["model"] = str((base / det["model"]).resolve())
    actuators = data.get("actuators")
    messages = actuators.get("messages") if isinstance(actuators, dict) else None
    prewarn = actuators.get("prewarn") if isinstance(actuators, dict) else None
    prompts = prewarn.get("messages") if isinstance(prewarn, dict) else None
    both = (messages if isinstance(messages, list) else []) + (prompts if isinstance(prompts, list) else [])
    folder = actuators.get("announcements_dir") if isinstance(actuators, dict) else None
    if isinstance(folder, str) and not Path(folder).is_absolute():
        actuators["announcements_dir"] = str((base / folder).resolve())
    for message in both:
        wav = message.get("wav") if isinstance(message, dict) else None
        if isinstance(wav, str) and not Path(wav).is_absolute():
            message["wav"] = str((base / wav).resolve())
    evidence = data.get("evidence")
    for key in ("root", "key_file") if isinstance(evidence, dict) else ():
        if isinstance(evidence.get(key), str) and not Path(evidence[key]).is_absolute():
            evidence[key] = str((base / evidence[key]).resolve())
    signal = data.get("signal")
    sources = signal.get("sources") if isinstance(signal, dict) else None
    for source in sources if isinstance(sources, list) else []:
        if isinstance(source, dict):
            for key in ("path", "plan_file"):
                if isinstance(source.get(key), str) and not Path(source[key]).is_absolute():
                    source[key] = str((base / source[key]).resolve())


def load_site(path: str | Path) -> SiteConfig:
    """Load and validate a site file; raise ConfigError listing every problem with its line."""
    path = Path(path)
    doc = read_yaml(path)
    if not isinstance(doc, dict):
        raise ConfigError([ConfigIssue(str(path), 1, "", "the site file must be a mapping of sections")])
    data = _plain(doc)
    _resolve_paths(data, path.parent)
    try:
        return SiteConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_issues_from(exc, doc, str(path), SiteConfig)) from None


def config_hash(path: str | Path) -> str:
    """SHA-256 of the site file's bytes, recorded in evidence."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()

"""What the Rust sources call on AWS: SDK operations per file, whether each
call is made by a service at run time or only by provisioning, an operator's
command or the tests, and which files make up an adapter.

Deliberately lexical (no Rust parser is at hand): comments and `#[cfg(test)]`
modules are removed, functions are cut at each `fn`, and an SDK operation is
any `.snake_case(` method call whose name is an operation of an AWS SDK crate
the file uses. Operation names come from botocore's service models, the same
API definitions the Rust SDK is generated from. The errors this can make are
on the safe side: a method that merely shares an operation's name counts as a
call, so the test asks for a permission rather than missing one.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path

import botocore.session
from botocore import xform_name

REPO = Path(__file__).resolve().parents[2]

# Rust SDK crate → (botocore service model, IAM action prefix, client names
# the code gives that crate's client: `client`, `clients.sqs`, `sns`, ...).
SDK_CRATES = {
    "aws_sdk_s3": ("s3", "s3", "s3"),
    "aws_sdk_dynamodb": ("dynamodb", "dynamodb", "dynamo"),
    "aws_sdk_glacier": ("glacier", "glacier", "glacier"),
    "aws_sdk_sqs": ("sqs", "sqs", "sqs"),
    "aws_sdk_sns": ("sns", "sns", "sns"),
    "aws_sdk_sfn": ("stepfunctions", "states", "sfn"),
    "aws_sdk_sesv2": ("sesv2", "ses", "ses"),
}

SOURCE_ROOTS = ["crates/*/src", "web/src", "ann/src", "util/src"]


@functools.lru_cache(maxsize=None)
def sdk_operations(crate: str) -> dict[str, str]:
    """snake_case method → API operation name, for one SDK crate."""
    model = botocore.session.get_session().get_service_model(SDK_CRATES[crate][0])
    return {xform_name(op): op for op in model.operation_names}


def source_files() -> list[Path]:
    files = []
    for pattern in SOURCE_ROOTS:
        for root in sorted(REPO.glob(pattern)):
            files.extend(sorted(p for p in root.rglob("*.rs") if "target" not in p.parts))
    return files


def strip_comments_and_tests(text: str) -> str:
    """The code without comments, and without `#[cfg(test)]` modules.

    A small lexer: string, raw string and char literals are kept whole so
    that braces and slashes inside them do not count.
    """
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if text.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif text.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
        elif c == "r" and re.match(r'r#*"', text[i:]) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            hashes = re.match(r"r(#*)\"", text[i:]).group(1)
            end = text.find('"' + hashes, i + len(hashes) + 2)
            end = n if end < 0 else end + 1 + len(hashes)
            out.append(text[i:end])
            i = end
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(text[i : j + 1])
            i = j + 1
        elif c == "'" and re.match(r"'(\\.|[^\\'])'", text[i:]):
            m = re.match(r"'(\\.|[^\\'])'", text[i:])
            out.append(m.group(0))
            i += len(m.group(0))
        else:
            out.append(c)
            i += 1
    code = "".join(out)
    return _drop_test_modules(code)


def _drop_test_modules(code: str) -> str:
    # A test module in its own file: `#[cfg(test)] mod name;`.
    code = re.sub(r"#\[cfg\(test\)\]\s*(pub(\([^)]*\))?\s+)?mod\s+\w+\s*;", "", code)
    while True:
        m = re.search(r"#\[cfg\(test\)\]\s*(pub(\([^)]*\))?\s+)?mod\s+\w+\s*\{", code)
        if not m:
            return code
        end = matching_brace(code, m.end() - 1)
        code = code[: m.start()] + code[end + 1 :]


def matching_brace(code: str, open_at: int) -> int:
    """Index of the brace closing the one at `open_at` (literals skipped)."""
    depth, i = 0, open_at
    while i < len(code):
        c = code[i]
        if c == '"':
            i += 1
            while i < len(code) and code[i] != '"':
                i += 2 if code[i] == "\\" else 1
        elif c == "'" and re.match(r"'(\\.|[^\\'])'", code[i:]):
            i += len(re.match(r"'(\\.|[^\\'])'", code[i:]).group(0)) - 1
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return len(code) - 1


@dataclass
class Call:
    crate: str  # the SDK crate, e.g. aws_sdk_s3
    operation: str  # the API operation, e.g. PutObject
    function: str  # the Rust function it is made in
    path: Path


@dataclass
class SourceFile:
    path: Path
    code: str
    crates: list[str]
    functions: list[tuple[str, str]]  # (name, text from its `fn` to the next)
    calls: list[Call] = field(default_factory=list)

    @property
    def rel(self) -> str:
        return self.path.relative_to(REPO).as_posix()


def _functions(code: str) -> list[tuple[str, str]]:
    starts = [(m.start(), m.group(1)) for m in re.finditer(r"\bfn\s+(\w+)", code)]
    segments = [("<module>", code[: starts[0][0]] if starts else code)]
    for k, (at, name) in enumerate(starts):
        end = starts[k + 1][0] if k + 1 < len(starts) else len(code)
        segments.append((name, code[at:end]))
    return segments


def _calls(source: SourceFile) -> list[Call]:
    calls = []
    for function, text in source.functions:
        for m in re.finditer(r"([\w\)\]]*)\s*\.\s*([a-z][a-z0-9_]*)\s*\(", text):
            method = m.group(2)
            candidates = [c for c in source.crates if method in sdk_operations(c)]
            if len(candidates) > 1:
                # Several SDKs in one file: the client's name says which.
                receiver = re.search(r"(\w+)\s*\.?\s*$", text[: m.start(2)].rstrip().rstrip("."))
                named = [c for c in candidates if receiver and receiver.group(1) == SDK_CRATES[c][2]]
                candidates = named or candidates
            for crate in candidates:
                calls.append(Call(crate, sdk_operations(crate)[method], function, source.path))
    return calls


@functools.lru_cache(maxsize=None)
def load_sources() -> dict[Path, SourceFile]:
    sources = {}
    files = source_files()
    # Modules in files of their own that only tests compile.
    test_only = set()
    for path in files:
        for m in re.finditer(r"#\[cfg\(test\)\]\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+(\w+)\s*;", path.read_text()):
            child = _child(path, m.group(1))
            if child:
                test_only |= {child, _module_dir(child)}
    for path in files:
        if any(path == t or t in path.parents for t in test_only):
            continue
        code = strip_comments_and_tests(path.read_text())
        crates = [c for c in SDK_CRATES if re.search(rf"\b{c}\b", code)]
        sources[path] = SourceFile(path, code, crates, _functions(code))
    for source in sources.values():
        # A submodule that calls its parent's client without naming the SDK
        # crate itself (`store.client.get_item()`) uses the parent's crates.
        module = source.path
        while not source.crates and _parent(module) != module and _parent(module) in sources:
            module = _parent(module)
            source.crates = list(sources[module].crates)
        source.calls = _calls(source) if source.crates else []
        # A presigned POST is no SDK call, but the browser's upload is
        # authorised as the signer: it counts as the signer's PutObject.
        if "aws_sdk_s3" in source.crates:
            source.calls += [Call("aws_sdk_s3", "PutObject", name, source.path) for name, _ in source.functions if name == "presigned_post"]
    return sources


# Code that no service runs, besides provisioning: the operators' commands
# (`gas dlq`, run with operator credentials, docs/DEPLOY.md) and the
# conformance suites (run by the tests). Globs, relative to the repository.
OPERATOR_COMMANDS = ["crates/gas/src/dlq.rs"]
TEST_SUPPORT = ["crates/*/src/conformance.rs", "crates/*/src/conformance/*.rs"]


@functools.lru_cache(maxsize=None)
def non_service_functions() -> frozenset[tuple[Path, str]]:
    """Functions that no service runs: those of `gas provision` (in a
    `provision` module, or named `provision*`), of the operators' commands
    and of the test support above, and functions called only from such
    functions."""
    sources = load_sources()
    elsewhere = {p for pattern in OPERATOR_COMMANDS + TEST_SUPPORT for p in REPO.glob(pattern)}
    provisioning = set()
    for source in sources.values():
        for name, _ in source.functions:
            if source.path.stem == "provision" or "provision" in name or source.path in elsewhere:
                provisioning.add((source.path, name))
    segments = [(s.path, name, text) for s in sources.values() for name, text in s.functions]
    changed = True
    while changed:
        changed = False
        for source in sources.values():
            for name, _ in source.functions:
                key = (source.path, name)
                if key in provisioning or name == "<module>" or not any(c.function == name for c in source.calls):
                    continue
                callers = [
                    (p, caller)
                    for p, caller, text in segments
                    if (p, caller) != key and re.search(rf"(?<![\w])(?<!fn ){re.escape(name)}\s*\(", text)
                ]
                if callers and all(c in provisioning for c in callers):
                    provisioning.add(key)
                    changed = True
    return frozenset(provisioning)


def runtime_calls(path: Path) -> list[Call]:
    """The SDK calls of `path` that a service may make."""
    off = non_service_functions()
    return [c for c in load_sources()[path].calls if (c.path, c.function) not in off]


# --- Modules: which files make up an adapter --------------------------------------


def _crate_root(path: Path) -> Path:
    src = next(p for p in path.parents if p.name == "src")
    return src / "lib.rs" if (src / "lib.rs").exists() else src / "main.rs"


def _module_dir(path: Path) -> Path:
    """Where a module file's child modules live."""
    if path.name in ("mod.rs", "lib.rs", "main.rs"):
        return path.parent
    return path.with_suffix("")


def _child(module: Path, name: str) -> Path | None:
    for candidate in (_module_dir(module) / f"{name}.rs", _module_dir(module) / name / "mod.rs"):
        if candidate.exists():
            return candidate
    return None


def _parent(module: Path) -> Path:
    if module.name in ("lib.rs", "main.rs"):
        return module
    directory = module.parent if module.name == "mod.rs" else module.parent
    if module.name == "mod.rs":
        directory = module.parent.parent
    for candidate in (directory / "mod.rs", directory.with_suffix(".rs"), directory / "lib.rs", directory / "main.rs"):
        if candidate.exists() and candidate != module:
            return candidate
    return _crate_root(module)


def _use_paths(code: str) -> list[tuple[list[str], bool]]:
    """Every `use` path (with brace groups expanded) and every inline
    `crate::`/`super::`/`self::` path; True for re-exports (`pub use`)."""
    found = []
    for m in re.finditer(r"(\bpub(?:\([^)]*\))?\s+)?\buse\s+([^;]+);", code):
        for path in _expand(m.group(2).replace("\n", " ")):
            found.append((path, m.group(1) is not None))
    for m in re.finditer(r"(?<![\w:])((?:crate|super|self)(?:::\w+)+)", code):
        found.append((m.group(1).split("::"), False))
    return found


def _expand(tree: str) -> list[list[str]]:
    tree = tree.strip()
    brace = tree.find("{")
    if brace < 0:
        return [[s.strip() for s in re.split(r"::", tree.split(" as ")[0]) if s.strip()]]
    prefix = [s for s in tree[:brace].rstrip(":").split("::") if s.strip()]
    inner = tree[brace + 1 : tree.rfind("}")]
    parts, depth, start = [], 0, 0
    for i, c in enumerate(inner):
        depth += c == "{"
        depth -= c == "}"
        if c == "," and depth == 0:
            parts.append(inner[start:i])
            start = i + 1
    parts.append(inner[start:])
    return [prefix + sub for part in parts if part.strip() for sub in _expand(part)]


def _resolve(origin: Path, segments: list[str], seen: frozenset = frozenset()) -> Path | None:
    """The file that defines the item a path names, following re-exports."""
    if not segments or segments[0] not in ("crate", "super", "self") and _child(origin, segments[0]) is None:
        return None  # another crate, or std
    module = origin
    rest = list(segments)
    while rest and rest[0] in ("crate", "super", "self"):
        head = rest.pop(0)
        module = _crate_root(origin) if head == "crate" else _parent(module) if head == "super" else module
    while rest:
        child = _child(module, rest[0])
        if child is None:
            break
        module = child
        rest.pop(0)
    if rest and rest[0] not in ("*",) and (module, rest[0]) not in seen:
        # An item re-exported by the module lives where the re-export points.
        code = load_sources()[module].code if module in load_sources() else ""
        for path, reexport in _use_paths(code):
            if reexport and path and path[-1] == rest[0]:
                target = _resolve(module, path, seen | {(module, rest[0])})
                if target:
                    return target
    return module


def _file_units(path: Path) -> list[tuple[Path, str | None]]:
    """What a whole file depends on: every path it uses from its own crate."""
    units = []
    for segments, reexport in _use_paths(load_sources()[path].code):
        if not reexport:
            units.extend(_unit_of(path, segments))
    return units


def _unit_of(origin: Path, segments: list[str]) -> list[tuple[Path, str | None]]:
    """A used path as a unit: one function if it names a function of the
    module it resolves to, else that whole module file."""
    target = _resolve(origin, segments)
    if target is None or target not in load_sources():
        return []
    item = segments[-1]
    if any(name == item for name, _ in load_sources()[target].functions):
        return [(target, item)]
    return [(target, None)]


def _function_units(path: Path, function: str) -> list[tuple[Path, str | None]]:
    """What one function depends on: functions of its file it calls, and
    what it names through its file's `use` declarations or inline paths."""
    source = load_sources()[path]
    text = "".join(t for name, t in source.functions if name == function)
    local = {name for name, _ in source.functions}
    imported = {}
    for segments, reexport in _use_paths(source.functions[0][1]):
        if not reexport and segments:
            imported[segments[-1]] = segments
    units = []
    for m in re.finditer(r"(?<![\w:])((?:\w+::)*)(\w+)\s*\(", text):
        prefix, name = m.group(1), m.group(2)
        if prefix:
            units.extend(_unit_of(path, prefix.rstrip(":").split("::") + [name]))
        elif name in local and name != function:
            units.append((path, name))
        elif name in imported:
            units.extend(_unit_of(path, imported[name]))
    return units


def unit_calls(path: Path, function: str | None) -> list[Call]:
    calls = runtime_calls(path)
    return [c for c in calls if function is None or c.function == function]


def adapter_units(struct: str) -> set[tuple[Path, str | None]]:
    """The code an adapter runs, as (file, function or None for all of it):
    the files that define or `impl` it with their child modules, then what
    they use from their own crate, function by function where a path names
    a function."""
    sources = load_sources()
    own = {
        p
        for p, s in sources.items()
        if re.search(rf"\bstruct\s+{struct}\b", s.code) or re.search(rf"\bimpl\b[^{{;]*\b{struct}\b\s*\{{", s.code)
    }
    assert own, f"no source defines {struct}"
    # Child modules of the adapter's own files are the adapter's too.
    pending = list(own)
    while pending:
        path = pending.pop()
        for m in re.finditer(r"\bmod\s+(\w+)\s*;", sources[path].code):
            child = _child(path, m.group(1))
            if child and child not in own:
                own.add(child)
                pending.append(child)
    units: set[tuple[Path, str | None]] = {(p, None) for p in own}
    pending_units = list(units)
    while pending_units:
        path, function = pending_units.pop()
        found = _file_units(path) if function is None else _function_units(path, function)
        for unit in found:
            if unit not in units and (unit[0], None) not in units:
                units.add(unit)
                pending_units.append(unit)
    return units


def adapter_calls(struct: str) -> list[Call]:
    calls = []
    for path, function in adapter_units(struct):
        calls.extend(unit_calls(path, function))
    return calls

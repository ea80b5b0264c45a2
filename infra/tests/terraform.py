"""infra/ as data: every .tf file parsed with python-hcl2, blocks indexed by
type and name, and the few evaluations the tests need (names built from
`var.prefix` and `each.key`, and templatefile() of the aws/ templates)."""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path

import hcl2

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "infra"
OPTIONS = hcl2.SerializationOptions(
    with_comments=False, explicit_blocks=False, strip_string_quotes=True, preserve_heredocs=False
)


def tf_files() -> list[Path]:
    return sorted(INFRA.glob("*.tf"))


def parse(path: Path) -> dict:
    with path.open() as f:
        return hcl2.load(f, serialization_options=OPTIONS)


@functools.lru_cache(maxsize=None)
def module() -> dict:
    """{"resource": {type: {name: body}}, "data": ..., "variable": {name: body},
    "locals": {name: value}, "output": ...}, over every file."""
    merged: dict = {"resource": {}, "data": {}, "variable": {}, "locals": {}, "output": {}}
    for path in tf_files():
        parsed = parse(path)
        for kind in ("resource", "data"):
            for block in parsed.get(kind, []):
                for rtype, named in block.items():
                    for name, body in named.items():
                        assert name not in merged[kind].setdefault(rtype, {}), f"{kind} {rtype}.{name} twice"
                        merged[kind][rtype][name] = dict(body, __file__=path.name)
        for block in parsed.get("variable", []):
            merged["variable"].update(block)
        for block in parsed.get("locals", []):
            merged["locals"].update(block)
        for block in parsed.get("output", []):
            merged["output"].update(block)
    return merged


def resources(rtype: str) -> dict[str, dict]:
    return module()["resource"].get(rtype, {})


def resource(rtype: str, name: str) -> dict:
    found = resources(rtype)
    assert name in found, f"infra/ has no resource {rtype}.{name}"
    return found[name]


def data(dtype: str, name: str) -> dict:
    found = module()["data"].get(dtype, {})
    assert name in found, f"infra/ has no data {dtype}.{name}"
    return found[name]


def local(name: str):
    assert name in module()["locals"], f"infra/ has no local {name}"
    return module()["locals"][name]


def variable_default(name: str):
    return module()["variable"][name].get("default")


def blocks(body: dict, name: str) -> list[dict]:
    """A nested block, always as a list (hcl2 gives one block as a dict)."""
    value = body.get(name, [])
    return value if isinstance(value, list) else [value]


def expression(value) -> str:
    """`${...}` of a whole-expression string, else the string itself."""
    if isinstance(value, str) and value.startswith("${") and value.endswith("}"):
        return value[2:-1]
    return value


def for_each_keys(body: dict) -> list[str] | None:
    """The keys of a for_each over one of the channel/service locals."""
    if "for_each" not in body:
        return None
    expr = expression(body["for_each"])
    m = re.fullmatch(r"toset\(local\.(\w+)\)|local\.(\w+)", expr)
    assert m, f"for_each {expr!r}: the tests read only toset(local.X) or local.X"
    value = local(m.group(1) or m.group(2))
    return list(value) if isinstance(value, (list, dict)) else None


def render_name(template: str, prefix: str = "PREFIX", key: str | None = None) -> str:
    """A name attribute with var.prefix and each.key filled in."""
    out = template.replace("${var.prefix}", prefix)
    if key is not None:
        out = out.replace("${each.key}", key)
    assert "${" not in out, f"name {template!r} uses more than var.prefix and each.key"
    return out


def names(rtype: str, attribute: str = "name", prefix: str = "PREFIX") -> dict[str, str]:
    """Every name a resource type creates → the address that creates it."""
    found = {}
    for name, body in resources(rtype).items():
        keys = for_each_keys(body)
        for key in keys if keys is not None else [None]:
            address = f"{rtype}.{name}" + (f'["{key}"]' if key else "")
            found[render_name(body[attribute], prefix, key)] = address
    return found


# --- templatefile() ----------------------------------------------------------------


def example_tfvars() -> dict:
    return parse(INFRA / "example.tfvars")


def template_placeholders(text: str) -> set[str]:
    """The `${name}` placeholders of a template (`$${` is a literal `${`)."""
    assert "%{" not in text.replace("%%{", ""), "templates here use no directives"
    return set(re.findall(r"(?<!\$)\$\{([^}]*)\}", text))


def render_template(text: str, values: dict[str, object]) -> str:
    """What templatefile() makes of `text` with these values."""
    missing = template_placeholders(text) - set(values)
    assert not missing, f"the template uses values it is not given: {sorted(missing)}"
    rendered = re.sub(r"(?<!\$)\$\{([^}]*)\}", lambda m: str(values[m.group(1)]), text)
    return rendered.replace("$${", "${").replace("%%{", "%{")


def jsonencode(value) -> str:
    return json.dumps(value)


# --- A small evaluator for the expressions the templates are rendered with ----------


def _matching(text: str, start: int, open_char: str, close_char: str) -> int:
    depth, i = 0, start
    while i < len(text):
        c = text[i]
        if c == '"':
            i += 1
            while text[i] != '"':
                i += 2 if text[i] == "\\" else 1
        elif c == open_char:
            depth += 1
        elif c == close_char:
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise AssertionError(f"unbalanced {open_char} in {text!r}")


def _split_top(text: str, separator: str = ",") -> list[str]:
    parts, depth, start, i = [], 0, 0, 0
    while i < len(text):
        c = text[i]
        if c == '"':
            i += 1
            while text[i] != '"':
                i += 2 if text[i] == "\\" else 1
        elif c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif c == separator and depth == 0:
            parts.append(text[start:i])
            start = i + 1
        i += 1
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


def interpolate(text: str, each_key: str | None = None, tfvars: dict | None = None) -> str:
    out, i = [], 0
    while True:
        at = text.find("${", i)
        if at < 0:
            return "".join(out) + text[i:]
        end = _matching(text, at + 1, "{", "}")
        out.append(text[i:at])
        out.append(str(evaluate(text[at + 2 : end], each_key, tfvars)))
        i = end + 1


def evaluate(expr, each_key: str | None = None, tfvars: dict | None = None):
    """The value of the expression forms infra/ passes to templatefile()."""
    tfvars = example_tfvars() if tfvars is None else tfvars
    if not isinstance(expr, str):
        return expr
    expr = expr.strip()
    if expr.startswith("${") and _matching(expr, 1, "{", "}") == len(expr) - 1:
        return evaluate(expr[2:-1], each_key, tfvars)
    if re.fullmatch(r"-?\d+", expr):
        return int(expr)
    if expr.startswith('"') and _split_top(expr, " ") == [expr]:
        return interpolate(json.loads(re.sub(r"\$\{", "$${", expr)).replace("$${", "${"), each_key, tfvars)
    if expr == "each.key":
        assert each_key is not None
        return each_key
    if expr == "path.module":
        return str(INFRA)
    m = re.fullmatch(r"var\.(\w+)", expr)
    if m:
        name = m.group(1)
        assert name in module()["variable"], f"no variable {name}"
        return tfvars[name] if name in tfvars else variable_default(name)
    m = re.fullmatch(r'local\.(\w+)(?:\["(\w+)"\])?', expr)
    if m:
        value = local(m.group(1))
        if m.group(2):
            return evaluate(value[m.group(2)], each_key, tfvars)
        return interpolate(value, each_key, tfvars) if isinstance(value, str) else value
    m = re.fullmatch(r"aws_cloudwatch_log_group\.(\w+)\[each\.key\]\.name", expr)
    if m:
        return render_name(resource("aws_cloudwatch_log_group", m.group(1))["name"], evaluate("var.prefix", each_key, tfvars), each_key)
    m = re.fullmatch(r"(\w+)\((.*)\)", expr, re.S)
    if m:
        function, args = m.group(1), _split_top(m.group(2))
        if function == "jsonencode":
            return json.dumps(evaluate(args[0], each_key, tfvars))
        if function == "base64encode":
            return evaluate(args[0], each_key, tfvars)  # the tests read the text
        if function == "file":
            return Path(evaluate(args[0], each_key, tfvars)).read_text()
        if function == "templatefile":
            return render_template(Path(evaluate(args[0], each_key, tfvars)).read_text(), template_arguments(args[1], each_key, tfvars))
    raise AssertionError(f"the tests cannot evaluate {expr!r}")


def template_arguments(obj: str, each_key: str | None = None, tfvars: dict | None = None) -> dict:
    """A templatefile() variables object `{name = expr, ...}`, evaluated."""
    obj = obj.strip()
    assert obj.startswith("{") and obj.endswith("}"), obj
    values = {}
    for part in _split_top(obj[1:-1]):
        name, value = part.split("=", 1)
        values[name.strip()] = evaluate(value.strip(), each_key, tfvars)
    return values


def templatefile_call(expr: str) -> tuple[str, str]:
    """(template path expression, variables object text) of the
    templatefile() call in an expression."""
    at = expr.index("templatefile(")
    end = _matching(expr, at + len("templatefile"), "(", ")")
    path, obj = _split_top(expr[at + len("templatefile(") : end])
    return path, obj

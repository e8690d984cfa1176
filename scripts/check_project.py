#!/usr/bin/env python3
"""Consistency checks between the deployable template and the workspace.

(a) The DynamoDB table in template.yaml matches shared/table.json (the canonical definition
    the Rust code include_str!s): attribute definitions, key schema, GSIs, billing mode, TTL.
(b) Every crate directory under functions/ has exactly one
      - AWS::Serverless::Function in template.yaml (matched by Metadata.BuildProperties.Binary,
        or by a CodeUri pointing at functions/<name>),
      - route in Cargo.toml [workspace.metadata.lambda.watch.router] (cargo lambda watch),
      - HttpApi event on that function with the same method + path,
      - events/<name>.json (API Gateway HTTP API v2 payload) with the same method + path,
    and none of those places names anything that is not a directory under functions/.

Usage: scripts/check_project.py [--root DIR]      (stdlib + PyYAML)
Exit status 0 when consistent, 1 with a list of problems otherwise.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

try:
    import tomllib  # Python 3.11+
except ModuleNotFoundError:  # pragma: no cover
    try:
        import tomli as tomllib  # type: ignore[no-redef]
    except ModuleNotFoundError:
        tomllib = None  # type: ignore[assignment]

try:
    import yaml
except ModuleNotFoundError:
    sys.exit("check_project: PyYAML is required (it is installed with cfn-lint: pip install cfn-lint)")


# ---------------------------------------------------------------------------------------------
# YAML with CloudFormation short-form tags (!Ref, !GetAtt, !Sub, !If, ...)
# ---------------------------------------------------------------------------------------------
class CfnLoader(yaml.SafeLoader):
    pass


def _cfn_tag(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "Condition":
        return {"Condition": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{tag_suffix}": value}


CfnLoader.add_multi_constructor("!", _cfn_tag)


def load_yaml(path: Path):
    with path.open(encoding="utf-8") as f:
        return yaml.load(f, Loader=CfnLoader)  # noqa: S506 - SafeLoader subclass


def load_toml(path: Path) -> dict:
    if tomllib is None:
        raise SystemExit("check_project: needs Python 3.11+ (tomllib) or the tomli package")
    with path.open("rb") as f:
        return tomllib.load(f)


# ---------------------------------------------------------------------------------------------
class Checker:
    def __init__(self, root: Path):
        self.root = root
        self.errors: list[str] = []
        self.notes: list[str] = []

    def err(self, msg: str) -> None:
        self.errors.append(msg)

    # -- (a) table ----------------------------------------------------------------------------
    def check_table(self, template: dict) -> None:
        table_json = self.root / "shared" / "table.json"
        try:
            canonical = json.loads(table_json.read_text(encoding="utf-8"))
        except FileNotFoundError:
            self.err(f"{rel(table_json, self.root)} is missing (canonical table definition)")
            return
        except json.JSONDecodeError as e:
            self.err(f"{rel(table_json, self.root)} is not valid JSON: {e}")
            return

        tables = {
            name: res
            for name, res in (template.get("Resources") or {}).items()
            if isinstance(res, dict) and res.get("Type") == "AWS::DynamoDB::Table"
        }
        if len(tables) != 1:
            self.err(f"template.yaml: expected exactly one AWS::DynamoDB::Table, found {len(tables)}: {sorted(tables)}")
            return
        (tname, table), = tables.items()
        props = table.get("Properties") or {}

        def attr_defs(v):
            return sorted((a.get("AttributeName"), a.get("AttributeType")) for a in (v or []))

        def key_schema(v):  # order matters (HASH, then RANGE)
            return [(k.get("AttributeName"), k.get("KeyType")) for k in (v or [])]

        def gsis(v):
            out = {}
            for g in v or []:
                proj = g.get("Projection") or {}
                out[g.get("IndexName")] = {
                    "KeySchema": key_schema(g.get("KeySchema")),
                    "ProjectionType": proj.get("ProjectionType"),
                    "NonKeyAttributes": sorted(proj.get("NonKeyAttributes") or []),
                    "ProvisionedThroughput": g.get("ProvisionedThroughput"),
                }
            return out

        def ttl(v):
            v = v or {}
            return {"AttributeName": v.get("AttributeName"), "Enabled": v.get("Enabled") is True}

        def lsis(v):
            return gsis(v)

        comparisons = {
            "AttributeDefinitions": attr_defs,
            "KeySchema": key_schema,
            "GlobalSecondaryIndexes": gsis,
            "LocalSecondaryIndexes": lsis,
            "BillingMode": lambda v: v,
            "TimeToLiveSpecification": ttl,
        }
        for key, norm in comparisons.items():
            want, have = norm(canonical.get(key)), norm(props.get(key))
            if want != have:
                self.err(
                    f"template.yaml {tname}.{key} does not match shared/table.json:\n"
                    f"      table.json: {json.dumps(want, default=str)}\n"
                    f"      template:   {json.dumps(have, default=str)}"
                )
        # Anything else table.json specifies (e.g. StreamSpecification) must be mirrored verbatim.
        for key in sorted(set(canonical) - set(comparisons) - {"TableName"}):
            if canonical[key] != props.get(key):
                self.err(f"template.yaml {tname}.{key} differs from shared/table.json ({canonical[key]!r} vs {props.get(key)!r})")

    # -- (b) functions ------------------------------------------------------------------------
    def function_dirs(self) -> list[str]:
        fdir = self.root / "functions"
        if not fdir.is_dir():
            self.err("functions/ directory is missing")
            return []
        return sorted(p.name for p in fdir.iterdir() if p.is_dir() and not p.name.startswith("."))

    def check_crate(self, name: str) -> None:
        manifest = self.root / "functions" / name / "Cargo.toml"
        if not manifest.is_file():
            self.err(f"functions/{name}: no Cargo.toml")
            return
        try:
            data = load_toml(manifest)
        except Exception as e:  # noqa: BLE001
            self.err(f"functions/{name}/Cargo.toml: cannot parse: {e}")
            return
        pkg = (data.get("package") or {}).get("name")
        bins = [b.get("name") for b in data.get("bin") or []]
        if bins:
            if name not in bins:
                self.err(f"functions/{name}/Cargo.toml: no [[bin]] named {name!r} (bins: {bins})")
        elif pkg != name:
            self.err(f"functions/{name}/Cargo.toml: package name {pkg!r} must equal the directory name (it is the binary/function name)")

    def template_functions(self, template: dict) -> dict[str, list[tuple[str, dict]]]:
        """binary name -> [(logical id, resource)]"""
        out: dict[str, list[tuple[str, dict]]] = {}
        for lid, res in (template.get("Resources") or {}).items():
            if not isinstance(res, dict) or res.get("Type") != "AWS::Serverless::Function":
                continue
            meta = res.get("Metadata") or {}
            binary = (meta.get("BuildProperties") or {}).get("Binary")
            code_uri = (res.get("Properties") or {}).get("CodeUri")
            name = None
            if isinstance(binary, str) and binary:
                name = binary
            elif isinstance(code_uri, str):
                m = re.fullmatch(r"\.?/?functions/([^/]+)/?", code_uri.strip())
                if m:
                    name = m.group(1)
            if name is None:
                self.err(f"template.yaml {lid}: cannot tell which crate it builds (set Metadata.BuildProperties.Binary)")
                continue
            if meta.get("BuildMethod") != "rust-cargolambda":
                self.err(f"template.yaml {lid}: Metadata.BuildMethod must be rust-cargolambda")
            out.setdefault(name, []).append((lid, res))
        return out

    def template_routes(self, lid: str, res: dict, api_ids: set[str]) -> set[tuple[str, str]]:
        routes = set()
        events = (res.get("Properties") or {}).get("Events") or {}
        for ename, ev in events.items():
            if not isinstance(ev, dict) or ev.get("Type") != "HttpApi":
                continue
            p = ev.get("Properties") or {}
            method, path = p.get("Method"), p.get("Path")
            if not isinstance(method, str) or not isinstance(path, str):
                self.err(f"template.yaml {lid}.Events.{ename}: HttpApi event needs literal Method and Path")
                continue
            api = p.get("ApiId")
            if api_ids and not (isinstance(api, dict) and api.get("Ref") in api_ids):
                self.err(f"template.yaml {lid}.Events.{ename}: ApiId should !Ref the AWS::Serverless::HttpApi ({', '.join(sorted(api_ids))})")
            routes.add((method.upper(), path))
        return routes

    def router_routes(self) -> dict[str, set[tuple[str, str]]] | None:
        manifest = self.root / "Cargo.toml"
        try:
            data = load_toml(manifest)
        except FileNotFoundError:
            self.err("Cargo.toml is missing")
            return None
        router = (((data.get("workspace") or {}).get("metadata") or {}).get("lambda") or {}).get("watch", {}).get("router")
        if not isinstance(router, dict):
            self.err("Cargo.toml: no [workspace.metadata.lambda.watch.router] table")
            return None
        out: dict[str, set[tuple[str, str]]] = {}
        for path, value in router.items():
            if isinstance(value, str):
                out.setdefault(value, set()).add(("ANY", path))
            elif isinstance(value, list):
                for item in value:
                    if not isinstance(item, dict) or "method" not in item or "function" not in item:
                        self.err(f"Cargo.toml router {path!r}: entries must be {{ method = ..., function = ... }}")
                        continue
                    out.setdefault(item["function"], set()).add((str(item["method"]).upper(), path))
            else:
                self.err(f"Cargo.toml router {path!r}: value must be a function name or a list of {{method, function}}")
        return out

    def check_event(self, name: str, want: set[tuple[str, str]]) -> None:
        path = self.root / "events" / f"{name}.json"
        try:
            ev = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            self.err(f"events/{name}.json is missing")
            return
        except json.JSONDecodeError as e:
            self.err(f"events/{name}.json: invalid JSON: {e}")
            return
        ctx = ev.get("requestContext") or {}
        http = ctx.get("http") or {}
        method = str(http.get("method", "")).upper()
        route_key = ev.get("routeKey", "")
        raw_path = ev.get("rawPath", "")
        problems = []
        if ev.get("version") != "2.0":
            problems.append('version must be "2.0"')
        if ctx.get("routeKey") != route_key:
            problems.append("routeKey and requestContext.routeKey differ")
        if http.get("path") != raw_path:
            problems.append("rawPath and requestContext.http.path differ")
        if not http.get("sourceIp"):
            problems.append("requestContext.http.sourceIp is missing")
        if not isinstance(ev.get("isBase64Encoded"), bool):
            problems.append("isBase64Encoded must be a boolean")
        if "body" in ev and ev["body"] is not None:
            if not isinstance(ev["body"], str):
                problems.append("body must be a string")
            elif not ev.get("isBase64Encoded"):
                try:
                    json.loads(ev["body"])
                except json.JSONDecodeError:
                    problems.append("body is not a JSON string")
        rk_method, _, rk_path = route_key.partition(" ")
        if want and (rk_method.upper(), rk_path) not in want:
            problems.append(f"routeKey {route_key!r} is not the function's route {fmt_routes(want)}")
        if rk_method.upper() != method:
            problems.append(f"requestContext.http.method {method!r} does not match routeKey {route_key!r}")
        if not route_matches(rk_path, raw_path):
            problems.append(f"rawPath {raw_path!r} does not match route path {rk_path!r}")
        params = set(re.findall(r"\{([^}/]+)\}", rk_path))
        given = set((ev.get("pathParameters") or {}).keys())
        if params != given:
            problems.append(f"pathParameters {sorted(given)} should be {sorted(params)}")
        for p in problems:
            self.err(f"events/{name}.json: {p}")

    def run(self) -> None:
        tpath = self.root / "template.yaml"
        try:
            template = load_yaml(tpath) or {}
        except FileNotFoundError:
            self.err("template.yaml is missing")
            template = {}
        except yaml.YAMLError as e:
            self.err(f"template.yaml: YAML error: {e}")
            template = {}

        if template:
            self.check_table(template)

        dirs = self.function_dirs()
        for d in dirs:
            self.check_crate(d)
        dirset = set(dirs)

        api_ids = {
            lid for lid, res in (template.get("Resources") or {}).items()
            if isinstance(res, dict) and res.get("Type") == "AWS::Serverless::HttpApi"
        }
        tfuncs = self.template_functions(template) if template else {}
        router = self.router_routes() or {}

        # Extras: names that are not crates under functions/
        for name in sorted(set(tfuncs) - dirset):
            self.err(f"template.yaml: {', '.join(l for l, _ in tfuncs[name])} builds {name!r}, which is not a directory under functions/")
        for name in sorted(set(router) - dirset):
            self.err(f"Cargo.toml router: routes to {name!r}, which is not a directory under functions/ ({fmt_routes(router[name])})")
        edir = self.root / "events"
        event_names = sorted(p.stem for p in edir.glob("*.json")) if edir.is_dir() else []
        for name in sorted(set(event_names) - dirset):
            self.err(f"events/{name}.json: {name!r} is not a directory under functions/")

        # Route collisions across functions
        seen: dict[tuple[str, str], str] = {}
        for name, routes in sorted(router.items()):
            for r in routes:
                if r in seen:
                    self.err(f"Cargo.toml router: {fmt_route(r)} is routed to both {seen[r]} and {name}")
                seen[r] = name

        for name in dirs:
            defs = tfuncs.get(name, [])
            if len(defs) != 1:
                self.err(f"functions/{name}: expected exactly one template function, found {len(defs)}"
                         + (f" ({', '.join(l for l, _ in defs)})" if defs else ""))
            t_routes: set[tuple[str, str]] = set()
            for lid, res in defs:
                t_routes |= self.template_routes(lid, res, api_ids)
            r_routes = router.get(name, set())
            if len(r_routes) != 1:
                self.err(f"functions/{name}: expected exactly one route in the Cargo.toml router, found {fmt_routes(r_routes) or 'none'}")
            if defs and not t_routes:
                self.err(f"functions/{name}: template function has no HttpApi event")
            if defs and r_routes and t_routes != r_routes:
                self.err(f"functions/{name}: template HttpApi route(s) {fmt_routes(t_routes)} != Cargo.toml router {fmt_routes(r_routes)}")
            self.check_event(name, r_routes or t_routes)

        self.notes.append(
            f"{len(dirs)} function(s), {sum(len(v) for v in tfuncs.values())} template function(s), "
            f"{sum(len(v) for v in router.values())} router route(s), {len(event_names)} event file(s)"
        )


def route_matches(template_path: str, concrete: str) -> bool:
    if not template_path:
        return False
    parts = re.split(r"(\{[^}/]+\})", template_path)
    regex = "".join("[^/]+" if p.startswith("{") and p.endswith("}") else re.escape(p) for p in parts)
    return re.fullmatch(regex, concrete) is not None


def fmt_route(r: tuple[str, str]) -> str:
    return f"{r[0]} {r[1]}"


def fmt_routes(rs) -> str:
    return ", ".join(sorted(fmt_route(r) for r in rs))


def rel(p: Path, root: Path) -> str:
    try:
        return str(p.relative_to(root))
    except ValueError:
        return str(p)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", type=Path, default=Path(__file__).resolve().parent.parent,
                    help="repository root (default: the checkout containing this script)")
    args = ap.parse_args()
    c = Checker(args.root.resolve())
    c.run()
    for n in c.notes:
        print(f"check_project: {n}")
    if c.errors:
        print(f"check_project: FAILED ({len(c.errors)} problem(s)):", file=sys.stderr)
        for e in c.errors:
            print(f"  - {e}", file=sys.stderr)
        return 1
    print("check_project: OK (template table == shared/table.json; functions/, template, router, events agree)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

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
(c) openapi.yaml documents exactly the router's routes; each operation documents 200 with its
    body schema and the error envelope (components.schemas.Error) for every error status the
    route can produce (OPENAPI_OPERATIONS), X-Correlation-Id everywhere, Retry-After on 429/503,
    Set-Cookie where the handler sets a cookie, the security scheme matching the credential the
    handler reads, a request body where it reads one, its path parameters; and every response
    schema lists exactly the fields of the Rust #[derive(Serialize)] struct it maps to
    (OPENAPI_STRUCTS / OPENAPI_MAPS), all required, Option<_> ↔ nullable, primitive types alike.

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

    def read_json(self, path: Path, what: str = ""):
        """The parsed file, or None after recording why it could not be read."""
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            self.err(f"{rel(path, self.root)} is missing{what}")
        except json.JSONDecodeError as e:
            self.err(f"{rel(path, self.root)} is not valid JSON: {e}")
        return None

    # -- (a) table ----------------------------------------------------------------------------
    def check_table(self, template: dict) -> None:
        canonical = self.read_json(self.root / "shared" / "table.json", " (canonical table definition)")
        if canonical is None:
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
        ev = self.read_json(self.root / "events" / f"{name}.json")
        if ev is None:
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

        OpenApiChecker(self).run(router)


# ---------------------------------------------------------------------------------------------
# (c) openapi.yaml against the code
# ---------------------------------------------------------------------------------------------
# What each route answers: the schema of its 200 body (components.schemas) and the error
# statuses it can produce (each must be documented with the error envelope). Keep in step with
# functions/*/src/lib.rs and shared/src/error.rs (Error::status).
OPENAPI_OPERATIONS: dict[tuple[str, str], tuple[str, set[int]]] = {
    ("POST", "/v1/authentication/request"): ("RequestResponse", {400, 401, 403, 429, 500, 503}),
    ("POST", "/v1/authentication/verify"): ("VerifyResponse", {400, 401, 403, 429, 500, 503}),
    ("POST", "/v1/authentication/lookup"): ("LookupResponse", {400, 401, 403, 404, 429, 500, 503}),
    ("POST", "/v1/authentication/logout"): ("LogoutResponse", {401, 429, 500, 503}),
    ("POST", "/v1/authentication/bot/login-code"): ("LoginCodeResponse", {400, 401, 403, 429, 500, 503}),
    ("POST", "/v1/authentication/bot/send-code"): ("SendCodeResponse", {400, 401, 403, 404, 429, 500, 503}),
    ("GET", "/v1/bot/me"): ("Bot", {401, 403, 429, 500, 503}),
    ("GET", "/v1/users/me"): ("MeResponse", {401, 403, 429, 500, 503}),
    ("GET", "/v1/users/me/sessions"): ("SessionList", {401, 403, 429, 500, 503}),
    ("POST", "/v1/users/me/sessions/{token_suffix}/destroy"): ("DestroyResponse", {400, 401, 403, 404, 429, 500, 503}),
}
# Response schemas → the #[derive(Serialize)] struct (file, name) whose fields they list.
OPENAPI_STRUCTS: dict[str, tuple[str, str]] = {
    "Error": ("shared/src/runtime.rs", "Envelope"),  # the error envelope (fn failure)
    "RequestResponse": ("shared/src/codes.rs", "RequestResponse"),
    "LoginCodeResponse": ("shared/src/codes.rs", "CodeResponse"),
    "SendCodeResponse": ("shared/src/codes.rs", "CodeResponse"),
    "VerifyResponse": ("shared/src/sessions.rs", "VerifyResponse"),
    "LookupResponse": ("shared/src/users.rs", "LookupResponse"),
    "LookupPlatform": ("shared/src/users.rs", "LookupPlatform"),
    "MeResponse": ("shared/src/users.rs", "MeResponse"),
    "Link": ("shared/src/users.rs", "Link"),
    "SessionList": ("shared/src/sessions.rs", "SessionList"),
    "SessionView": ("shared/src/sessions.rs", "SessionView"),
    "Bot": ("shared/src/store/admin.rs", "Bot"),
}
# Option<_> fields the schema documents as never null: send-code always has a code.
OPENAPI_NEVER_NULL = {("SendCodeResponse", "code"), ("SendCodeResponse", "expires_at")}
# Response schemas built from a literal BTreeMap::from([("key", ...)]) in a handler.
OPENAPI_MAPS: dict[str, str] = {
    "LogoutResponse": "functions/auth-logout/src/lib.rs",
    "DestroyResponse": "functions/users-session-destroy/src/lib.rs",
}
# How a handler reads its credential → the security scheme openapi.yaml must name.
OPENAPI_CREDENTIALS = {
    "keys::require_public": "publicKey",
    "keys::require_bot": "botKey",
    "http::session_token": "sessionCookie",
}
OPENAPI_SECURITY_SCHEMES = {
    "publicKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
    "botKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
    "sessionCookie": {"type": "apiKey", "in": "cookie", "name": "psession"},
}
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
RUST_JSON_TYPES = {
    **{t: "integer" for t in ("u8", "u16", "u32", "u64", "usize", "i8", "i16", "i32", "i64", "isize")},
    "bool": "boolean", "String": "string", "str": "string", "&str": "string", "&'static str": "string",
}


def rust_serialize_structs(text: str) -> dict[str, list[tuple[str, str]]]:
    """name → [(field, type)] of every `#[derive(..Serialize..)]` struct with named fields
    (also one declared inside a function).

    A field or struct carrying a #[serde(...)] attribute is reported with the type "#serde"
    (its wire name or presence may differ: the check then asks for this script to be extended).
    """
    out: dict[str, list[tuple[str, str]]] = {}
    for m in re.finditer(r"#\[derive\(([^)]*)\)\]((?:\s*(?:#\[[^\]]*\]|///[^\n]*))*)\s*(?:pub(?:\([^)]*\))?\s+)?struct\s+(\w+)[^{;]*\{", text):
        if "Serialize" not in m.group(1):
            continue
        depth, i, start = 1, m.end(), m.end()
        while i < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        fields: list[tuple[str, str]] = []
        if "#[serde(" in m.group(2):
            fields.append(("#struct", "#serde"))
        pending_serde = False
        for line in text[start:i - 1].splitlines():
            s = line.strip()
            if s.startswith("#[serde("):
                pending_serde = True
                continue
            f = re.match(r"(?:pub(?:\([^)]*\))?\s+)?(?:r#)?(\w+)\s*:\s*(.*?),?$", s)
            if f and not s.startswith("//"):
                fields.append((f.group(1), "#serde" if pending_serde else f.group(2).strip()))
                pending_serde = False
        out[m.group(3)] = fields
    return out


def is_nullable(schema, schemas: dict) -> bool:
    if not isinstance(schema, dict):
        return False
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
        return is_nullable(schemas.get(ref.rsplit("/", 1)[1]), schemas)
    t = schema.get("type")
    if t == "null" or (isinstance(t, list) and "null" in t):
        return True
    return any(is_nullable(s, schemas) for key in ("anyOf", "oneOf") for s in schema.get(key) or [])


def json_types(schema, schemas: dict) -> set[str]:
    """The JSON types a (sub)schema admits, as far as `type`, `$ref` and anyOf/oneOf tell."""
    if not isinstance(schema, dict):
        return set()
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
        return json_types(schemas.get(ref.rsplit("/", 1)[1]), schemas)
    t = schema.get("type")
    types = set(t) if isinstance(t, list) else ({t} if isinstance(t, str) else set())
    for key in ("anyOf", "oneOf"):
        for s in schema.get(key) or []:
            types |= json_types(s, schemas)
    return types


class OpenApiChecker:
    def __init__(self, checker: "Checker"):
        self.c = checker
        self.root = checker.root

    def err(self, msg: str) -> None:
        self.c.err(f"openapi.yaml: {msg}")

    def resolve(self, node, doc: dict):
        """Follows local $refs (#/components/...)."""
        seen = 0
        while isinstance(node, dict) and isinstance(node.get("$ref"), str) and seen < 10:
            ref = node["$ref"]
            if not ref.startswith("#/"):
                return None
            target = doc
            for part in ref[2:].split("/"):
                target = target.get(part) if isinstance(target, dict) else None
            node, seen = target, seen + 1
        return node

    def read(self, rel_path: str) -> str | None:
        try:
            return (self.root / rel_path).read_text(encoding="utf-8")
        except FileNotFoundError:
            self.c.err(f"check_project.py names {rel_path}, which is missing (update the OPENAPI_* tables)")
            return None

    def run(self, router: dict[str, set[tuple[str, str]]]) -> None:
        path = self.root / "openapi.yaml"
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except FileNotFoundError:
            self.c.err("openapi.yaml is missing")
            return
        except yaml.YAMLError as e:
            self.err(f"YAML error: {e}")
            return
        if not str(doc.get("openapi", "")).startswith("3.1"):
            self.err(f"openapi must be 3.1.x, not {doc.get('openapi')!r}")
        comps = doc.get("components") or {}
        schemas = comps.get("schemas") or {}

        # Routes: exactly the router's.
        routes: dict[tuple[str, str], dict] = {}
        for p, item in (doc.get("paths") or {}).items():
            for method, op in (item or {}).items():
                if method in HTTP_METHODS:
                    routes[(method.upper(), p)] = op if isinstance(op, dict) else {}
        by_route = {r: fn for fn, rs in router.items() for r in rs}
        for r in sorted(set(by_route) - set(routes)):
            self.err(f"{fmt_route(r)} is in the Cargo.toml router but not documented")
        for r in sorted(set(routes) - set(by_route)):
            self.err(f"{fmt_route(r)} is documented but not in the Cargo.toml router")
        for r in sorted(set(by_route) - set(OPENAPI_OPERATIONS)):
            self.c.err(f"check_project.py: add {fmt_route(r)} to OPENAPI_OPERATIONS (200 schema, error statuses)")

        self.check_envelope(doc, schemas)
        self.check_security_schemes(comps.get("securitySchemes") or {})
        for r, op in sorted(routes.items()):
            if r in by_route and r in OPENAPI_OPERATIONS:
                self.check_operation(r, op, by_route[r], doc, schemas)
        self.check_structs(schemas)
        self.c.notes.append(f"openapi.yaml: {len(routes)} operation(s) checked against the router, handlers and Serialize structs")

    def check_envelope(self, doc: dict, schemas: dict) -> None:
        env = schemas.get("Error")
        if not isinstance(env, dict):
            self.err("components.schemas.Error (the error envelope) is missing")
            return
        props = env.get("properties") or {}
        if env.get("additionalProperties") is not False or set(env.get("required") or []) != {"error", "correlation_id"} \
                or set(props) != {"error", "correlation_id"}:
            self.err("components.schemas.Error must be {error, correlation_id}, both required, additionalProperties: false")
        if (props.get("correlation_id") or {}).get("format") != "uuid":
            self.err("components.schemas.Error.correlation_id must be a string with format: uuid")

    def check_security_schemes(self, have: dict) -> None:
        for name, want in OPENAPI_SECURITY_SCHEMES.items():
            got = have.get(name)
            if not isinstance(got, dict) or any(got.get(k) != v for k, v in want.items()):
                self.err(f"components.securitySchemes.{name} must be {want}")

    def check_operation(self, route, op: dict, function: str, doc: dict, schemas: dict) -> None:
        where = fmt_route(route)
        ok_schema, error_statuses = OPENAPI_OPERATIONS[route]
        responses = op.get("responses") or {}
        want = {"200"} | {str(s) for s in error_statuses}
        have = {str(s) for s in responses}
        if have != want:
            self.err(f"{where}: responses {sorted(have)} should be {sorted(want)}")
        for status, resp in sorted(responses.items(), key=lambda kv: str(kv[0])):
            resp = self.resolve(resp, doc)
            if not isinstance(resp, dict):
                self.err(f"{where} {status}: response cannot be resolved")
                continue
            headers = {k.lower(): self.resolve(v, doc) for k, v in (resp.get("headers") or {}).items()}
            required = {k for k, v in headers.items() if isinstance(v, dict) and v.get("required") is True}
            if "x-correlation-id" not in required:
                self.err(f"{where} {status}: X-Correlation-Id must be a required header")
            media = ((resp.get("content") or {}).get("application/json") or {}).get("schema") or {}
            if str(status) == "200":
                if media.get("$ref") != f"#/components/schemas/{ok_schema}":
                    self.err(f"{where} 200: application/json schema must be $ref #/components/schemas/{ok_schema}")
            else:
                if media.get("$ref") != "#/components/schemas/Error":
                    self.err(f"{where} {status}: application/json schema must be the error envelope (#/components/schemas/Error)")
                if str(status) in ("429", "503") and "retry-after" not in required:
                    self.err(f"{where} {status}: Retry-After must be a required header")

        handler = self.read(f"functions/{function}/src/lib.rs")
        if handler is None:
            return
        schemes = sorted({s for req in op.get("security") or [] if isinstance(req, dict) for s in req})
        reads = sorted({scheme for call, scheme in OPENAPI_CREDENTIALS.items() if call in handler})
        if schemes != reads:
            self.err(f"{where}: security {schemes} but functions/{function} reads credential(s) {reads}")
        ok = (responses.get("200") or responses.get(200)) or {}
        if ("with_cookie(" in handler) != ("set-cookie" in {k.lower() for k in (self.resolve(ok, doc) or {}).get("headers") or {}}):
            self.err(f"{where} 200: Set-Cookie must be documented exactly when functions/{function} sets a cookie")
        body = op.get("requestBody")
        if ("http::body(" in handler) != isinstance(body, dict):
            self.err(f"{where}: requestBody must be documented exactly when functions/{function} reads a body")
        elif isinstance(body, dict) and body.get("required") is not True:
            self.err(f"{where}: requestBody must be required")
        want_params = set(re.findall(r"\{([^}/]+)\}", route[1]))
        have_params = {p.get("name") for p in (self.resolve(p, doc) for p in op.get("parameters") or [])
                       if isinstance(p, dict) and p.get("in") == "path"}
        if want_params != have_params:
            self.err(f"{where}: path parameters {sorted(have_params)} should be {sorted(want_params)}")

    def check_structs(self, schemas: dict) -> None:
        parsed: dict[str, dict[str, list[tuple[str, str]]]] = {}
        for schema_name, (rel_path, struct) in sorted(OPENAPI_STRUCTS.items()):
            if rel_path not in parsed:
                text = self.read(rel_path)
                parsed[rel_path] = rust_serialize_structs(text) if text is not None else {}
            fields = parsed[rel_path].get(struct)
            if fields is None:
                if parsed[rel_path]:
                    self.c.err(f"check_project.py: no #[derive(Serialize)] struct {struct} in {rel_path} (update OPENAPI_STRUCTS)")
                continue
            if any(t == "#serde" for _, t in fields):
                self.c.err(f"check_project.py: {rel_path} {struct} uses #[serde(...)] attributes; teach the check what they do")
                continue
            self.compare(schema_name, f"{rel_path} {struct}", dict(fields), schemas)
        for schema_name, rel_path in sorted(OPENAPI_MAPS.items()):
            text = self.read(rel_path)
            if text is None:
                continue
            m = re.search(r"BTreeMap::from\(\s*\[(.*?)\]\s*\)", text, re.S)
            if not m:
                self.c.err(f"check_project.py: no BTreeMap::from([...]) body in {rel_path} (update OPENAPI_MAPS)")
                continue
            keys = re.findall(r'\(\s*"(\w+)"\s*,', m.group(1))
            self.compare(schema_name, rel_path, {k: "" for k in keys}, schemas)

    def compare(self, schema_name: str, source: str, fields: dict[str, str], schemas: dict) -> None:
        schema = schemas.get(schema_name)
        if not isinstance(schema, dict):
            self.err(f"components.schemas.{schema_name} is missing ({source})")
            return
        props = schema.get("properties") or {}
        for f in sorted(set(fields) - set(props)):
            self.err(f"components.schemas.{schema_name} lacks field {f!r} that {source} serializes")
        for f in sorted(set(props) - set(fields)):
            self.err(f"components.schemas.{schema_name} has {f!r}, which {source} does not serialize")
        if set(schema.get("required") or []) != set(fields):
            self.err(f"components.schemas.{schema_name}: required must list every field ({source} always serializes all)")
        if schema.get("additionalProperties") is not False:
            self.err(f"components.schemas.{schema_name}: additionalProperties must be false")
        for f, rust_type in fields.items():
            if f not in props or not rust_type:
                continue
            option = re.fullmatch(r"Option<\s*(.*)\s*>", rust_type)
            inner = option.group(1) if option else rust_type
            nullable = is_nullable(props[f], schemas)
            if option and not nullable and (schema_name, f) not in OPENAPI_NEVER_NULL:
                self.err(f"components.schemas.{schema_name}.{f} must admit null ({source}: {rust_type})")
            if not option and nullable:
                self.err(f"components.schemas.{schema_name}.{f} must not admit null ({source}: {rust_type})")
            inner = re.sub(r"^&(?:'\w+\s+)?", "&", inner)
            want = RUST_JSON_TYPES.get(inner) or RUST_JSON_TYPES.get(inner.lstrip("&")) \
                or ("array" if re.match(r"(Vec<|&(?:'\w+\s+)?\[)", inner) else None)
            have = json_types(props[f], schemas) - {"null"}
            if want and have and have != {want}:
                self.err(f"components.schemas.{schema_name}.{f} is {sorted(have)}, {source} serializes {rust_type} ({want})")


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
    print("check_project: OK (template table == shared/table.json; functions/, template, router, events, openapi.yaml agree)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The container images: their Dockerfiles agree with the crates, the operator and the chart.

Docker is not needed: the Dockerfiles are read as text and checked against what runs them,
the Deployment the operator renders for a server (its insta golden, which the operator's Rust
tests keep equal to the render) and the operator Deployment the chart renders.
"""

import json
import pathlib
import posixpath
import re
import subprocess
import tomllib

import pytest
import yaml

from conftest import CHART, ROOT, all_objects, render

SERVER_DOCKERFILE = ROOT / "server" / "Dockerfile"
OPERATOR_DOCKERFILE = ROOT / "operator" / "Dockerfile"
RENDERED_SERVER = ROOT / "operator" / "tests" / "it" / "snapshots" / "it__render__deployment.snap"
DISTROLESS = "gcr.io/distroless/cc-debian12:nonroot"
# The PATH a distroless image sets; `command: [bia]` in a pod is looked up on it.
DISTROLESS_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".split(":")
# Debian release of each Rust image suffix, for the glibc the binary is linked against.
DEBIAN_RELEASE = {"bookworm": "12", "trixie": "13", "bullseye": "11"}


def instructions(path):
    """The Dockerfile as [(INSTRUCTION, arguments)], continuation lines joined."""
    out, pending = [], ""
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        text = pending + stripped
        pending = ""
        keyword, _, args = text.partition(" ")
        out.append((keyword.upper(), args.strip()))
    assert not pending, f"{path}: dangling line continuation"
    return out


def stages(path):
    """Build stages: [{"from": image, "name": alias or None, "body": [(INSTRUCTION, args)]}]."""
    result = []
    for keyword, args in instructions(path):
        if keyword == "FROM":
            words = args.split()
            words = [w for w in words if not w.startswith("--platform")]
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            result.append({"from": words[0], "name": name, "body": []})
        else:
            assert result, f"{path}: {keyword} before FROM"
            result[-1]["body"].append((keyword, args))
    return result


def exec_form(args):
    """A JSON-array ENTRYPOINT or CMD (the shell form would need a shell, which distroless lacks)."""
    value = json.loads(args)
    assert isinstance(value, list) and all(isinstance(v, str) for v in value), args
    return value


def one(body, keyword):
    found = [args for k, args in body if k == keyword]
    assert len(found) == 1, f"expected one {keyword}, found {found}"
    return found[0]


def crate(manifest):
    """(package name, [bin names]) of a Cargo.toml."""
    data = tomllib.loads(manifest.read_text())
    return data["package"]["name"], [b["name"] for b in data.get("bin", [])]


def rendered_server_pod():
    """The pod spec of the Deployment the operator renders for an IdentityServer."""
    docs = list(yaml.safe_load_all(RENDERED_SERVER.read_text()))
    return docs[-1]["spec"]["template"]["spec"]


def chart_values():
    return yaml.safe_load((CHART / "values.yaml").read_text())


def app_version():
    return yaml.safe_load((CHART / "Chart.yaml").read_text())["appVersion"]


class Image:
    """What one Dockerfile builds and runs."""

    def __init__(self, dockerfile, crate_dir):
        self.dockerfile = dockerfile
        self.stages = stages(dockerfile)
        self.final = self.stages[-1]
        self.package, self.bins = crate(crate_dir / "Cargo.toml")

    @property
    def build(self):
        return self.stages[0]

    def entrypoint(self):
        return exec_form(one(self.final["body"], "ENTRYPOINT"))

    def cmd(self):
        return exec_form(one(self.final["body"], "CMD"))

    def user(self):
        return one(self.final["body"], "USER")

    def exposed(self):
        return {int(p.split("/")[0]) for p in one(self.final["body"], "EXPOSE").split()}

    def copied_binary(self):
        """(source, destination) of the binary the final stage copies from the build stage."""
        copies = [args.split() for k, args in self.final["body"] if k == "COPY"]
        assert len(copies) == 1, copies
        words = copies[0]
        assert words[0] == f"--from={self.build['name']}", words
        return words[1], words[2]


SERVER = Image(SERVER_DOCKERFILE, ROOT / "server")
OPERATOR = Image(OPERATOR_DOCKERFILE, ROOT / "operator")
IMAGES = {"server": SERVER, "operator": OPERATOR}


@pytest.mark.parametrize("which", sorted(IMAGES))
def test_is_multi_stage_with_a_distroless_non_root_final_stage(which):
    image = IMAGES[which]
    assert len(image.stages) >= 2
    assert image.build["name"], "the build stage is named, for COPY --from"
    assert image.build["from"].startswith("rust:"), image.build["from"]
    assert image.final["from"] == DISTROLESS
    assert image.final["name"] is None or image.final["name"] != image.build["name"]
    # Only the binary goes into the final stage: no RUN (distroless has no shell).
    assert not [k for k, _ in image.final["body"] if k == "RUN"]


@pytest.mark.parametrize("which", sorted(IMAGES))
def test_user_is_numeric_and_not_root(which):
    # The pods set runAsNonRoot without runAsUser: the kubelet can only verify that against
    # a numeric USER in the image.
    user = IMAGES[which].user()
    assert re.fullmatch(r"\d+(:\d+)?", user), user
    uid, _, gid = user.partition(":")
    assert int(uid) != 0 and (not gid or int(gid) != 0)


@pytest.mark.parametrize("which", sorted(IMAGES))
def test_builds_the_crates_binary_in_release_from_the_locked_workspace(which):
    image = IMAGES[which]
    assert len(image.bins) == 1, image.bins
    binary = image.bins[0]
    builds = [args for k, args in image.build["body"] if k == "RUN" and "cargo build" in args]
    assert len(builds) == 1, builds
    words = builds[0].split()
    assert {"--release", "--locked"} <= set(words)
    assert words[words.index("-p") + 1] == image.package
    assert words[words.index("--bin") + 1] == binary
    assert ("COPY", ". .") in image.build["body"], "the whole workspace is the build context"
    workdir = one(image.build["body"], "WORKDIR")
    source, destination = image.copied_binary()
    assert source == posixpath.join(workdir, "target", "release", binary)
    assert posixpath.basename(destination) == binary
    assert posixpath.dirname(destination) in DISTROLESS_PATH
    assert image.entrypoint() == [destination]


def test_both_images_use_one_toolchain_and_one_base():
    assert SERVER.build["from"] == OPERATOR.build["from"]
    assert SERVER.final["from"] == OPERATOR.final["from"]
    assert SERVER.user() == OPERATOR.user()


def test_toolchain_is_new_enough_and_matches_the_runtime_debian():
    tag = SERVER.build["from"].split(":", 1)[1]
    match = re.fullmatch(r"(\d+)\.(\d+)(?:\.\d+)?-(\w+)", tag)
    assert match, tag
    workspace = tomllib.loads((ROOT / "Cargo.toml").read_text())["workspace"]["package"]
    needed = tuple(int(x) for x in workspace["rust-version"].split(".")[:2])
    assert (int(match[1]), int(match[2])) >= needed
    # A binary linked against the build image's glibc must find the same one at run time.
    assert f"-debian{DEBIAN_RELEASE[match[3]]}:" in SERVER.final["from"]


def test_server_image_runs_what_the_operator_renders():
    pod = rendered_server_pod()
    containers = {c["name"]: c for c in pod["containers"] + pod["initContainers"]}
    serve, migrate = containers["bia"], containers["migrate"]
    binary = SERVER.bins[0]
    for c in (serve, migrate):
        # `command` replaces ENTRYPOINT: it must name the binary, found on the image's PATH.
        assert c["command"] == [binary]
        assert posixpath.dirname(SERVER.entrypoint()[0]) in DISTROLESS_PATH
    # The image's default command is the operator's serve command, config path included.
    assert SERVER.cmd() == serve["args"]
    config = serve["args"][serve["args"].index("-c") + 1]
    assert migrate["args"][migrate["args"].index("-c") + 1] == config
    mounts = [m["mountPath"] for m in serve["volumeMounts"]]
    assert posixpath.dirname(config) in mounts
    assert SERVER.exposed() == {p["containerPort"] for p in serve["ports"]}


def test_operator_image_runs_what_the_chart_renders():
    deployment = next(o for o in all_objects(render()) if o["kind"] == "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert "command" not in container and "args" not in container  # the ENTRYPOINT runs
    assert {p["containerPort"] for p in container["ports"]} <= OPERATOR.exposed()
    assert str(container["securityContext"]["runAsUser"]) == OPERATOR.user().split(":")[0]


def test_image_names_follow_one_scheme():
    values = chart_values()
    operator_repo = values["image"]["repository"]
    server_repo = values["identityServer"]["image"]["repository"]
    # One registry and owner; each image is named after its binary.
    assert posixpath.dirname(server_repo) == posixpath.dirname(operator_repo)
    assert posixpath.basename(operator_repo) == OPERATOR.bins[0]
    assert posixpath.basename(server_repo) == SERVER.bins[0]
    # Both tags default to the chart's appVersion.
    assert values["image"]["tag"] == "" and values["identityServer"]["image"]["tag"] == ""
    assert "image" not in values["identityServer"]["spec"]


def test_chart_default_server_image_is_the_release_image():
    servers = [o for o in all_objects(render({"identityServer": {"enabled": True}})) if o["kind"] == "IdentityServer"]
    assert len(servers) == 1
    repo = chart_values()["identityServer"]["image"]["repository"]
    assert servers[0]["spec"]["image"] == f"{repo}:{app_version()}"
    # The example resources name the same image.
    example = yaml.safe_load((ROOT / "config" / "examples" / "10-identityserver.yaml").read_text())
    assert example["spec"]["image"] == f"{repo}:{app_version()}"


def test_server_image_can_be_overridden():
    def image(values):
        objs = all_objects(render({"identityServer": {"enabled": True, **values}}))
        return next(o for o in objs if o["kind"] == "IdentityServer")["spec"]["image"]

    assert image({"image": {"repository": "bia", "tag": "dev"}}) == "bia:dev"
    assert image({"image": {"repository": "registry.local/bia"}}) == f"registry.local/bia:{app_version()}"
    assert image({"spec": {"image": "other/bia:1.2.3"}}) == "other/bia:1.2.3"


def test_rendered_identity_server_matches_the_crd():
    jsonschema = pytest.importorskip("jsonschema")
    crd = yaml.safe_load((CHART / "crds" / "identityservers.bia.dev.yaml").read_text())
    (version,) = [v for v in crd["spec"]["versions"] if v["storage"]]
    schema = version["schema"]["openAPIV3Schema"]
    objs = all_objects(render({"identityServer": {"enabled": True}}))
    server = next(o for o in objs if o["kind"] == "IdentityServer")
    assert server["apiVersion"] == f"{crd['spec']['group']}/{version['name']}"
    jsonschema.validate({k: v for k, v in server.items() if k != "metadata"}, schema)


def _ignore_patterns():
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return [l.strip() for l in lines if l.strip() and not l.strip().startswith("#")]


def _ignored(path, patterns):
    """Whether the build context leaves out `path` (relative, '/'-separated); no `!` rules."""
    assert not any(p.startswith("!") for p in patterns)

    def regex(pattern):
        out, i = "", 0
        pattern = pattern.strip("/")
        while i < len(pattern):
            if pattern.startswith("**/", i):
                out, i = out + "(?:.*/)?", i + 3
            elif pattern.startswith("**", i):
                out, i = out + ".*", i + 2
            elif pattern[i] == "*":
                out, i = out + "[^/]*", i + 1
            elif pattern[i] == "?":
                out, i = out + "[^/]", i + 1
            else:
                out, i = out + re.escape(pattern[i]), i + 1
        return re.compile(out)

    compiled = [regex(p) for p in patterns]
    parts = path.split("/")
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    return any(r.fullmatch(prefix) for r in compiled for prefix in prefixes)


def _tracked_files(folders):
    """Files of the given folders that Git tracks (every file but build output without Git)."""
    try:
        listed = subprocess.run(
            ["git", "-C", str(ROOT), "ls-files", "--", *folders], capture_output=True, text=True, check=True
        ).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        listed = [
            p.relative_to(ROOT).as_posix()
            for folder in folders
            for p in (ROOT / folder).rglob("*")
            if p.is_file() and "target" not in p.relative_to(ROOT).parts
        ]
    return listed


def test_dockerignore_keeps_the_workspace_and_drops_the_rest():
    patterns = _ignore_patterns()
    for path in (".git/HEAD", "target/release/bia", "tests/chart/conftest.py", "server/x.db"):
        assert _ignored(path, patterns), path
    workspace = tomllib.loads((ROOT / "Cargo.toml").read_text())["workspace"]
    needed = ["Cargo.toml", "Cargo.lock"] + _tracked_files(workspace["members"])
    assert any(n.startswith("server/migrations/") for n in needed)
    kept_out = [n for n in needed if _ignored(n, patterns)]
    assert not kept_out, kept_out

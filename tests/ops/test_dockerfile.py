"""The Dockerfile: small (slim, multi-stage, no pip cache), runs as a
non-root user, starts a service with `linkage run`, probes /health without
curl; and .dockerignore keeps secrets and local state out of the context.
(No Docker engine here: the build itself is not run by the tests.)"""
import fnmatch
import json
import os
import re

from tests.ops.helpers import REPO


def instructions():
    """(INSTRUCTION, argument) pairs, continuation lines joined."""
    text = open(os.path.join(REPO, "Dockerfile")).read()
    text = re.sub(r"\\\n", " ", text)
    result = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            result.append((word.upper(), rest.strip()))
    return result


def final_stage():
    steps = instructions()
    last_from = max(i for i, (word, _) in enumerate(steps) if word == "FROM")
    return steps[last_from:]


def test_build_and_runtime_stages_are_python_311_slim():
    froms = [arg for word, arg in instructions() if word == "FROM"]
    assert len(froms) >= 2, "multi-stage: build tools and caches stay out of the image"
    for base in froms:
        assert base.split()[0] == "python:3.11-slim"


def test_runtime_runs_as_an_unprivileged_numeric_user():
    users = [arg for word, arg in final_stage() if word == "USER"]
    assert users, "the runtime stage must set USER"
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) >= 1000, "numeric uid, so Kubernetes can check runAsNonRoot"
    assert any(word == "RUN" and "useradd" in arg and "--uid %s" % uid in arg for word, arg in final_stage())


def test_runtime_copies_only_the_venv_from_the_build_stage():
    copies = [arg for word, arg in final_stage() if word == "COPY"]
    assert copies == ["--from=build /opt/venv /opt/venv"]


def test_pip_keeps_no_cache_and_installs_pinned_runtime_dependencies():
    steps = instructions()
    envs = " ".join(arg for word, arg in steps if word == "ENV")
    runs = [arg for word, arg in steps if word == "RUN"]
    assert "PIP_NO_CACHE_DIR=1" in envs or all("--no-cache-dir" in r for r in runs if "pip install" in r)
    assert any("pip install -c requirements.txt" in r for r in runs), "pins from requirements.txt"
    assert any("pip install --no-deps" in r for r in runs), "the project itself, without re-resolving"
    # dependencies are installed before the sources are copied (layer cache)
    order = [(word, arg) for word, arg in steps if word in ("COPY", "RUN")]
    deps = next(i for i, (w, a) in enumerate(order) if w == "RUN" and "-r runtime.txt" in a)
    sources = next(i for i, (w, a) in enumerate(order) if w == "COPY" and a.startswith("shared"))
    assert deps < sources


def test_entrypoint_runs_a_service_and_healthcheck_probes_health():
    stage = dict(final_stage())
    assert json.loads(stage["ENTRYPOINT"]) == ["linkage", "run"]
    check = stage["HEALTHCHECK"]
    probe = json.loads(check[check.index("CMD") + 3:].strip())
    assert probe[0] == "python" and "/health" in probe[-1]
    assert "curl" not in open(os.path.join(REPO, "Dockerfile")).read().replace("no curl", "")
    assert "LINKAGE_ENV=production" in " ".join(arg for word, arg in final_stage() if word == "ENV")


def test_dockerignore_keeps_secrets_and_local_state_out():
    patterns = [line.strip() for line in open(os.path.join(REPO, ".dockerignore"))
                if line.strip() and not line.startswith("#")]

    def ignored(path):
        return any(fnmatch.fnmatch(path, pattern) or path.startswith(pattern.rstrip("/") + "/")
                   for pattern in patterns)

    for path in (".env", ".git", ".venv", ".stack", "tests", "k8s", "ops"):
        assert ignored(path), "%s must not be sent to the Docker build" % path
    for path in ("pyproject.toml", "requirements.txt", "shared/cli.py", "services/developer/service.py",
                 "shared/nameko.yaml"):
        assert not ignored(path), "%s is needed by the build" % path

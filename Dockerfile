# One image for all five services; the service is chosen by the command:
#   docker run five-party-linkage neighborhood_committee
# (the entrypoint is `linkage run`, see shared/cli.py).

# ---- build: install the pinned runtime dependencies and the project into a venv
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src

# Dependencies first, in their own layer, so a code change does not reinstall
# them. Only the runtime dependencies of pyproject.toml are installed, at the
# versions pinned in requirements.txt (which also pins test tools like pytest).
COPY pyproject.toml requirements.txt ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > runtime.txt \
 && pip install -c requirements.txt -r runtime.txt

COPY shared ./shared
COPY services ./services
# setuptools is already in the venv (a pinned runtime dependency): build with it.
RUN pip install --no-deps --no-build-isolation . \
 && linkage --help > /dev/null

# ---- runtime: the venv only, run as an unprivileged user
FROM python:3.11-slim
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    LINKAGE_ENV=production
# A fixed numeric uid so Kubernetes' runAsNonRoot can verify it.
RUN groupadd --system --gid 10001 linkage \
 && useradd --system --uid 10001 --gid linkage --no-create-home --shell /usr/sbin/nologin linkage
COPY --from=build /opt/venv /opt/venv
USER 10001:10001
WORKDIR /tmp

# The slim image has no curl: probe /health with the standard library.
# HTTP_PORT is set by `linkage run` from the service's default port when absent,
# but the probe runs in its own process, so compose and k8s set HTTP_PORT.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ['HTTP_PORT'], timeout=4)"]

ENTRYPOINT ["linkage", "run"]

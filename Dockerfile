# One image for every role: `wallet serve` (the default command), `wallet worker`, `wallet migrate`.
#
# BASE_IMAGE is any Debian-based image with Python 3.11+ on PATH as python3 (and its venv
# module). Users get the official slim image; scripts/container-check builds an equivalent
# from Debian's packages when no image registry can be reached.
ARG BASE_IMAGE=python:3.11-slim-bookworm

FROM ${BASE_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore
WORKDIR /src
RUN python3 -m venv /opt/wallet
# Dependencies first, in a layer of their own: the service's runtime requirements at the
# versions of the lock (the lock also pins the dev tools, which stay out of the image).
COPY pyproject.toml requirements.lock ./
RUN python3 -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > runtime.txt \
    && /opt/wallet/bin/pip install --requirement runtime.txt --constraint requirements.lock
COPY README.md ./
COPY src ./src
COPY migrations ./migrations
# Byte-compiled now, because the root filesystem is read-only at run time; the installer
# itself is not needed there.
RUN /opt/wallet/bin/pip install --no-deps . \
    && /opt/wallet/bin/python -m compileall -q /opt/wallet/lib \
    && /opt/wallet/bin/pip uninstall --yes --quiet pip setuptools

FROM ${BASE_IMAGE} AS runtime
ENV PATH=/opt/wallet/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    WALLET_DATA_DIR=/tmp/wallet
# USER too, because the migration tool records who ran it (getpass) and an orchestrator may
# run the image under another uid than the one created here.
ENV USER=wallet
RUN useradd --uid 10001 --user-group --no-create-home --home-dir /tmp --shell /usr/sbin/nologin wallet
COPY --from=build /opt/wallet /opt/wallet
# A numeric uid so that Kubernetes' runAsNonRoot can verify it.
USER 10001:10001
WORKDIR /tmp
EXPOSE 8000
# WALLET_HEALTHCHECK_URL points the check elsewhere, e.g. a worker's metrics port.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python3", "-m", "wallet.healthcheck"]
CMD ["wallet", "serve", "--host", "0.0.0.0", "--port", "8000"]

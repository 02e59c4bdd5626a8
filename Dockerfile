# The sweep images: the `sweep` CLI with every consumer (the indexer by default, see docker-compose.yml).
#   target runtime    consumers (indexer, complaints): no browser
#   target workspace  the workspace and the scheduler: Debian's Chromium and Noto CJK fonts, because case
#                     files and reports are printed to PDF by Chromium (the last stage: the default build)
# Crawling with a browser also needs Chromium; crawlers run on their own hosts and publish to Kafka.
FROM python:3.11-slim AS build
WORKDIR /src
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# a C compiler: setup.py compiles the rulebook engine with mypyc (rules/native.py)
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml setup.py README.md ./
COPY sweep ./sweep
COPY adapters ./adapters
COPY app ./app
COPY spiders ./spiders
COPY rules ./rules
COPY consumers ./consumers
COPY complaints ./complaints
COPY workspace ./workspace
COPY operations ./operations
COPY evidence ./evidence
COPY reports ./reports
COPY demomall ./demomall
COPY services ./services
RUN pip wheel --wheel-dir /wheels .

FROM python:3.11-slim AS runtime
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 SWEEP_DATA_DIR=/var/lib/sweep
COPY --from=build /wheels /wheels
RUN pip install /wheels/*.whl && rm -rf /wheels \
    && useradd --system --uid 10001 --home-dir /var/lib/sweep --create-home sweep
USER sweep
WORKDIR /var/lib/sweep
ENTRYPOINT ["sweep"]
CMD ["consume", "indexer"]

FROM runtime AS workspace
USER root
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium fonts-noto-cjk \
    && rm -rf /var/lib/apt/lists/*
ENV SWEEP_CHROMIUM=/usr/bin/chromium
USER sweep

# The sweep image: the `sweep` CLI with every consumer (the indexer by default, see docker-compose.yml).
# Crawling with a browser needs Chromium, which this image leaves out on purpose: crawlers run on
# their own hosts and publish to Kafka; this image only consumes and indexes.
FROM python:3.11-slim AS build
WORKDIR /src
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY pyproject.toml README.md ./
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

FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 SWEEP_DATA_DIR=/var/lib/sweep
COPY --from=build /wheels /wheels
RUN pip install /wheels/*.whl && rm -rf /wheels \
    && useradd --system --uid 10001 --home-dir /var/lib/sweep --create-home sweep
USER sweep
WORKDIR /var/lib/sweep
ENTRYPOINT ["sweep"]
CMD ["consume", "indexer"]

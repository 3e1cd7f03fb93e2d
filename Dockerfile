# One image for both services; compose.yaml picks the command.
#
# Build stage: a wheel of the project (the migrations are package data inside it).
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY authsvc ./authsvc
COPY registry ./registry
COPY httplog ./httplog
COPY svckit ./svckit
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

# Runtime stage: the wheel and its dependencies, no source tree, no build tools, no keys.
FROM python:3.11-slim
COPY --from=build /wheels /wheels
# With the s3 extra, so that the registry can use storage.s3 (registry/CONFIG.md).
RUN pip install --no-cache-dir "$(ls /wheels/*.whl)[s3]" && rm -rf /wheels \
    && useradd --system --uid 10001 --home-dir /var/lib/authsvc --create-home authsvc \
    && mkdir -p /var/lib/registry && chown authsvc /var/lib/registry
USER 10001
WORKDIR /var/lib/authsvc
# certs/ is mounted read-only at run time (compose.yaml says how the keys are made).
ENV AUTHSVC_SIGNING_KEY=/certs/token.key AUTHSVC_SIGNING_CERT=/certs/token.crt
EXPOSE 5000 5001
CMD ["authsvc", "serve"]

# One image for both services; compose.yaml picks the command.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY authsvc ./authsvc
COPY registry ./registry
COPY httplog ./httplog
# The wheel holds the packages; `authsvc db upgrade` finds migrations/ in the working directory.
COPY migrations ./migrations
RUN pip install --no-cache-dir .
# The image carries no keys: certs/ is mounted read-only at run time.
ENV AUTHSVC_SIGNING_KEY=/certs/token.key AUTHSVC_SIGNING_CERT=/certs/token.crt
EXPOSE 5000 5001

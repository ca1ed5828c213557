#!/usr/bin/env bash
# Installs the third-party clients the listeners' tests run against, project-locally:
#   python-hl7 (mllp_send), hl7apy, prometheus-client (parses /metrics) and fhirpy (a FHIR
#   REST client, for [[source.fhir]]) and opentelemetry-opamp-client (the official OpAMP
#   protobufs and a Python OpAMP client, for the fleet tests), opentelemetry-proto (the official
#   OTLP protobufs, for the telemetry test) into target/mllp-clients-venv,
#   @medplum/hl7 4.x and fhir-kit-client into tests/e2e/clients/node_modules.
# Idempotent and quick when already installed. A missing python3/node only prints a notice: the
# tests then print "skipped: ..." instead of failing.
set -euo pipefail
root="$(cd "$(dirname "$0")/../../.." && pwd)"
venv="$root/target/mllp-clients-venv"
if command -v python3 >/dev/null; then
  if ! "$venv/bin/python" -c 'import hl7, hl7apy, prometheus_client, fhirpy, opentelemetry._opamp.client, opentelemetry.proto.collector.metrics.v1.metrics_service_pb2' 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check hl7==0.4.5 hl7apy==1.3.5 prometheus-client==0.21.1 fhirpy==2.3.1 opentelemetry-opamp-client==0.5b0 opentelemetry-proto==1.45.2
  fi
  echo "test clients: python-hl7, hl7apy, prometheus-client (the /metrics parser), fhirpy, opentelemetry-opamp-client and opentelemetry-proto ready in $venv"
else
  echo "mllp clients: python3 not found; the python-hl7/hl7apy/fhirpy tests will be skipped"
fi
if command -v npm >/dev/null; then
  cd "$root/tests/e2e/clients"
  if [ ! -f node_modules/@medplum/hl7/package.json ] || [ ! -f node_modules/fhir-kit-client/package.json ]; then
    npm install --no-audit --no-fund --loglevel=error
  fi
  echo "test clients: @medplum/hl7 and fhir-kit-client ready"
else
  echo "mllp clients: npm not found; the @medplum/hl7 and fhir-kit-client tests will be skipped"
fi

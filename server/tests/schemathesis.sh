#!/usr/bin/env bash
# Holds a running opsdesk server to its own OpenAPI document with Schemathesis:
# property-based requests (valid and invalid) against every documented
# operation, each response checked against the document.
#
#   BASE_URL=http://127.0.0.1:3000 TOKEN=<api token> server/tests/schemathesis.sh [extra `st run` options]
#
# TOKEN should be an admin's (`opsdesk admin create-token --role admin …`) so
# that admin-only routes are exercised rather than answered 403. The run
# writes to the server's database (tickets, people, tokens): point it at a
# throwaway data directory. Exits non-zero when any check fails.
#
# Schemathesis is installed on first use into target/schemathesis-venv at the
# pinned version below, and reused while the pins match.
set -euo pipefail

: "${BASE_URL:?set BASE_URL to the server, e.g. http://127.0.0.1:3000}"
: "${TOKEN:?set TOKEN to an API token (opsdesk admin create-token ...)}"
BASE_URL=${BASE_URL%/}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VENV="$ROOT/target/schemathesis-venv"
REPORT_DIR="$ROOT/target/schemathesis-report"

# Pinned so that a run is reproducible: the checks and the generated data
# change between releases, and the seed only replays the same cases with the
# same Hypothesis. Upgrade both together, deliberately.
SCHEMATHESIS_VERSION=4.32.5
HYPOTHESIS_VERSION=6.170.15
PINS="schemathesis==$SCHEMATHESIS_VERSION hypothesis==$HYPOTHESIS_VERSION"

# Idempotent install: the stamp is written only after a complete install, so
# an interrupted one is redone, and a change of pins rebuilds the venv.
STAMP="$VENV/.opsdesk-pins"
if [[ ! -x "$VENV/bin/st" || "$(cat "$STAMP" 2>/dev/null)" != "$PINS" ]]; then
    echo "schemathesis.sh: installing $PINS into $VENV" >&2
    rm -rf "$VENV"
    mkdir -p "$(dirname "$VENV")"
    if ! python3 -m venv "$VENV"; then
        echo "schemathesis.sh: python3 -m venv failed (on Debian: apt-get install python3-venv)" >&2
        exit 1
    fi
    # shellcheck disable=SC2086 # PINS is a list of requirement specifiers.
    "$VENV/bin/pip" install --quiet --disable-pip-version-check $PINS
    echo "$PINS" >"$STAMP"
fi

# Every check that a schema can decide for this API:
#   not_a_server_error            no 5xx, whatever was sent
#   status_code_conformance       every status is documented for its operation
#   content_type_conformance      every response has a documented Content-Type
#   response_headers_conformance  documented headers (Content-Disposition on downloads) are there and valid
#   response_schema_conformance   every body matches its schema (all fields, no others, nulls where nullable)
#   negative_data_rejection       schema-invalid requests are refused with a 4xx
#   unsupported_method            undocumented methods answer 405 with `Allow`
#   allow_header_conformance      `Allow` names exactly the documented methods
#   ignored_auth                  operations that need a token refuse none or a bad one (401)
#   use_after_free                a deleted ticket answers 404 afterwards (stateful phase)
#   ensure_resource_availability  a created ticket or attachment can be fetched (stateful phase)
# Left out on purpose:
#   positive_data_acceptance      schema-valid is not always acceptable here: unknown `cluster_id`
#                                 or `review_id` (422), blank subjects (trimmed, 422), file
#                                 contents of refused types (415) depend on data, not shape
#   missing_required_header       the API declares no header parameters (the token is a security scheme)
#   object_level_authorization    needs a second identity; this run has one token
#   max_response_time             timing on a shared CI machine would make the run flaky
CHECKS=not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance
CHECKS+=,response_schema_conformance,negative_data_rejection,unsupported_method,allow_header_conformance
CHECKS+=,ignored_auth,use_after_free,ensure_resource_availability

# Bounded so the whole run stays around two minutes on a laptop; raise it for
# a deeper run. The seed makes a failure replayable: same seed, same cases.
MAX_EXAMPLES=${SCHEMATHESIS_MAX_EXAMPLES:-50}
SEED=${SCHEMATHESIS_SEED:-20251122}
# A hard stop (seconds) so that a hung server cannot hang CI.
TIME_LIMIT=${SCHEMATHESIS_TIME_LIMIT:-300}

args=(
    run "$BASE_URL/api/v1/openapi.json"
    # The document's server is "/", so requests go to BASE_URL's origin.
    --header "Authorization: Bearer $TOKEN"
    --checks "$CHECKS"
    # Revoking tokens could revoke the run's own token and turn the rest into 401s.
    --exclude-operation-id revokeToken
    # The built-in agent runs approved commands on this machine: never fuzz it
    # (tests/agents.rs covers it). The live websocket needs an upgrade a fuzzer cannot make.
    --exclude-operation-id sendMessage
    --exclude-operation-id watchTicket
    # Opening a terminal starts a real shell on this machine, and its
    # websocket needs an upgrade (tests/terminal.rs covers both).
    --exclude-operation-id openTerminal
    --exclude-operation-id watchTerminal
    # A generated model URL would send every later review to a host that may
    # not answer (tests/llm.rs covers the settings and their checks).
    --exclude-operation-id setModelSettings
    # The long poll holds each request up to `wait` seconds by design, which
    # would spend the run's time budget waiting (tests/agents.rs covers it).
    --exclude-operation-id getTicketEvents
    # All four phases: schema examples, boundary coverage, random fuzzing, and
    # stateful sequences through the document's links (create → get/update/delete…).
    --phases examples,coverage,fuzzing,stateful
    --max-examples "$MAX_EXAMPLES"
    --seed "$SEED"
    # No example database: otherwise cases remembered in ./.hypothesis from
    # earlier runs are replayed first, and the same seed gives different runs.
    --generation-database none
    # One worker: requests share one database, so their order must not vary.
    --workers 1
    # Report every failing operation in one run, not only the first failure of each.
    --continue-on-failure
    # Generous for debug builds (password hashing, uploads); a stuck request still fails.
    --request-timeout 20
    # The script may be started right after the server: wait for the document.
    --wait-for-schema 30
    # A JUnit report for CI, next to the venv.
    --report junit
    --report-dir "$REPORT_DIR"
)

status=0
timeout --foreground "$TIME_LIMIT" "$VENV/bin/st" "${args[@]}" "$@" || status=$?
if [[ $status -eq 124 ]]; then
    echo "schemathesis.sh: stopped after ${TIME_LIMIT}s (SCHEMATHESIS_TIME_LIMIT)" >&2
fi
exit "$status"

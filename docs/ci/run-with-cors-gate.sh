#!/usr/bin/env bash
# Run a test command whose browser goes through mitmdump with the mitmproxy-cors addon. The job fails
# when the browser blocked a cross-origin request (cors_fail_on), even if every test passed, and the
# JUnit file says which request, why, and the fix. See docs/ci.md.
#
#   CORS_ADDON=path/to/cors_addon.py docs/ci/run-with-cors-gate.sh pytest tests/e2e
#
# The command gets CORS_PROXY (http://127.0.0.1:PORT) to launch its browser with.
# Environment: CORS_ADDON (required), MITMDUMP (mitmdump), CORS_PORT (8080),
# CORS_FAIL_ON (blocked; conditional also fails flows blocked only if the page sends credentials),
# CORS_JUNIT (cors-junit.xml), CORS_HTML (cors-report.html: the page for people; empty: none).
set -uo pipefail

port="${CORS_PORT:-8080}"
"${MITMDUMP:-mitmdump}" --listen-host 127.0.0.1 -p "$port" --set flow_detail=0 \
    -s "${CORS_ADDON:?set CORS_ADDON to the path of cors_addon.py}" \
    --set cors_fail_on="${CORS_FAIL_ON:-blocked}" --set cors_junit="${CORS_JUNIT:-cors-junit.xml}" \
    --set cors_html="${CORS_HTML-cors-report.html}" &
proxy=$!

for _ in $(seq 300); do  # up to 30 s for the proxy to listen
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
    if ! kill -0 "$proxy" 2>/dev/null; then wait "$proxy"; exit $?; fi  # it refused to start: say so
    sleep 0.1
done

CORS_PROXY="http://127.0.0.1:$port" "$@"
tests=$?

kill -INT "$proxy"
wait "$proxy"
gate=$?  # 1 when the browser blocked a request (the reason is printed above, the JUnit file has the fix)

if [ "$tests" -ne 0 ]; then exit "$tests"; fi
exit "$gate"

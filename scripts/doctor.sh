#!/usr/bin/env bash
# npm run doctor [-- --require-services]
# Checks what `npm test` needs, one line per check, each failure with its remedy.
# Exit 1 if a required check fails. Services not running are a warning unless --require-services.
set -uo pipefail

require_services=0
for arg in "$@"; do
  case "$arg" in
    --require-services) require_services=1 ;;
    -h|--help) sed -n '2,4p' "$0" | sed 's/^# //'; exit 0 ;;
    *) echo "unknown option $arg (expected --require-services)" >&2; exit 2 ;;
  esac
done

cd "$(dirname "$0")/.." || exit 1
failed=0
ok()   { printf 'ok    %s\n' "$1"; }
warn() { printf 'warn  %s\n      -> %s\n' "$1" "$2"; }
fail() { printf 'FAIL  %s\n      -> %s\n' "$1" "$2"; failed=1; }
# version_ge 1.24.3 1.24 -> true when $1 >= $2 (numeric, dot separated)
version_ge() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]; }

# Toolchain. Java, Maven and Go are needed only to fetch/build Kafka and MinIO into the cache;
# with KAFKA_BROKERS / S3_* set they are optional.
node_v=$(node -p 'process.versions.node' 2>/dev/null || true)
if [ -z "$node_v" ]; then fail "node: not found" "install Node.js 20.19+ (https://nodejs.org or your package manager)"
elif version_ge "$node_v" 20.19; then ok "node $node_v"
else fail "node $node_v is older than 20.19" "install Node.js 20.19+"; fi

need_jvm=1; [ -n "${KAFKA_BROKERS:-}" ] && need_jvm=0
need_go=1; [ -n "${S3_ENDPOINT:-}" ] && need_go=0
tool_problem() { if [ "$2" = 1 ]; then fail "$1" "$3"; else warn "$1 (not needed: endpoint given in the environment)" "$3"; fi; }

java_v=$(java -version 2>&1 | sed -n 's/.*version "\([0-9][0-9.]*\).*/\1/p' | head -n1)
if [ -z "$java_v" ]; then tool_problem "java: not found (Kafka runs on it)" "$need_jvm" "install Java 17+ (Debian: apt-get install openjdk-17-jre-headless), or set KAFKA_BROKERS"
elif version_ge "$java_v" 17; then ok "java $java_v"
else tool_problem "java $java_v is older than 17" "$need_jvm" "install Java 17+, or set KAFKA_BROKERS"; fi

mvn_v=$(mvn -v 2>/dev/null | sed -n 's/.*Apache Maven \([0-9.]*\).*/\1/p' | head -n1)
if [ -n "$mvn_v" ]; then ok "maven $mvn_v"
else tool_problem "mvn: not found (fetches the Kafka jars)" "$need_jvm" "install Maven 3.8+ (Debian: apt-get install maven), or set KAFKA_BROKERS"; fi

go_v=$(go env GOVERSION 2>/dev/null | sed 's/^go//')
if [ -z "$go_v" ]; then tool_problem "go: not found (builds MinIO)" "$need_go" "install Go 1.24+ (https://go.dev/dl), or set S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY"
elif version_ge "$go_v" 1.24; then ok "go $go_v"
else tool_problem "go $go_v is older than 1.24" "$need_go" "install Go 1.24+, or set S3_* to an existing S3 server"; fi

# Test tools: schemathesis (API contract test) and chromium (API reference page test).
if [ -x "${ANNAL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/annal}/tools/schemathesis-4.32.5/bin/st" ]; then ok "schemathesis 4.32.5"
else fail "schemathesis: not installed (test/e2e/api-contract.test.ts runs it)" "npm run test-tools"; fi
chromium_bin="${ANNAL_CHROMIUM:-$(command -v chromium || true)}"
if [ -n "$chromium_bin" ] && [ -x "$chromium_bin" ]; then ok "chromium: $chromium_bin"
else fail "chromium: not found (test/e2e/api-reference.test.ts renders /docs in it)" "npm run test-tools (as root: apt-get install chromium), or set ANNAL_CHROMIUM"; fi

# Cache: the MinIO build, Kafka jars and service data need about 1.5 GiB on first run.
cache="${ANNAL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/annal}"
probe_dir="$cache"; while [ ! -d "$probe_dir" ]; do probe_dir=$(dirname "$probe_dir"); done
free_mb=$(df -Pm "$probe_dir" | awk 'NR==2 {print $4}')
if [ "${free_mb:-0}" -ge 2048 ]; then ok "disk: ${free_mb} MiB free for $cache"
elif [ "${free_mb:-0}" -ge 1024 ]; then warn "disk: only ${free_mb} MiB free for $cache" "free space, or set ANNAL_CACHE to a larger disk"
else fail "disk: only ${free_mb} MiB free for $cache" "free at least 2 GiB, or set ANNAL_CACHE to a larger disk"; fi
if [ -w "$probe_dir" ]; then ok "cache: $cache"; else fail "cache: $probe_dir is not writable" "set ANNAL_CACHE to a writable directory"; fi

# Configuration.
if [ -n "${ANNAL_TEST_SERVICES:-}" ]; then
  bad=$(printf '%s' "$ANNAL_TEST_SERVICES" | tr ',' '\n' | sed 's/ //g' | grep -Evx 'postgres|kafka|minio|vault|all|' | tr '\n' ' ')
  if [ -n "$bad" ]; then fail "ANNAL_TEST_SERVICES names unknown service(s): $bad" "use a comma list of postgres, kafka, minio, vault"
  else warn "ANNAL_TEST_SERVICES=$ANNAL_TEST_SERVICES: the suite starts only these; tests needing others fail" "unset it for a full run"; fi
fi
s3_set=0; for v in S3_ENDPOINT S3_ACCESS_KEY S3_SECRET_KEY; do [ -n "${!v:-}" ] && s3_set=$((s3_set + 1)); done
if [ "$s3_set" != 0 ] && [ "$s3_set" != 3 ]; then fail "S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY: only $s3_set of 3 set" "set all three, or none to let the suite start MinIO"; fi

# Services: endpoints from the environment first, else from this checkout's running instance.
given_db="${DATABASE_URL:-}" given_kafka="${KAFKA_BROKERS:-}" given_s3="${S3_ENDPOINT:-}" given_vault="${VAULT_ADDR:-}"
instance_env=$(npm run -s services -- env 2>/dev/null || true)
eval "$instance_env"
db="${given_db:-${DATABASE_URL:-}}" kafka="${given_kafka:-${KAFKA_BROKERS:-}}" s3="${given_s3:-${S3_ENDPOINT:-}}" vault="${given_vault:-${VAULT_ADDR:-}}"
service_problem() { if [ "$require_services" = 1 ]; then fail "$1" "$2"; else warn "$1" "$2 (the test suite starts it itself)"; fi; }
tcp_open() { timeout 3 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }

if [ -z "$db" ]; then service_problem "postgres: not running" "npm run services -- up postgres, or set DATABASE_URL"
elif node -e 'const pg=require("pg");const c=new pg.Client({connectionString:process.argv[1],connectionTimeoutMillis:3000});c.connect().then(()=>c.query("select 1")).then(()=>c.end(),e=>{console.error(e.message);process.exit(1)})' "$db" >/dev/null 2>&1
then ok "postgres: $(printf '%s' "$db" | sed -E 's#//([^:/@]*):[^@]*@#//\1:***@#') answers"
else service_problem "postgres: $(printf '%s' "$db" | sed -E 's#//([^:/@]*):[^@]*@#//\1:***@#') does not answer" "npm run services -- up postgres (log: npm run services -- status)"; fi

if [ -z "$kafka" ]; then service_problem "kafka: not running" "npm run services -- up kafka, or set KAFKA_BROKERS"
else
  first="${kafka%%,*}"
  if tcp_open "${first%:*}" "${first##*:}"; then ok "kafka: $kafka accepts connections"
  else service_problem "kafka: $kafka refuses connections" "npm run services -- up kafka"; fi
fi

if [ -z "$s3" ]; then service_problem "minio: not running" "npm run services -- up minio, or set S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY"
elif [ "$(curl -s -o /dev/null -m 3 -w '%{http_code}' "$s3/minio/health/ready")" = 200 ]; then ok "minio: $s3 healthy (/minio/health/ready)"
elif [ -n "$given_s3" ] && curl -s -o /dev/null -m 3 "$s3"; then ok "s3: $s3 answers HTTP (not MinIO: no health endpoint checked)"
else service_problem "minio: $s3 not healthy" "npm run services -- up minio"; fi

if [ -z "$vault" ]; then service_problem "vault: not running" "npm run services -- up vault (builds Vault from the Go module proxy), or set VAULT_ADDR and VAULT_TOKEN"
elif [ "$(curl -s -o /dev/null -m 3 -w '%{http_code}' "$vault/v1/sys/health")" = 200 ]; then ok "vault: $vault unsealed and active (/v1/sys/health)"
else service_problem "vault: $vault not healthy" "npm run services -- up vault"; fi

exit "$failed"

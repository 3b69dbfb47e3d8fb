#!/usr/bin/env bash
# Runs a command with throwaway PostgreSQL and MariaDB servers of its own:
# each is created in a fresh temporary folder, listens only on a private
# Unix socket (no TCP port is opened), and is stopped and removed when the
# command ends, however it ends.
#
#   tests/support/with-databases.sh ctest --test-dir build
#
# The command sees, as libpq / SOCI connection parameters:
#   RFTGATE_TEST_PG     host=<socket dir> port=<n> user=rftgate dbname=postgres
#   RFTGATE_TEST_MYSQL  unix_socket=<socket> user=root db=mysql
#   RFTGATE_REQUIRE_SERVERS=1  (tests that need a server fail, not skip)
# The servers run as an unprivileged user: the caller itself, or, when the
# caller is root, the system user `rftgate-test` (created when missing).
set -euo pipefail

if (($# == 0)); then
  echo "usage: $0 command [args...]" >&2
  exit 2
fi

pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
mariadbd=$(command -v mariadbd || command -v mysqld || ls /usr/sbin/mariadbd 2>/dev/null || true)
install_db=$(command -v mariadb-install-db || command -v mysql_install_db || true)
if [[ -z $pg_bin || -z $mariadbd || -z $install_db ]]; then
  echo "with-databases: PostgreSQL or MariaDB server binaries not found" \
       "(scripts/deps --test installs them)" >&2
  exit 1
fi

as_user=()
owner=$(id -un)
if [[ $(id -u) == 0 ]]; then
  owner=rftgate-test
  if ! id -u "$owner" >/dev/null 2>&1; then
    useradd --system --no-create-home --shell /usr/sbin/nologin "$owner"
  fi
  as_user=(runuser -u "$owner" --)
fi

root=$(mktemp -d /tmp/rftgate-db.XXXXXX)
chmod 755 "$root"
mkdir -p "$root/pg" "$root/pgsock" "$root/my" "$root/mysock"
chown -R "$owner" "$root"

pg_started=0
my_pid=""
cleanup() {
  local rc=$?
  if ((pg_started)); then
    "${as_user[@]}" "$pg_bin/pg_ctl" -D "$root/pg" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  if [[ -n $my_pid ]]; then
    # Stop the server itself (runuser, its parent, then exits quietly).
    if [[ -s $root/my/mysqld.pid ]]; then
      kill "$(cat "$root/my/mysqld.pid")" 2>/dev/null || true
    else
      kill "$my_pid" 2>/dev/null || true
    fi
    for _ in $(seq 100); do kill -0 "$my_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$my_pid" 2>/dev/null || true
  fi
  rm -rf "$root"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A port number only names the socket file (.s.PGSQL.<port>); with
# listen_addresses empty nothing listens on TCP.
pg_port=$((20000 + RANDOM % 20000))

# PostgreSQL: UTF-8 cluster, trust on the private socket only.
"${as_user[@]}" "$pg_bin/initdb" -D "$root/pg" -U rftgate -A trust -E UTF8 \
  --locale=C.UTF-8 >"$root/initdb.log" 2>&1 ||
  { cat "$root/initdb.log" >&2; exit 1; }
cat >>"$root/pg/postgresql.conf" <<EOF
listen_addresses = ''
unix_socket_directories = '$root/pgsock'
port = $pg_port
shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.track = all
max_connections = 100
EOF
"${as_user[@]}" "$pg_bin/pg_ctl" -D "$root/pg" -l "$root/pg.log" -w -t 60 start >/dev/null ||
  { cat "$root/pg.log" >&2; exit 1; }
pg_started=1

# MariaDB: a fresh data directory, root without a password on the socket.
"${as_user[@]}" "$install_db" --no-defaults --datadir="$root/my" \
  --auth-root-authentication-method=normal --skip-test-db \
  >"$root/install_db.log" 2>&1 || { cat "$root/install_db.log" >&2; exit 1; }
"${as_user[@]}" "$mariadbd" --no-defaults --datadir="$root/my" \
  --socket="$root/mysock/mysqld.sock" --skip-networking \
  --pid-file="$root/my/mysqld.pid" --log-error="$root/mariadb.log" \
  --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci \
  --innodb-buffer-pool-size=128M --general-log=0 >>"$root/mariadb.log" 2>&1 &
my_pid=$!
for _ in $(seq 300); do
  [[ -S $root/mysock/mysqld.sock ]] && break
  if ! kill -0 "$my_pid" 2>/dev/null; then
    cat "$root/mariadb.log" >&2; exit 1
  fi
  sleep 0.1
done
if [[ ! -S $root/mysock/mysqld.sock ]]; then
  echo "with-databases: MariaDB did not start" >&2
  cat "$root/mariadb.log" >&2
  exit 1
fi

export RFTGATE_TEST_PG="host=$root/pgsock port=$pg_port user=rftgate dbname=postgres"
export RFTGATE_TEST_MYSQL="unix_socket=$root/mysock/mysqld.sock user=root db=mysql"
export RFTGATE_REQUIRE_SERVERS=1
echo "with-databases: PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') on $root/pgsock," \
     "MariaDB on $root/mysock"
set +e
"$@"
rc=$?
set -e
exit $rc

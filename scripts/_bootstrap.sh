# Shared set-up for scripts/demo and scripts/test: a project virtual environment with the
# package and the extras asked for, re-installed only when pyproject.toml changes.
# Sourced, not run. Honours $VENV (default: .venv in the repository).

VENV="${VENV:-$PWD/.venv}"
PY="${PYTHON:-python3}"

ensure_venv() {
    local extras="$1"
    local stamp="$VENV/.energy-autoscaler-installed"
    local want
    want="$(sha256sum pyproject.toml | cut -c1-16)-$extras"
    if [ ! -x "$VENV/bin/python" ]; then
        echo "==> creating virtual environment in $VENV"
        "$PY" -m venv "$VENV"
    fi
    if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
        echo "==> installing energy-autoscaler[$extras] into $VENV (first run takes a minute)"
        # pip and the build backend write pages of deprecation notices to stderr even with
        # --quiet: they go to a log, shown only when the install fails.
        local log="$VENV/install.log"
        if ! { "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip &&
               "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e ".[$extras]"; } \
               >"$log" 2>&1; then
            echo "error: installing energy-autoscaler[$extras] failed; the installer said:" >&2
            tail -n 40 "$log" >&2
            echo "(full log: $log)" >&2
            return 1
        fi
        echo "$want" > "$stamp"
    fi
    export PATH="$VENV/bin:$PATH"
}

# ensure_debian BINARY PACKAGE: install a Debian package when its binary is missing.
ensure_debian() {
    local binary="$1" package="$2"
    command -v "$binary" >/dev/null 2>&1 && return 0
    [ -x "/usr/sbin/$binary" ] && return 0
    local sudo=""
    if [ "$(id -u)" != 0 ]; then
        if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
            echo "warning: $binary is missing and I cannot install $package without root;" \
                 "tests that need it will fail" >&2
            return 0
        fi
    fi
    echo "==> installing Debian package $package (for $binary)"
    if [ -z "${_APT_UPDATED:-}" ]; then $sudo apt-get update -qq; _APT_UPDATED=1; fi
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$package" >/dev/null
}

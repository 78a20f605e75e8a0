#!/usr/bin/env bash
# Run the test suite on another Debian release's QGIS from a Debian 12 host: trixie (Debian 13, QGIS 3.40, Python
# 3.13, numpy 2, GDAL 3.10) by default, forky (Debian testing, QGIS 3.44) with QGIS_SUITE=forky.
#
# Builds (once) a minimal root of that release with debootstrap under build/<suite>, installs QGIS there from Debian's
# packages and the plugin's and tests' pip requirements (onnxruntime, ukis-csmask) from wheels downloaded on the
# host (pip inside the root may not reach PyPI), copies the project in (.git and models/ included) and runs pytest
# inside it with chroot; /proc, /sys and /dev/shm are mounted for the run only (--unmount clears leftovers).
# Needs root (re-runs itself with sudo). Idempotent: a complete root is reused; `--rebuild` starts afresh.
#
#   QGIS_SUITE=trixie|forky tools/debian_qgis_root.sh [--rebuild] [--setup-only] [--unmount] [pytest args...]
#   (default pytest args: tests)
#
# Environment: QGIS_SUITE (default trixie), QGIS_ROOT (default build/<suite>), QGIS_MIRROR (default: the Debian URI
# of this host's apt sources).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ "$(id -u)" != 0 ]; then exec sudo -E "$0" "$@"; fi

SUITE="${QGIS_SUITE:-${QGIS340_SUITE:-trixie}}"
ROOTFS="${QGIS_ROOT:-${QGIS340_ROOT:-$REPO/build/$SUITE}}"
STATE="$ROOTFS/.cloud_removal"        # set-up stage markers
WORK="/work/project"                  # where the project copy lives inside the root
# make and git: tests that run `make package` (git archive); xvfb: the desktop test (tests/qgis/test_desktop.py).
APT_PKGS="qgis python3-qgis qgis-providers python3-gdal python3-scipy python3-numpy python3-pip python3-pytest make git xvfb"
# Python packages that come from Debian inside the root (they must match Debian's GDAL build): never from wheels.
DEBIAN_PY="numpy scipy pytest"
# Requirements not installed in the root at all (lint runs on the host only).
SKIP_REQS="ruff"

log() { printf '[%s] %s\n' "$SUITE" "$*" >&2; }
now() { date +%s; }

mirror() {
    if [ -n "${QGIS_MIRROR:-${QGIS340_MIRROR:-}}" ]; then echo "${QGIS_MIRROR:-$QGIS340_MIRROR}"; return; fi
    local uri
    uri="$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk 'tolower($1)=="uris:" {print $2}' \
           | grep -v -- '-security' | head -n1 || true)"
    if [ -z "$uri" ]; then
        uri="$(grep -hE '^deb[[:space:]]' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
               | grep -v -- '-security' | awk '{for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) {print $i; exit}}' \
               | head -n1 || true)"
    fi
    echo "${uri:-http://deb.debian.org/debian}"
}

mounted() { grep -qs " $1 " /proc/mounts; }

unmount_all() {
    local m
    for m in "$ROOTFS/sys" "$ROOTFS/proc" "$ROOTFS/dev/shm"; do
        if mounted "$m"; then umount "$m" 2>/dev/null || umount -l "$m" || true; fi
    done
}

mount_all() {
    mkdir -p "$ROOTFS/proc" "$ROOTFS/sys" "$ROOTFS/dev/shm"
    mounted "$ROOTFS/proc" || mount -t proc proc "$ROOTFS/proc"
    mounted "$ROOTFS/sys" || mount -t sysfs -o ro sysfs "$ROOTFS/sys"
    mounted "$ROOTFS/dev/shm" || mount -t tmpfs -o mode=1777,size=512m shm "$ROOTFS/dev/shm"
}

in_root() {  # run a command inside the root with a clean environment
    env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
        DEBIAN_FRONTEND=noninteractive chroot "$ROOTFS" "$@"
}

stage_done() { [ -f "$STATE/$1" ] && [ "$(cat "$STATE/$1")" = "$2" ]; }
mark() { mkdir -p "$STATE" && printf '%s' "$2" > "$STATE/$1"; }

setup_root() {
    local t0 t
    t0=$(now)
    if ! stage_done debootstrap "$SUITE"; then
        if ! command -v debootstrap >/dev/null; then
            log "installing debootstrap"
            apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap
        fi
        unmount_all
        rm -rf --one-file-system "$ROOTFS"
        mkdir -p "$(dirname "$ROOTFS")"
        log "debootstrap --variant=minbase $SUITE $ROOTFS $(mirror)"
        t=$(now)
        local script=""   # a release newer than this host's debootstrap (forky) is built with the sid script
        [ -e "/usr/share/debootstrap/scripts/$SUITE" ] || script=/usr/share/debootstrap/scripts/sid
        # shellcheck disable=SC2086
        debootstrap --variant=minbase "$SUITE" "$ROOTFS" "$(mirror)" $script >"$ROOTFS.debootstrap.log" 2>&1 \
            || { tail -n 30 "$ROOTFS.debootstrap.log" >&2; exit 1; }
        # A throw-away test root: dpkg need not fsync every file, nor unpack documentation and translations.
        printf '%s\n' force-unsafe-io 'path-exclude=/usr/share/doc/*' 'path-exclude=/usr/share/man/*' \
            'path-exclude=/usr/share/info/*' 'path-exclude=/usr/share/locale/*' 'path-exclude=/usr/share/qgis/i18n/*' \
            > "$ROOTFS/etc/dpkg/dpkg.cfg.d/cloud-removal-lean"
        mark debootstrap "$SUITE"
        log "debootstrap: $(( $(now) - t )) s"
    fi
    cp /etc/resolv.conf "$ROOTFS/etc/resolv.conf"
    # The package mirror may serve a testing release whose Release file has passed its Valid-Until date.
    echo 'Acquire::Check-Valid-Until "false";' > "$ROOTFS/etc/apt/apt.conf.d/99cloud-removal-valid-until"
    mount_all
    if ! stage_done apt "$APT_PKGS"; then
        log "apt-get install (in the root): $APT_PKGS"
        t=$(now)
        # shellcheck disable=SC2086
        in_root bash -c "dpkg --configure -a && apt-get update -q \
            && apt-get install -y -q --no-install-recommends $APT_PKGS && apt-get clean" >"$ROOTFS.apt.log" 2>&1 \
            || { tail -n 30 "$ROOTFS.apt.log" >&2; exit 1; }
        mark apt "$APT_PKGS"
        log "apt: $(( $(now) - t )) s"
    fi
    local reqs key
    # The plugin's and the tests' pip requirements, less what Debian provides or the root does not need.
    reqs="$(cat "$REPO/requirements.txt" "$REPO/tests/requirements.txt" 2>/dev/null \
            | sed 's/[[:space:]]*#.*//' | grep -vE '^[[:space:]]*$' \
            | grep -viE "^($(echo "$DEBIAN_PY $SKIP_REQS" | tr ' ' '|'))([^A-Za-z0-9_.-]|$)" || true)"
    key="$(printf '%s' "$reqs" | tr '\n' ' ')"
    if ! stage_done wheels "$key"; then
        t=$(now)
        rm -rf "$ROOTFS/tmp/wheels" && mkdir -p "$ROOTFS/tmp/wheels"
        if [ -n "$reqs" ]; then
            local pyver
            pyver="$(in_root python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
            log "pip download (host, for Python $pyver) and install (root, no index): $key"
            local pyhost=/usr/bin/python3
            if ! "$pyhost" -m pip --version >/dev/null 2>&1; then
                apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
                    python3-pip
            fi
            printf '%s\n' "$reqs" > "$ROOTFS/tmp/wheels/requirements.txt"
            "$pyhost" -m pip download --quiet --disable-pip-version-check --only-binary=:all: \
                --python-version "$pyver" --implementation cp \
                --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
                --platform manylinux2014_x86_64 --platform any \
                -d "$ROOTFS/tmp/wheels" -r "$ROOTFS/tmp/wheels/requirements.txt"
            local p
            for p in $DEBIAN_PY; do rm -f "$ROOTFS/tmp/wheels/$p"-[0-9]*.whl; done
            # Wheels of distributions Debian already installed (packaging, ...) are skipped: pip cannot
            # replace those, and Debian's builds are the ones its other packages were tested with.
            in_root python3 -c '
import glob, importlib.metadata as md, subprocess, sys
todo = []
for whl in sorted(glob.glob("/tmp/wheels/*.whl")):
    name = whl.rsplit("/", 1)[1].split("-")[0]
    try:
        dist = md.distribution(name)
    except md.PackageNotFoundError:
        dist = None
    if dist is not None and str(dist.locate_file("")).startswith("/usr/lib/python3/"):
        print("keeping the Debian package of", name, dist.version, file=sys.stderr)
    else:
        todo.append(whl)
if todo:
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--break-system-packages", "--no-index",
                    "--no-deps", "--disable-pip-version-check", "--root-user-action=ignore", *todo], check=True)
'
        fi
        rm -rf "$ROOTFS/tmp/wheels"
        mark wheels "$key"
        log "wheels: $(( $(now) - t )) s"
    fi
    if [ ! -x "$ROOTFS/usr/bin/qgis_process" ] && [ ! -x "$ROOTFS/usr/bin/qgis_process.bin" ]; then
        log "no qgis_process in $ROOTFS"; exit 1
    fi
    log "set-up: $(( $(now) - t0 )) s (0 s means the existing root was reused)"
}

copy_project() {
    # A copy (with .git, for `git archive`), not a bind mount: nothing under build/ can reach the real repository.
    # Files others change meanwhile are copied as they are (tar's status 1 "file changed as we read it").
    rm -rf "${ROOTFS:?}$WORK"
    mkdir -p "$ROOTFS$WORK"
    (tar -C "$REPO" --exclude=./build --exclude=./dist --exclude='__pycache__' --exclude=./.git/index.lock \
        --exclude=./.pytest_cache --exclude=./.ruff_cache --warning=no-file-changed -cf - . || [ $? = 1 ]) \
        | tar -C "$ROOTFS$WORK" --no-same-owner -xf -
    mkdir -p "$ROOTFS$WORK/build/plugins"
    ln -sfn "$WORK" "$ROOTFS$WORK/build/plugins/cloud_removal"
}

main() {
    local rebuild=0 setup_only=0
    while [ $# -gt 0 ]; do
        case "$1" in
            --rebuild) rebuild=1; shift ;;
            --setup-only) setup_only=1; shift ;;
            --unmount) unmount_all; exit 0 ;;
            *) break ;;
        esac
    done
    [ $# -gt 0 ] || set -- tests

    mkdir -p "$(dirname "$ROOTFS")"
    exec 9>"$ROOTFS.lock"
    flock 9                                # one user of the root at a time; mounts left over are stale
    trap unmount_all EXIT
    trap 'unmount_all; exit 130' INT
    trap 'unmount_all; exit 143' TERM
    unmount_all
    if [ "$rebuild" = 1 ]; then rm -rf --one-file-system "$ROOTFS"; fi

    setup_root
    [ "$setup_only" = 1 ] && return 0

    copy_project
    local qp=/usr/bin/qgis_process
    [ -x "$ROOTFS$qp" ] || qp=/usr/bin/qgis_process.bin
    local t status=0
    t=$(now)
    in_root env HOME=/tmp/home QT_QPA_PLATFORM=offscreen XDG_RUNTIME_DIR=/tmp/xdg-runtime \
        PYTHONWARNINGS=ignore::DeprecationWarning QGIS_PROCESS="$qp" \
        bash -c 'mkdir -p "$HOME" && mkdir -p -m 0700 "$XDG_RUNTIME_DIR" && cd '"$WORK"' \
                 && python3 .ci/versions.py && exec python3 -m pytest -c tests/pytest.ini "$@"' \
        pytest "$@" || status=$?
    log "tests: $(( $(now) - t )) s, exit status $status"
    if [ -d "$ROOTFS$WORK/build/test-output" ]; then  # screenshots etc. of this run, beside the host's
        rm -rf "$REPO/build/$SUITE-test-output"
        cp -a "$ROOTFS$WORK/build/test-output" "$REPO/build/$SUITE-test-output"
        log "test outputs copied to build/$SUITE-test-output"
    fi
    return "$status"
}

main "$@"

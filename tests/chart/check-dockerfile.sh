#!/usr/bin/env bash
# Keeps the Dockerfile honest without a Docker engine: the scripts it runs exist and are
# the ones CI runs, the packages its runtime stage installs provide every shared library
# the built binary loads (by `ldd` and `dpkg -S`, following the packages' Depends as apt
# would), and the image runs as a non-root numeric user, exposes 8080 and stops on SIGTERM.
# Usage: check-dockerfile.sh REPO_DIR VERIFYD_BINARY
set -euo pipefail
repo=$1
binary=$2
dockerfile=$repo/Dockerfile
failures=0
fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

# The Dockerfile's instructions, one a line: continuations joined, comments dropped.
instructions=$(sed -e '/^[[:space:]]*#/d' "$dockerfile" | sed -e ':a' -e '/\\$/N; s/\\\n/ /; ta')
final_stage=$(awk '/^FROM /{stage=""} {stage=stage $0 "\n"} END{printf "%s", stage}' <<<"$instructions")
build_stage=$(awk '/^FROM /{n++} n==1' <<<"$instructions")

# Scripts: every scripts/… it names exists and is executable, and the build stage runs
# the two CI builds with.
for script in $(grep -o 'scripts/[A-Za-z0-9_.-]*' <<<"$instructions" | sort -u); do
    [ -x "$repo/$script" ] || fail "$script is named in the Dockerfile but is not an executable file"
done
for script in scripts/install-deps.sh scripts/build.sh; do
    grep -q "RUN .*\./$script" <<<"$build_stage" || fail "the build stage does not run ./$script"
done
grep -q 'COPY --from=build /src/build/verifyd /usr/local/bin/verifyd' <<<"$final_stage" ||
    fail "the runtime stage does not copy build/verifyd to /usr/local/bin/verifyd"

# Runtime packages: the words after `apt-get install` in the final stage, options dropped.
runtime_packages=$(grep -o 'apt-get install[^&;]*' <<<"$final_stage" |
    sed 's/apt-get install//' | tr ' ' '\n' | grep -v '^-' | grep -v '^$' | sort -u)
[ -n "$runtime_packages" ] || fail "the runtime stage installs no packages"

# What apt installs for them: the closure of their Depends and Pre-Depends, read from the
# packages installed here (the same Debian release). Of an alternative "a | b" the first
# installed one counts.
declare -A provided=()
queue=($runtime_packages)
while [ ${#queue[@]} -gt 0 ]; do
    package=${queue[0]}
    queue=("${queue[@]:1}")
    [ -n "${provided[$package]:-}" ] && continue
    fields=$(dpkg-query -W -f='${Depends}, ${Pre-Depends}' "$package" 2>/dev/null) ||
        { fail "runtime package $package is not installed here, so its contents cannot be checked"; continue; }
    provided[$package]=1
    while IFS= read -r alternatives; do
        for candidate in $(sed 's/([^)]*)//g; s/:any//g; s/|/ /g' <<<"$alternatives"); do
            if dpkg-query -W -f='${Status}' "$candidate" 2>/dev/null | grep -q "install ok installed"; then
                queue+=("$candidate")
                break
            fi
        done
    done < <(tr ',' '\n' <<<"$fields" | sed 's/^ *//; /^$/d')
done

# Every library the binary loads must come from one of them. dpkg knows a file by the
# path its package ships, which may be the /lib or the /usr/lib side of the merged /usr.
libraries=$(ldd "$binary" | awk '$2 == "=>" && $3 ~ /^\// {print $3}')
[ -n "$libraries" ] || fail "ldd lists no libraries for $binary"
declare -A owner_of=()
while IFS= read -r line; do  # "libc6:amd64: /lib/x86_64-linux-gnu/libc.so.6"
    owner=${line%%: /*}
    owner_of[/${line#*: /}]=${owner%%[:,]*}
done < <(for library in $libraries; do
    real=$(readlink -f "$library")
    printf '%s\n' "$library" "$real" "${real#/usr}" "/usr${real#/usr}"
done | sort -u | xargs dpkg -S 2>/dev/null || true)
for library in $libraries; do
    real=$(readlink -f "$library")
    owner=""
    for path in "$library" "$real" "${real#/usr}" "/usr${real#/usr}"; do
        owner=${owner_of[$path]:-} && [ -n "$owner" ] && break
    done
    if [ -z "$owner" ]; then
        fail "no Debian package owns $library"
    elif [ -z "${provided[$owner]:-}" ]; then
        fail "$library comes from $owner, which the runtime stage does not install (nor do its packages depend on it)"
    fi
done

# How the image runs.
user=$(awk '$1 == "USER" {print $2}' <<<"$final_stage" | tail -n 1)
[[ "$user" =~ ^([0-9]+)(:[0-9]+)?$ ]] || fail "USER must be a numeric uid (got \"$user\")"
[ "${BASH_REMATCH[1]:-0}" != 0 ] || fail "USER must not be root"
grep -qx 'EXPOSE 8080' <<<"$final_stage" || fail "the runtime stage does not EXPOSE 8080"
grep -qx 'STOPSIGNAL SIGTERM' <<<"$final_stage" || fail "the runtime stage has no STOPSIGNAL SIGTERM"
grep -qx 'ENTRYPOINT \["/usr/local/bin/verifyd"\]' <<<"$final_stage" ||
    fail "ENTRYPOINT is not [\"/usr/local/bin/verifyd\"]"

# The build context leaves out build trees, local state and node_modules.
for pattern in build 'build-*' .dev '**/node_modules'; do
    grep -qxF "$pattern" "$repo/.dockerignore" || fail ".dockerignore does not exclude $pattern"
done

[ "$failures" -eq 0 ] || exit 1
echo "Dockerfile: scripts, $(wc -w <<<"$libraries") libraries from ${#provided[@]} packages, user $user: ok"

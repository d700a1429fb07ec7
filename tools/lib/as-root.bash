# as-root.bash: sourced first thing by tools/demo.sh and tools/test.sh. As root it does nothing;
# otherwise it runs the calling script again through sudo (which asks for a password as usual),
# keeping the variables the scripts read (CI, RBDTIER_*, build parallelism, proxies). Without
# sudo it stops with an error that says what to do. Uses only bash builtins until it execs sudo,
# so it works with any PATH.
if ((EUID != 0)); then
    if ! command -v sudo >/dev/null 2>&1; then
        echo "${0##*/}: needs root (it installs packages and starts a Ceph cluster): run it as root," \
            "or install sudo and give this user the right to use it" >&2
        exit 1
    fi
    as_root_keep=()
    for as_root_var in CI CMAKE_BUILD_PARALLEL_LEVEL CTEST_PARALLEL_LEVEL http_proxy https_proxy \
        no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY $(compgen -e RBDTIER_); do
        [[ -v $as_root_var ]] && as_root_keep+=("$as_root_var")
    done
    as_root_env=()
    ((${#as_root_keep[@]})) && as_root_env=("--preserve-env=$(IFS=,; echo "${as_root_keep[*]}")")
    echo "${0##*/}: not root: running it again with sudo" >&2
    exec sudo "${as_root_env[@]}" -- "$0" "$@"
fi
